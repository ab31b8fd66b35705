using Xunit;

namespace Generative.CSharp.Tests;

/// <summary>
/// Data from a folder the caller names: used when it holds the right files, otherwise rejected with the file and the
/// problem, as the command line's <c>--data</c> and <c>--from</c> do; the cache never stands in for it.
/// </summary>
public sealed class DataCatalogTests : IDisposable
{
    private readonly GenerativeContext _ctx = new(seed: 1, device: ComputeDevice.Cpu);
    private readonly string _cache = Path.Combine(Path.GetTempPath(), "generative-data-cache-" + Guid.NewGuid().ToString("N"));
    private readonly string? _oldData = Environment.GetEnvironmentVariable("GENERATIVE_DATA");
    private readonly string? _oldOffline = Environment.GetEnvironmentVariable("GENERATIVE_OFFLINE");

    // An empty cache of its own and no network, so no test can read, fill or download into the user's cache
    // (the assembly runs its tests one at a time, so the variables are this class's while it runs).
    public DataCatalogTests()
    {
        Environment.SetEnvironmentVariable("GENERATIVE_DATA", _cache);
        Environment.SetEnvironmentVariable("GENERATIVE_OFFLINE", "1");
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("GENERATIVE_DATA", _oldData);
        Environment.SetEnvironmentVariable("GENERATIVE_OFFLINE", _oldOffline);
        if (Directory.Exists(_cache)) Directory.Delete(_cache, recursive: true);
    }

    public static TheoryData<string> ImageSets => new() { "mnist", "fashion-mnist" };

    private ImageData Load(string dataset, string folder) =>
        dataset == "mnist" ? _ctx.Data.Mnist(folder: folder) : _ctx.Data.FashionMnist(folder: folder);

    private static string MissingFolder() => Path.Combine(Path.GetTempPath(), "generative-no-such-folder-" + Guid.NewGuid().ToString("N"));

    [Theory, MemberData(nameof(ImageSets))]
    public void A_missing_folder_is_DirectoryNotFoundException_naming_it(string dataset)
    {
        var missing = MissingFolder();
        var e = Assert.Throws<DirectoryNotFoundException>(() => Load(dataset, missing));
        Assert.StartsWith($"{missing}: data folder not found", e.Message);
    }

    [Theory, MemberData(nameof(ImageSets))]
    public void A_folder_without_the_files_is_FileNotFoundException_naming_one(string dataset)
    {
        var empty = Directory.CreateTempSubdirectory("generative-empty-").FullName;
        var e = Assert.Throws<FileNotFoundException>(() => Load(dataset, empty));
        Assert.Contains(Path.Combine(empty, "train-images-idx3-ubyte") + ": missing", e.Message);
        Assert.Equal(Path.Combine(empty, "train-images-idx3-ubyte"), e.FileName);
    }

    [Theory, MemberData(nameof(ImageSets))]
    public void A_folder_holding_other_files_is_InvalidDataException_naming_the_file(string dataset)
    {
        var folder = TinyData.Create(8, 8);   // the right names and format, but not the data set's sha256
        var e = Assert.Throws<InvalidDataException>(() => Load(dataset, folder));
        Assert.Contains(Path.Combine(folder, "train-images-idx3-ubyte") + ": wrong checksum", e.Message);
        Assert.Contains($"generative data fetch {dataset}", e.Message);
    }

    [Fact]
    public void FromIdxFolder_reports_a_damaged_file_as_InvalidDataException_naming_it()
    {
        var folder = TinyData.Create(8, 8);
        foreach (var name in new[] { "train-images-idx3-ubyte", "t10k-labels-idx1-ubyte" })
        {
            var path = Path.Combine(folder, name);
            var bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(path, bytes[..^1]);
            var e = Assert.Throws<InvalidDataException>(() => _ctx.Data.FromIdxFolder(folder));
            Assert.StartsWith($"{path}: truncated", e.Message);
            File.WriteAllBytes(path, bytes);
        }
    }

    [Fact]
    public void FromIdxFolder_reports_a_missing_folder_and_a_missing_file()
    {
        var missing = MissingFolder();
        Assert.Contains(missing, Assert.Throws<DirectoryNotFoundException>(() => _ctx.Data.FromIdxFolder(missing)).Message);
        var folder = TinyData.Create(8, 8);
        File.Delete(Path.Combine(folder, "t10k-images-idx3-ubyte"));
        var e = Assert.Throws<FileNotFoundException>(() => _ctx.Data.FromIdxFolder(folder));
        Assert.Equal(Path.Combine(folder, "t10k-images-idx3-ubyte"), e.FileName);
    }

    [Fact]
    public async Task FetchAsync_from_a_folder_that_fails_is_an_error_naming_it_and_installs_nothing()
    {
        var missing = MissingFolder();
        var e = await Assert.ThrowsAsync<DirectoryNotFoundException>(() => _ctx.Data.FetchAsync("mnist", missing));
        Assert.StartsWith($"{missing}: data folder not found", e.Message);

        var from = TinyData.Create(8, 8);
        var log = new RecordingProgress<string>();
        var wrong = await Assert.ThrowsAsync<InvalidDataException>(() => _ctx.Data.FetchAsync("fashion-mnist", from, log));
        Assert.Contains(Path.Combine(from, "train-images-idx3-ubyte") + ": wrong checksum", wrong.Message);
        Assert.Contains(log.Items, line => line.Contains(from));
        Assert.False(File.Exists(Path.Combine(_cache, "fashion-mnist", "train-images-idx3-ubyte")), "nothing unverified is installed");
    }
}
