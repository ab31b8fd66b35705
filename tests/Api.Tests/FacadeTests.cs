using TorchSharp;
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Generative.CSharp.Tests;

public sealed class BuilderValidationTests
{
    private readonly GenerativeContext _ctx = new(seed: 1, device: ComputeDevice.Cpu);

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Linear_autoencoder_rejects_a_non_positive_hidden_size(int size)
    {
        var e = Assert.Throws<ArgumentException>(() => _ctx.Autoencoders.Linear().WithHiddenSize(size).Build());
        Assert.Equal("encoder-widths", e.ParamName);
        Assert.Contains(size.ToString(), e.Message);
    }

    [Fact]
    public void Builders_are_immutable()
    {
        var a = _ctx.Autoencoders.Linear();
        var b = a.WithHiddenSize(16);
        Assert.Equal(128, a.HiddenSize);
        Assert.Equal(16, b.HiddenSize);
    }

    [Theory]
    [InlineData(0.0, 0.9, 0.999, 0.0, "lr")]
    [InlineData(double.NaN, 0.9, 0.999, 0.0, "lr")]
    [InlineData(1e-3, 1.0, 0.999, 0.0, "beta1")]
    [InlineData(1e-3, 0.9, -0.1, 0.0, "beta2")]
    [InlineData(1e-3, 0.9, 0.999, -1.0, "weightDecay")]
    public void Adam_rejects_bad_values_naming_the_parameter(double lr, double beta1, double beta2, double wd, string param)
    {
        var e = Assert.Throws<ArgumentException>(() => Optimizer.Adam(lr, beta1, beta2, wd));
        Assert.Equal(param, e.ParamName);
    }

    [Theory]
    [InlineData(0.0, 0.99, 0.0, 0.0, "lr")]
    [InlineData(double.PositiveInfinity, 0.99, 0.0, 0.0, "lr")]
    [InlineData(1e-2, 1.0, 0.0, 0.0, "alpha")]
    [InlineData(1e-2, -0.5, 0.0, 0.0, "alpha")]
    [InlineData(1e-2, 0.99, -0.1, 0.0, "momentum")]
    [InlineData(1e-2, 0.99, 0.0, -1.0, "weightDecay")]
    public void RmsProp_rejects_bad_values_naming_the_parameter(double lr, double alpha, double momentum, double wd, string param)
    {
        var e = Assert.Throws<ArgumentException>(() => Optimizer.RmsProp(lr, alpha, momentum, wd));
        Assert.Equal(param, e.ParamName);
    }

    [Fact]
    public void RmsProp_defaults_are_the_librarys()
    {
        Assert.Equal(Optimizer.Of(Generative.Optim.rmsProp(0.01)), Optimizer.RmsProp(0.01));
        Assert.Equal("rmsprop:lr=0.002,alpha=0.9,momentum=0.5,wd=0.0001", Optimizer.RmsProp(2e-3, 0.9, 0.5, 1e-4).ToString());
    }

    [Fact]
    public void Sgd_with_nesterov_needs_momentum()
    {
        var e = Assert.Throws<ArgumentException>(() => Optimizer.Sgd(0.01, momentum: 0, nesterov: true));
        Assert.Equal("momentum", e.ParamName);
    }

    [Fact]
    public async Task FitAsync_rejects_bad_options_naming_the_field()
    {
        using var model = _ctx.Autoencoders.Linear().WithHiddenSize(8).Build();
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(32, 8));
        var e = await Assert.ThrowsAsync<ArgumentException>(() => model.FitAsync(data, new TrainingOptions { Epochs = 0 }));
        Assert.Equal("Epochs", e.ParamName);
        e = await Assert.ThrowsAsync<ArgumentException>(() => model.FitAsync(data, new TrainingOptions { BatchSize = -1 }));
        Assert.Equal("BatchSize", e.ParamName);
        e = await Assert.ThrowsAsync<ArgumentException>(() => model.FitAsync(data, new TrainingOptions { CheckpointInterval = TimeSpan.FromMinutes(-1) }));
        Assert.Equal("CheckpointInterval", e.ParamName);
        e = await Assert.ThrowsAsync<ArgumentException>(() => model.FitAsync(data, new TrainingOptions { EpochTestImages = -1 }));
        Assert.Equal("EpochTestImages", e.ParamName);
    }

    [Fact]
    public void Missing_data_says_what_to_run()
    {
        var old = Environment.GetEnvironmentVariable("GENERATIVE_DATA");
        Environment.SetEnvironmentVariable("GENERATIVE_DATA", Path.Combine(Path.GetTempPath(), "empty-" + Guid.NewGuid().ToString("N")));
        try
        {
            var e = Assert.Throws<FileNotFoundException>(() => _ctx.Data.FashionMnist());
            Assert.Contains("generative data fetch fashion-mnist", e.Message);
        }
        finally { Environment.SetEnvironmentVariable("GENERATIVE_DATA", old); }
    }
}

public sealed class TrainingTests
{
    private readonly GenerativeContext _ctx = new(seed: 7, device: ComputeDevice.Cpu);

    private static string RunsRoot() => Path.Combine(Path.GetTempPath(), "generative-runs-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task FitAsync_reports_progress_every_step_and_writes_a_report()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(256, 64));
        using var model = _ctx.Autoencoders.Linear().WithHiddenSize(16).Build();
        var progress = new RecordingProgress<TrainingProgress>();
        var run = await model.FitAsync(data, new TrainingOptions { Epochs = 2, BatchSize = 64, RunsRoot = RunsRoot() }, progress);

        Assert.Equal(8, progress.Items.Count);
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), progress.Items.Select(p => p.Step));
        Assert.All(progress.Items, p => Assert.True(p.Metrics.ContainsKey("loss")));
        Assert.Equal(2, run.Epochs.Count);
        Assert.True(File.Exists(run.Report), "report.html written");
        Assert.Contains(run.Metrics, m => m.Name == "test MSE per pixel" && m.Value > 0);
    }

    [Fact]
    public async Task FitAsync_cancels_after_the_current_step_and_keeps_a_checkpoint()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(256, 64));
        using var model = _ctx.Autoencoders.Linear().WithHiddenSize(16).Build();
        using var cts = new CancellationTokenSource();
        var progress = new RecordingProgress<TrainingProgress>(p => { if (p.Step == 3) cts.Cancel(); });
        var folder = Path.Combine(RunsRoot(), "cancelled");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            model.FitAsync(data, new TrainingOptions { Epochs = 5, BatchSize = 32, RunFolder = folder }, progress, cts.Token));
        Assert.Equal(3, progress.Items.Count);
        Assert.True(File.Exists(Path.Combine(folder, "checkpoints", "latest")), "a checkpoint to resume from");
    }

    [Fact]
    public async Task Save_then_Load_gives_identical_reconstructions()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(128, 16));
        using var model = _ctx.Autoencoders.Linear().WithHiddenSize(16).Build();
        await model.FitAsync(data, new TrainingOptions { Epochs = 1, BatchSize = 32, RunsRoot = RunsRoot() });
        var path = Path.Combine(Path.GetTempPath(), "ae-" + Guid.NewGuid().ToString("N") + ".safetensors");
        model.Save(path);
        using var loaded = AutoencoderModel.Load(_ctx, path);
        using var x = data.TestImages.narrow(0, 0, 8);
        using var a = model.Reconstruct(x);
        using var b = loaded.Reconstruct(x);
        Assert.True(a.Equals(b), "identical outputs");
        Assert.Equal(new long[] { 8, 1, 28, 28 }, a.shape);
        Assert.Equal(new long[] { 8, 16 }, loaded.Encode(x).shape);
    }

    [Fact]
    public void Same_seed_same_initial_weights()
    {
        using var a = new GenerativeContext(seed: 3, device: ComputeDevice.Cpu).Autoencoders.Linear().Build();
        using var b = new GenerativeContext(seed: 3, device: ComputeDevice.Cpu).Autoencoders.Linear().Build();
        using var x = torch.rand(4, 1, 28, 28);
        using var ra = a.Reconstruct(x);
        using var rb = b.Reconstruct(x);
        Assert.True(ra.Equals(rb));
    }
}
