using Generative.CSharp;
using Xunit;

namespace Generative.CSharp.Tests;

/// <summary><see cref="TrainingOptions.TensorBoard"/> reaches the run: an event file in the run folder's tensorboard/.</summary>
public sealed class TensorBoardOptionTests
{
    private readonly GenerativeContext _ctx = new(seed: 7, device: ComputeDevice.Cpu);

    private static string RunFolder() => Path.Combine(Path.GetTempPath(), "generative-tb-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task TensorBoard_writes_an_event_file_into_the_run_folder_and_says_so_in_run_json()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16));
        using var model = _ctx.Autoencoders.Linear().WithHiddenSize(16).Build();
        var folder = RunFolder();
        try
        {
            var run = await model.FitAsync(data, new TrainingOptions { Epochs = 1, BatchSize = 32, RunFolder = folder, TensorBoard = true });
            var files = Directory.GetFiles(Path.Combine(run.Folder, "tensorboard"), "events.out.tfevents.*");
            Assert.Single(files);
            Assert.True(new FileInfo(files[0]).Length > 100, "events written");
            Assert.Contains("\"tensorboard\": true", File.ReadAllText(Path.Combine(run.Folder, "run.json")));
        }
        finally { if (Directory.Exists(folder)) Directory.Delete(folder, true); }
    }

    [Fact]
    public async Task Without_TensorBoard_there_is_no_log()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16));
        using var model = _ctx.Autoencoders.Linear().WithHiddenSize(16).Build();
        var folder = RunFolder();
        try
        {
            var run = await model.FitAsync(data, new TrainingOptions { Epochs = 1, BatchSize = 32, RunFolder = folder });
            Assert.False(Directory.Exists(Path.Combine(run.Folder, "tensorboard")), "no tensorboard folder");
        }
        finally { if (Directory.Exists(folder)) Directory.Delete(folder, true); }
    }
}
