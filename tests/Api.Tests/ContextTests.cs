using Xunit;

namespace Generative.CSharp.Tests;

/// <summary>What the context offers besides the catalogs: libtorch's thread count, data fetching and loading models.</summary>
public sealed class ContextTests
{
    private readonly GenerativeContext _ctx = new(seed: 2, device: ComputeDevice.Cpu);

    private static string TempFile(string stem) => Path.Combine(Path.GetTempPath(), stem + "-" + Guid.NewGuid().ToString("N") + ".safetensors");

    [Fact]
    public void Threads_sets_libtorchs_cpu_threads_and_rejects_fewer_than_one()
    {
        var before = _ctx.Threads;
        try
        {
            _ctx.Threads = 1;
            Assert.Equal(1, TorchSharp.torch.get_num_threads());
            Assert.Equal(1, new GenerativeContext(threads: 1).Threads);
            Assert.Equal("threads", Assert.Throws<ArgumentException>(() => _ctx.Threads = 0).ParamName);
            Assert.Equal("threads", Assert.Throws<ArgumentException>(() => new GenerativeContext(threads: -2)).ParamName);
        }
        finally { _ctx.Threads = before; }
    }

    [Fact]
    public async Task FetchAsync_names_the_known_data_sets_for_an_unknown_one()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => _ctx.Data.FetchAsync("mnits"));
        Assert.Equal("name", e.ParamName);
        Assert.Contains("fashion-mnist", e.Message);
    }

    [Fact]
    public async Task FetchAsync_offline_with_an_empty_cache_says_what_it_tried_and_what_to_run()
    {
        // No network: GENERATIVE_OFFLINE skips downloads and registry packages, and the cache is an empty folder.
        var cache = Path.Combine(Path.GetTempPath(), "generative-empty-cache-" + Guid.NewGuid().ToString("N"));
        var (oldData, oldOffline) = (Environment.GetEnvironmentVariable("GENERATIVE_DATA"), Environment.GetEnvironmentVariable("GENERATIVE_OFFLINE"));
        Environment.SetEnvironmentVariable("GENERATIVE_DATA", cache);
        Environment.SetEnvironmentVariable("GENERATIVE_OFFLINE", "1");
        try
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => _ctx.Data.FetchAsync("mnist"));
            Assert.Contains(cache, e.Message);
            Assert.Contains("GENERATIVE_OFFLINE", e.Message);
            Assert.Contains("generative data fetch mnist --from <folder>", e.Message);
            Assert.False(File.Exists(Path.Combine(cache, "mnist", "train-images-idx3-ubyte")), "nothing is installed");
        }
        finally
        {
            Environment.SetEnvironmentVariable("GENERATIVE_DATA", oldData);
            Environment.SetEnvironmentVariable("GENERATIVE_OFFLINE", oldOffline);
        }
    }

    [Fact]
    public void Load_gives_the_model_of_the_files_kind_and_a_wrong_kind_names_what_the_file_holds()
    {
        using var gan = _ctx.Gans.Dcgan().WithLatentSize(8).Build();
        var ganPath = TempFile("gan");
        gan.Save(ganPath);
        using var ae = _ctx.Autoencoders.Linear().WithHiddenSize(8).Build();
        var aePath = TempFile("ae");
        ae.Save(aePath);

        using (var loaded = _ctx.Load(ganPath)) Assert.IsType<GanModel>(loaded);
        using (var loaded = _ctx.Load(aePath)) Assert.IsType<AutoencoderModel>(loaded);
        using (var typed = _ctx.Load<GanModel>(ganPath))
        using (var a = gan.Sample(2, seed: 1))
        using (var b = typed.Sample(2, seed: 1))
            Assert.True(a.Equals(b), "the same weights");
        using (var viaCatalog = _ctx.Gans.Load(ganPath)) Assert.Equal("dcgan", viaCatalog.ModelId);
        using (var image = _ctx.Load<ImageModel>(aePath)) Assert.Equal(ImageNormalization.ZeroToOne, image.Normalization);

        var e = Assert.Throws<InvalidDataException>(() => _ctx.Load<GanModel>(aePath));
        Assert.Contains($"{aePath}: holds a ae-linear (an autoencoder), which is not a GAN", e.Message);
        Assert.Contains("(a GAN), which is not an autoencoder", Assert.Throws<InvalidDataException>(() => _ctx.Autoencoders.Load(ganPath)).Message);
        Assert.Contains("which is not a text generator", Assert.Throws<InvalidDataException>(() => _ctx.TextGenerators.Load(ganPath)).Message);
        Assert.Throws<FileNotFoundException>(() => _ctx.Load(TempFile("missing")));
    }

    [Fact]
    public async Task Load_reads_a_run_folders_newest_checkpoint()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16));
        using var model = _ctx.Autoencoders.Linear().WithHiddenSize(8).Build();
        var run = await model.FitAsync(data, new TrainingOptions { MaxSteps = 2, BatchSize = 32,
                                                                    RunsRoot = Path.Combine(Path.GetTempPath(), "generative-runs-" + Guid.NewGuid().ToString("N")) });
        using var loaded = _ctx.Load<AutoencoderModel>(run.Folder);
        using var x = data.TestImages.narrow(0, 0, 4);
        using var a = model.Reconstruct(x);
        using var b = loaded.Reconstruct(x);
        Assert.True(a.Equals(b), "the run's trained weights");
    }
}
