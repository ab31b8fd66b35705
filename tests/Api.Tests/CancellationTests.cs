using System.Diagnostics;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using Xunit;
using Xunit.Abstractions;

namespace Generative.CSharp.Tests;

/// <summary>
/// A cancellation surfaces within about a second at any stage of a run, the end-of-run evaluation included (it used to
/// wait for a Frechet distance: tens of seconds), and the run keeps its checkpoint.
/// </summary>
public sealed class CancellationTests(ITestOutputHelper output)
{
    private readonly GenerativeContext _ctx = new(seed: 5, device: ComputeDevice.Cpu);

    private static string RunsRoot() => Path.Combine(Path.GetTempPath(), "generative-runs-" + Guid.NewGuid().ToString("N"));

    /// <summary>
    /// The model's run model with an evaluation of 600 units of 50 ms (30 s), each a unit of the run's work, that sets
    /// <paramref name="started"/> at its first unit.
    /// </summary>
    private static RunModel WithSlowEvaluation(RunModel m, ManualResetEventSlim started) =>
        new(m.Trainer, m.Pictures, m.Passages,
            FuncConvert.FromFunc<Work, RunData, FSharpList<Tuple<string, double, string>>>((work, _) =>
            {
                for (var i = 0; i < 600; i++)
                {
                    WorkModule.step(work, "slow metric", i, 600);
                    started.Set();
                    Thread.Sleep(50);
                }
                return ListModule.OfSeq([Tuple.Create("slow metric", 1.0, "a test's stand-in for a long measurement")]);
            }),
            m.Reconstruct, m.Encode, m.Decode, m.Sample, m.Classify, m.Generate, m.Extras, m.ComparedTerms, m.Training, m.EpochTest);

    [Fact]
    public async Task FitAsync_cancelled_during_the_evaluation_throws_within_seconds_and_keeps_the_checkpoint()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16));
        using var model = _ctx.Autoencoders.Linear().WithHiddenSize(8).Build();
        using var started = new ManualResetEventSlim();
        model.Model = WithSlowEvaluation(model.Model, started);
        var root = RunsRoot();
        using var cts = new CancellationTokenSource();
        var fit = model.FitAsync(data, new TrainingOptions { Epochs = 1, BatchSize = 32, RunsRoot = root }, cancellationToken: cts.Token);
        Assert.True(started.Wait(TimeSpan.FromSeconds(60)), "the evaluation started");
        var clock = Stopwatch.StartNew();
        cts.Cancel();
        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fit);
        clock.Stop();
        output.WriteLine($"cancellation during the evaluation surfaced after {clock.Elapsed.TotalSeconds:F2} s");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5),
            $"the cancellation surfaced after {clock.Elapsed.TotalSeconds:F1} s (the evaluation alone takes 30 s)");
        Assert.Contains("generative eval", e.Message);
        var folder = Assert.Single(Directory.GetDirectories(root));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(folder, "checkpoints"), "manifest.json", SearchOption.AllDirectories));
        Assert.Contains("was skipped", File.ReadAllText(Path.Combine(folder, "report.html")));
    }
}
