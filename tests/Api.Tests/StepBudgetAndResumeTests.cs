using Xunit;

namespace Generative.CSharp.Tests;

/// <summary>A step budget (TrainingOptions.MaxSteps) and resuming a run from C# (ResumeAsync), without the CLI.</summary>
public sealed class StepBudgetAndResumeTests
{
    private readonly GenerativeContext _ctx = new(seed: 11, device: ComputeDevice.Cpu);

    private static string RunsRoot() => Path.Combine(Path.GetTempPath(), "generative-runs-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task MaxSteps_stops_training_after_that_many_steps_even_mid_epoch()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(256, 32));
        using var model = _ctx.Autoencoders.Linear().WithHiddenSize(8).Build();
        var progress = new RecordingProgress<TrainingProgress>();
        // 256 images at 32 per step: 8 steps per epoch, so 5 steps end inside epoch 1.
        var run = await model.FitAsync(data, new TrainingOptions { MaxSteps = 5, BatchSize = 32, RunsRoot = RunsRoot() }, progress);
        Assert.Equal(5, progress.Items.Count);
        Assert.All(progress.Items, p => Assert.Equal(5, p.TotalSteps));
        Assert.Empty(run.Epochs);
        Assert.True(File.Exists(run.Report), "the run still ends with its report");
        Assert.True(File.Exists(Path.Combine(run.Folder, "checkpoints", "latest")), "a checkpoint at step 5 to continue from");
        Assert.Equal("MaxSteps", Assert.Throws<ArgumentException>(() => model.Fit(data, new TrainingOptions { MaxSteps = 0 })).ParamName);
        Assert.Equal("MaxSteps", Assert.Throws<ArgumentException>(() => model.Fit(data, new TrainingOptions { Epochs = 3, MaxSteps = 5 })).ParamName);
    }

    [Fact]
    public async Task A_budgeted_run_resumed_with_a_larger_budget_ends_as_an_uninterrupted_one()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(256, 32));
        var options = new TrainingOptions { BatchSize = 32, RunsRoot = RunsRoot() };
        using var straight = _ctx.Autoencoders.Linear().WithHiddenSize(8).Build();
        var full = await straight.FitAsync(data, options with { MaxSteps = 12 });

        using var model = _ctx.Autoencoders.Linear().WithHiddenSize(8).Build();
        var first = await model.FitAsync(data, options with { MaxSteps = 5 });
        var progress = new RecordingProgress<TrainingProgress>();
        var resumed = await model.ResumeAsync(first.Folder, data, maxSteps: 12, progress: progress);

        Assert.Equal(first.Folder, resumed.Folder);
        Assert.Equal(Enumerable.Range(6, 7).Select(i => (long)i), progress.Items.Select(p => p.Step));
        Assert.Equal(full.Epochs.Select(e => e.Metrics["loss"]), resumed.Epochs.Select(e => e.Metrics["loss"]));
        using var x = data.TestImages.narrow(0, 0, 8);
        using var a = straight.Reconstruct(x);
        using var b = model.Reconstruct(x);
        Assert.True(a.Equals(b), "the same weights as 12 steps straight");
    }

    [Fact]
    public async Task Resume_refuses_a_run_of_another_model_and_bad_budgets()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16));
        using var model = _ctx.Autoencoders.Linear().WithHiddenSize(8).Build();
        var run = await model.FitAsync(data, new TrainingOptions { MaxSteps = 1, BatchSize = 32, RunsRoot = RunsRoot() });
        using var wider = _ctx.Autoencoders.Linear().WithHiddenSize(16).Build();
        var e = Assert.Throws<ArgumentException>(() => wider.Resume(run.Folder, data));
        Assert.Equal("runFolder", e.ParamName);
        Assert.Contains("encoder-widths", e.Message);
        Assert.Equal("maxSteps", Assert.Throws<ArgumentException>(() => model.Resume(run.Folder, data, epochs: 2, maxSteps: 3)).ParamName);
        Assert.Throws<FileNotFoundException>(() => model.Resume(Path.Combine(RunsRoot(), "nowhere"), data));
    }

    [Fact]
    public async Task The_context_resumes_a_run_from_its_folder_alone_as_the_command_line_does()
    {
        var text = TinyText.Abc(300);
        using var model = TinyText.TinyCharLstm(_ctx).Build(text);
        var first = await model.FitAsync(text, new TrainingOptions { MaxSteps = 2, BatchSize = 8, RunsRoot = RunsRoot() });
        var progress = new RecordingProgress<TrainingProgress>();
        var resumed = await _ctx.ResumeAsync(first.Folder, maxSteps: 4, progress: progress);
        using var lm = Assert.IsType<TextGeneratorModel>(resumed.Model);
        Assert.Equal([3L, 4L], progress.Items.Select(p => p.Step));
        Assert.Equal(first.Folder, resumed.Run.Folder);
        Assert.Equal(model.Settings, lm.Settings);
    }

    [Fact]
    public async Task The_context_sends_a_run_on_data_given_in_code_to_the_models_ResumeAsync()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16));
        using var model = _ctx.Autoencoders.Linear().WithHiddenSize(8).Build();
        var run = await model.FitAsync(data, new TrainingOptions { MaxSteps = 1, BatchSize = 32, RunsRoot = RunsRoot() });
        var e = await Assert.ThrowsAsync<ArgumentException>(() => _ctx.ResumeAsync(run.Folder, maxSteps: 2));
        Assert.Equal("runFolder", e.ParamName);
        Assert.Contains("model.ResumeAsync", e.Message);
    }
}
