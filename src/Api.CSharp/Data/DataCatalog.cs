using Microsoft.FSharp.Core;

namespace Generative.CSharp;

/// <summary>The data sets the library knows. Loading never downloads: run <c>generative data fetch</c> first.</summary>
public sealed class DataCatalog
{
    private readonly GenerativeContext _context;

    internal DataCatalog(GenerativeContext context) => _context = context;

    /// <summary>MNIST digits: 60,000 training and 10,000 test images.</summary>
    /// <param name="normalize">Pixel scaling.</param>
    /// <param name="folder">A folder holding the IDX files; null looks in the cache.</param>
    /// <exception cref="FileNotFoundException">The data is not there; the message says what to run.</exception>
    public ImageData Mnist(Normalization normalize = Normalization.ZeroToOne, string? folder = null) =>
        Load("mnist", normalize, folder);

    /// <summary>Fashion-MNIST clothing images: 60,000 training and 10,000 test images.</summary>
    /// <inheritdoc cref="Mnist"/>
    public ImageData FashionMnist(Normalization normalize = Normalization.ZeroToOne, string? folder = null) =>
        Load("fashion-mnist", normalize, folder);

    /// <summary>
    /// Any data set in MNIST's file layout (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
    /// t10k-labels-idx1-ubyte, raw or .gz), without checksum verification: for your own data.
    /// </summary>
    /// <param name="folder">The folder holding the four files.</param>
    /// <param name="normalize">Pixel scaling.</param>
    /// <param name="name">A name for reports.</param>
    /// <param name="classes">Class names by label; null means "0" to "9".</param>
    /// <exception cref="InvalidDataException">A missing, corrupt or inconsistent file; the message names it.</exception>
    public ImageData FromIdxFolder(string folder, Normalization normalize = Normalization.ZeroToOne, string name = "custom",
                                   IReadOnlyList<string>? classes = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: folder not found.");
        var classList = Microsoft.FSharp.Collections.ListModule.OfSeq(classes ?? Generative.Datasets.mnistClasses);
        var dataset = Generative.Datasets.fromFolder(name, classList, NormalizationNames.ToCore(normalize), folder);
        return new ImageData(dataset, normalize);
    }

    private static ImageData Load(string name, Normalization normalize, string? folder)
    {
        if (!Enum.IsDefined(normalize))
            throw new ArgumentException($"normalize: expected a Normalization value but got {normalize}.", nameof(normalize));
        var located = Generative.Fetch.locate(name, folder is null ? FSharpOption<string>.None : FSharpOption<string>.Some(folder));
        if (FSharpOption<string>.get_IsNone(located))
            throw new FileNotFoundException(Generative.Fetch.missingMessage(name));
        var norm = NormalizationNames.ToCore(normalize);
        var dataset = DatasetCatalog.loadImages(DatasetCatalog.find(name), located.Value, norm);
        return new ImageData(dataset, normalize);
    }
}
