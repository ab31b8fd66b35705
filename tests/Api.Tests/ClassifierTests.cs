using TorchSharp;
using Xunit;

namespace Generative.CSharp.Tests;

public sealed class ClassifierTests
{
    private readonly GenerativeContext _ctx = new(seed: 5, device: ComputeDevice.Cpu);

    private static string RunsRoot() => Path.Combine(Path.GetTempPath(), "generative-cls-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Builders_reject_bad_settings_naming_them()
    {
        var e = Assert.Throws<ArgumentException>(() => _ctx.Classifiers.Mlp(hiddenSize: 0));
        Assert.Equal("architecture", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => _ctx.Classifiers.LeNet5().WithValidation(1.5, 3).Build());
        Assert.Equal("validation", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => _ctx.Classifiers.Cnn().WithValidation(0.0, 3).Build());
        Assert.Equal("patience", e.ParamName);
    }

    [Fact]
    public void MobileNetV2_without_weights_says_how_to_export_them()
    {
        var missing = Path.Combine(Path.GetTempPath(), "none-" + Guid.NewGuid().ToString("N") + ".safetensors");
        var e = Assert.Throws<FileNotFoundException>(() => _ctx.Classifiers.MobileNetV2(missing).Build());
        Assert.Contains("torchvision.models.mobilenet_v2", e.Message);
    }

    [Fact]
    public async Task Mlp_learns_the_bars_predicts_and_round_trips()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(320, 64));
        using var model = _ctx.Classifiers.Mlp(32).WithValidation(0.2, 0).Build();
        var run = await model.FitAsync(data, new TrainingOptions { Epochs = 4, BatchSize = 32, RunsRoot = RunsRoot() });
        Assert.Contains(run.Epochs[^1].Metrics.Keys, k => k == "val accuracy");
        Assert.Contains(run.Metrics, m => m.Name == "test accuracy" && m.Value > 0.9);
        using var x = data.TestImages.narrow(0, 0, 8);
        var classes = model.Predict(x);
        Assert.Equal(8, classes.Length);
        using var p = model.PredictProbabilities(x);
        Assert.Equal(new long[] { 8, 10 }, p.shape);
        var path = Path.Combine(Path.GetTempPath(), "cls-" + Guid.NewGuid().ToString("N") + ".safetensors");
        model.Save(path);
        using var loaded = ClassifierModel.Load(_ctx, path);
        Assert.Equal(classes, loaded.Predict(x));
    }

    [Fact]
    public async Task PyramidSvm_LeNet5_and_Cnn_train_through_the_facade()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(128, 32));
        foreach (var builder in new[] { _ctx.Classifiers.PyramidSvm(), _ctx.Classifiers.LeNet5() })
        {
            using var model = builder.WithValidation(0.25, 0).Build();
            var run = await model.FitAsync(data, new TrainingOptions { Epochs = 1, BatchSize = 32, RunsRoot = RunsRoot() });
            Assert.Contains(run.Metrics, m => m.Name == "test accuracy");
        }
        var meanStd = _ctx.Data.FromIdxFolder(TinyData.Create(128, 32), ImageNormalization.MeanStd);
        using var cnn = _ctx.Classifiers.Cnn().Build();
        var r = await cnn.FitAsync(meanStd, new TrainingOptions { Epochs = 1, BatchSize = 32, RunsRoot = RunsRoot() });
        Assert.Contains(r.Metrics, m => m.Name == "test accuracy");
    }
}
