using Xunit;

namespace Generative.CSharp.Tests;

/// <summary><c>WithPrecision</c> on every image model's builder: the precision setting, its validation, and a bf16 fit.</summary>
public sealed class PrecisionTests
{
    private readonly GenerativeContext _ctx = new(seed: 1, device: ComputeDevice.Cpu);

    /// <summary>Each builder's default precision, its bf16 copy's, and the model's settings after Build.</summary>
    private static void Check<TBuilder>(TBuilder original, Func<TBuilder, Precision> precisionOf, Func<TBuilder, Precision, TBuilder> with,
                                        Func<TBuilder, TrainableModel> build)
    {
        var edited = with(original, Precision.BFloat16);
        Assert.Equal(Precision.Float32, precisionOf(original));
        Assert.Equal(Precision.BFloat16, precisionOf(edited));
        using var model = build(edited);
        Assert.Contains(("precision", "bf16"), model.Settings);
        var e = Assert.Throws<ArgumentException>(() => with(original, (Precision)7));
        Assert.Equal("precision", e.ParamName);
    }

    [Fact]
    public void Every_image_builder_sets_the_precision_setting_and_rejects_an_undefined_value()
    {
        Check(_ctx.Autoencoders.Linear(), b => b.Precision, (b, p) => b.WithPrecision(p), b => b.Build());
        Check(_ctx.Autoencoders.Deep(), b => b.Precision, (b, p) => b.WithPrecision(p), b => b.Build());
        Check(_ctx.Autoencoders.ThreeD(), b => b.Precision, (b, p) => b.WithPrecision(p), b => b.Build());
        Check(_ctx.Autoencoders.Convolutional(), b => b.Precision, (b, p) => b.WithPrecision(p), b => b.Build());
        Check(_ctx.Autoencoders.Denoising(Noise.Gaussian(0.5)), b => b.Precision, (b, p) => b.WithPrecision(p), b => b.Build());
        Check(_ctx.Autoencoders.Variational(), b => b.Precision, (b, p) => b.WithPrecision(p), b => b.Build());
        Check(_ctx.Autoencoders.Adversarial(), b => b.Precision, (b, p) => b.WithPrecision(p), b => b.Build());
        Check(_ctx.Gans.Dcgan(), b => b.Precision, (b, p) => b.WithPrecision(p), b => b.Build());
        Check(_ctx.Gans.Mlp(), b => b.Precision, (b, p) => b.WithPrecision(p), b => b.Build());
        Check(_ctx.Classifiers.Cnn(), b => b.Precision, (b, p) => b.WithPrecision(p), b => b.Build());
    }

    [Fact]
    public void The_denoising_builder_keeps_its_precision_when_the_network_changes()
    {
        var b = _ctx.Autoencoders.Denoising(Noise.Gaussian(0.5)).WithPrecision(Precision.BFloat16).WithNetwork(DenoisingNetwork.Convolutional);
        Assert.Equal(Precision.BFloat16, b.Precision);
        Assert.Equal(DenoisingNetwork.Convolutional, b.Network);
    }

    [Fact]
    public async Task A_bf16_dcgan_fits_a_tiny_epoch_with_finite_losses()
    {
        var runs = Path.Combine(Path.GetTempPath(), "generative-runs-" + Guid.NewGuid().ToString("N"));
        try
        {
            var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16), ImageNormalization.MinusOneToOne);
            using var model = _ctx.Gans.Dcgan().WithPrecision(Precision.BFloat16).Build();
            var progress = new RecordingProgress<TrainingProgress>();
            await model.FitAsync(data, new TrainingOptions { Epochs = 1, BatchSize = 32, RunsRoot = runs, EpochTestImages = 0 }, progress);
            Assert.Equal(2, progress.Items.Count);
            Assert.All(progress.Items, p => Assert.True(double.IsFinite(p.Metrics["d_loss"]) && double.IsFinite(p.Metrics["g_loss"])));
        }
        finally
        {
            if (Directory.Exists(runs)) Directory.Delete(runs, recursive: true);
        }
    }
}
