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

    private static ImageData Load(string name, Normalization normalize, string? folder)
    {
        if (!Enum.IsDefined(normalize))
            throw new ArgumentException($"normalize: expected a Normalization value but got {normalize}.", nameof(normalize));
        var located = Generative.Fetch.locate(name, folder is null ? FSharpOption<string>.None : FSharpOption<string>.Some(folder));
        if (FSharpOption<string>.get_IsNone(located))
            throw new FileNotFoundException(Generative.Fetch.missingMessage(name));
        var norm = NormalizationNames.ToCore(normalize);
        var dataset = name == "mnist"
            ? Generative.Datasets.mnist(located.Value, norm)
            : Generative.Datasets.fashionMnist(located.Value, norm);
        return new ImageData(dataset, normalize);
    }
}
