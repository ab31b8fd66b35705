using Xunit;

namespace Generative.CSharp.Tests;

/// <summary>Progress exposes the model's term names and a Loss every model has; a missing term never throws.</summary>
public sealed class ProgressTermsTests
{
    private readonly GenerativeContext _ctx = new(seed: 3, device: ComputeDevice.Cpu);

    private static string RunsRoot() => Path.Combine(Path.GetTempPath(), "generative-runs-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task A_gan_reports_g_loss_as_its_Loss_and_a_missing_term_reads_NaN()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16), ImageNormalization.MinusOneToOne);
        using var gan = _ctx.Gans.Mlp().Build();
        var read = new List<(double Loss, double Missing, double G)>();
        // Reading "loss" is what a handler written for an autoencoder does; on a GAN it must not throw (on the thread
        // pool, where Progress<T> runs handlers, an exception ends the process).
        var progress = new RecordingProgress<TrainingProgress>(p => read.Add((p.Loss, p.Metrics["loss"], p.Metrics["g_loss"])));
        await gan.FitAsync(data, new TrainingOptions { MaxSteps = 2, BatchSize = 32, RunsRoot = RunsRoot() }, progress);
        Assert.Equal(2, read.Count);
        Assert.All(read, r => Assert.True(double.IsFinite(r.Loss)));
        Assert.All(read, r => Assert.True(double.IsNaN(r.Missing)));
        Assert.All(read, r => Assert.Equal(r.G, r.Loss));
        var last = progress.Items[^1];
        Assert.Equal("g_loss", last.Metrics.LossTerm);
        Assert.Equal(["d_fake", "d_loss", "d_real", "g_loss"], last.TermNames);
        Assert.False(last.Metrics.ContainsKey("loss"));
        Assert.False(last.Metrics.TryGetValue("loss", out _));
    }

    [Fact]
    public async Task Every_family_has_a_finite_Loss()
    {
        var zeroOne = _ctx.Data.FromIdxFolder(TinyData.Create(128, 16));
        var options = new TrainingOptions { MaxSteps = 1, BatchSize = 32, RunsRoot = RunsRoot() };
        TrainableModel[] models =
        [
            _ctx.Autoencoders.Linear().WithHiddenSize(8).Build(),
            _ctx.Autoencoders.Variational(latentDim: 2).WithLikelihood(VaeLikelihood.Bernoulli).Build(),
            _ctx.Autoencoders.Adversarial().WithCodeSize(2).WithHiddenWidth(8).WithDiscriminatorWidth(8).Build(),
            _ctx.Classifiers.Mlp(8).WithValidation(0.25, 0).Build(),
        ];
        string[] lossTerms = ["loss", "loss", "reconstruction", "loss"];
        for (var i = 0; i < models.Length; i++)
        {
            using var model = models[i];
            var progress = new RecordingProgress<TrainingProgress>();
            await ((ImageModel)model).FitAsync(zeroOne, options, progress);
            var p = Assert.Single(progress.Items);
            Assert.Equal(lossTerms[i], p.Metrics.LossTerm);
            Assert.True(double.IsFinite(p.Loss), $"{model.ModelId}: Loss {p.Loss}");
        }
    }

    [Fact]
    public async Task A_Progress_handler_reading_a_missing_term_does_not_end_the_process()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16), ImageNormalization.MinusOneToOne);
        using var gan = _ctx.Gans.Mlp().Build();
        var done = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = new Progress<TrainingProgress>(p => { if (p.Step == 2) done.TrySetResult(p.Metrics["loss"]); });
        await gan.FitAsync(data, new TrainingOptions { MaxSteps = 2, BatchSize = 32, RunsRoot = RunsRoot() }, progress);
        Assert.True(double.IsNaN(await done.Task.WaitAsync(TimeSpan.FromSeconds(30))));
    }
}
