using Xunit;

namespace Generative.CSharp.Tests;

/// <summary>The synchronous Fit, and one training call per model at a time.</summary>
public sealed class FitConcurrencyTests
{
    private readonly GenerativeContext _ctx = new(seed: 5, device: ComputeDevice.Cpu);

    private static string RunsRoot() => Path.Combine(Path.GetTempPath(), "generative-runs-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Fit_trains_on_the_callers_thread_and_returns_the_run()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16));
        using var model = _ctx.Autoencoders.Linear().WithHiddenSize(8).Build();
        var threads = new List<int>();
        var progress = new RecordingProgress<TrainingProgress>(_ => threads.Add(Environment.CurrentManagedThreadId));
        TrainingRun run = model.Fit(data, new TrainingOptions { Epochs = 1, BatchSize = 32, RunsRoot = RunsRoot() }, progress);
        Assert.Single(run.Epochs);
        Assert.Equal([Environment.CurrentManagedThreadId, Environment.CurrentManagedThreadId], threads);
    }

    [Fact]
    public void A_cancelled_Fit_throws_OperationCanceledException_naming_the_checkpoint()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16));
        using var model = _ctx.Autoencoders.Linear().WithHiddenSize(8).Build();
        using var cts = new CancellationTokenSource();
        var progress = new RecordingProgress<TrainingProgress>(_ => cts.Cancel());
        var e = Assert.ThrowsAny<OperationCanceledException>(() =>
            model.Fit(data, new TrainingOptions { Epochs = 3, BatchSize = 16, RunsRoot = RunsRoot() }, progress, cts.Token));
        Assert.Contains("ResumeAsync", e.Message);
    }

    [Fact]
    public async Task A_second_FitAsync_while_the_first_runs_is_refused_and_the_model_trains_again_afterwards()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16));
        using var model = _ctx.Autoencoders.Linear().WithHiddenSize(8).Build();
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        // The first call's first step waits until the second call has been tried, so the two overlap for certain.
        var progress = new RecordingProgress<TrainingProgress>(p => { if (p.Step == 1) { started.Set(); release.Wait(TimeSpan.FromSeconds(30)); } });
        var first = model.FitAsync(data, new TrainingOptions { Epochs = 1, BatchSize = 32, RunsRoot = RunsRoot() }, progress);
        Assert.True(started.Wait(TimeSpan.FromSeconds(30)), "the first call started");
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => { _ = model.FitAsync(data, new TrainingOptions { RunsRoot = RunsRoot() }); });
            Assert.Contains("already training", e.Message);
            Assert.Throws<InvalidOperationException>(() => model.Fit(data, new TrainingOptions { RunsRoot = RunsRoot() }));
        }
        finally { release.Set(); }
        await first;
        var again = await model.FitAsync(data, new TrainingOptions { MaxSteps = 1, RunsRoot = RunsRoot() });
        Assert.True(File.Exists(again.Report));
    }
}
