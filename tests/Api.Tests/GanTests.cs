using TorchSharp;
using Xunit;

namespace Generative.CSharp.Tests;

public sealed class GanBuilderTests
{
    private readonly GenerativeContext _ctx = new(seed: 1, device: ComputeDevice.Cpu);

    [Fact]
    public void Builders_reject_bad_settings_naming_them()
    {
        Assert.Equal("latent-size", Assert.Throws<ArgumentException>(() => _ctx.Gans.Mlp().WithLatentSize(0).Build()).ParamName);
        Assert.Equal("d-steps", Assert.Throws<ArgumentException>(() => _ctx.Gans.Dcgan().WithDiscriminatorSteps(0).Build()).ParamName);
        Assert.Equal("flip", Assert.Throws<ArgumentException>(() => _ctx.Gans.LeastSquares().WithRandomFlip(1.5).Build()).ParamName);
        Assert.Equal("variant", Assert.Throws<ArgumentException>(() => _ctx.Gans.Mlp().WithVariant((MlpGanVariant)7)).ParamName);
        Assert.Throws<ArgumentNullException>(() => _ctx.Gans.Mlp().WithLoss(null!));
    }

    [Fact]
    public void Score_losses_are_rejected_for_sigmoid_discriminators()
    {
        var e = Assert.Throws<ArgumentException>(() => _ctx.Gans.Mlp().WithLoss(AdversarialLoss.Hinge).Build());
        Assert.Equal("loss", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => _ctx.Gans.KerasDcgan().WithLoss(AdversarialLoss.WassersteinGp).Build());
        Assert.Equal("loss", e.ParamName);
        using var ok = _ctx.Gans.Mlp().WithVariant(MlpGanVariant.C).WithLoss(AdversarialLoss.Hinge).Build();
        Assert.Contains(("loss", "hinge"), ok.Settings);
    }

    [Fact]
    public void Builders_are_immutable_and_map_onto_settings()
    {
        var a = _ctx.Gans.Mlp();
        var b = a.WithVariant(MlpGanVariant.B).WithLatentSize(8).WithNoise(GanNoise.Uniform).WithLoss(AdversarialLoss.LeastSquares)
                 .WithOptimizers(Optimizer.Adam(1e-4), Optimizer.Sgd(0.01, 0.9, nesterov: true));
        Assert.Equal(MlpGanVariant.A, a.Variant);
        Assert.Equal(GanModule.mlpA.LatentSize, a.LatentSize);
        Assert.Equal(8, b.LatentSize);
        using var model = b.Build();
        Assert.Contains(("variant", "b"), model.Settings);
        Assert.Contains(("latent-size", "8"), model.Settings);
        Assert.Contains(("noise", "uniform"), model.Settings);
        Assert.Contains(("loss", "least-squares"), model.Settings);
        Assert.Equal(ImageNormalization.MinusOneToOne, model.Normalization);
    }

    [Fact]
    public void Every_variant_samples_images_in_minus_one_to_one()
    {
        GanModel[] models = [_ctx.Gans.Mlp().Build(), _ctx.Gans.Mlp().WithVariant(MlpGanVariant.B).Build(),
                             _ctx.Gans.Mlp().WithVariant(MlpGanVariant.C).Build(), _ctx.Gans.LeastSquares().Build(),
                             _ctx.Gans.Dcgan().Build(), _ctx.Gans.KerasDcgan().Build(), _ctx.Gans.DcganPlus().Build(),
                             _ctx.Gans.MlpPlus().Build()];
        Assert.Equal(6_751_233 + 3_485_441, models[5].ParameterCount);
        foreach (var model in models)
        {
            using (model)
            using (var images = model.Sample(3))
            {
                Assert.Equal(new long[] { 3, 1, 28, 28 }, images.shape);
                Assert.True(images.min().ToSingle() >= -1f && images.max().ToSingle() <= 1f, model.ModelId);
            }
        }
        Assert.Equal("gan-mlp", models[0].ModelId);
    }

    [Fact]
    public void Loss_presets_forward_to_the_library()
    {
        Assert.Equal(["minimax", "non-saturating", "least-squares", "hinge", "wasserstein-gp"],
                     new[] { AdversarialLoss.Minimax, AdversarialLoss.NonSaturating, AdversarialLoss.LeastSquares, AdversarialLoss.Hinge, AdversarialLoss.WassersteinGp }.Select(l => l.Name));
    }
}

public sealed class GanTrainingTests
{
    private readonly GenerativeContext _ctx = new(seed: 7, device: ComputeDevice.Cpu);

    private static string RunsRoot() => Path.Combine(Path.GetTempPath(), "generative-runs-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task FitAsync_trains_both_networks_and_reports_the_named_terms()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(128, 64), ImageNormalization.MinusOneToOne);
        using var model = _ctx.Gans.Mlp().Build();
        var progress = new RecordingProgress<TrainingProgress>();
        var run = await model.FitAsync(data, new TrainingOptions { Epochs = 1, BatchSize = 32, RunsRoot = RunsRoot() }, progress);
        Assert.Equal(4, progress.Items.Count);
        foreach (var term in new[] { "d_loss", "g_loss", "d_real", "d_fake" })
            Assert.All(progress.Items, p => Assert.True(p.Metrics.ContainsKey(term), term));
        Assert.True(File.Exists(run.Report));
        Assert.Contains(run.Metrics, m => m.Name == "Frechet distance");
    }

    [Fact]
    public async Task Spectral_norm_and_R1_build_and_train_a_tiny_epoch()
    {
        var dataFolder = TinyData.Create(64, 16);
        var runs = RunsRoot();
        try
        {
            var data = _ctx.Data.FromIdxFolder(dataFolder, ImageNormalization.MinusOneToOne);
            using var model = _ctx.Gans.Dcgan().WithSpectralNorm().WithR1Penalty(10).Build();
            Assert.Contains(("spectral-norm", "true"), model.Settings);
            Assert.Equal(10.0, double.Parse(model.Settings.Single(s => s.Item1 == "r1").Item2, System.Globalization.CultureInfo.InvariantCulture));
            var progress = new RecordingProgress<TrainingProgress>();
            await model.FitAsync(data, new TrainingOptions { Epochs = 1, BatchSize = 32, RunsRoot = runs, EpochTestImages = 0 }, progress);
            Assert.Equal(2, progress.Items.Count);
            Assert.All(progress.Items, p =>
            {
                Assert.True(p.Metrics.ContainsKey("d_r1"), "the R1 term is reported");
                Assert.True(p.Metrics["d_r1"] > 0 && double.IsFinite(p.Metrics["d_loss"]), p.Metrics.ToString());
            });
            using var images = model.Sample(2);
            Assert.Equal(new long[] { 2, 1, 28, 28 }, images.shape);
        }
        finally
        {
            Directory.Delete(dataFolder, true);
            if (Directory.Exists(runs)) Directory.Delete(runs, true);
        }
    }

    [Fact]
    public void WithMinibatchStddev_reaches_the_settings_and_the_discriminator()
    {
        Assert.False(_ctx.Gans.Mlp().MinibatchStddev);
        Assert.False(_ctx.Gans.Mlp().WithMinibatchStddev().WithMinibatchStddev(false).MinibatchStddev);
        using var plain = _ctx.Gans.Mlp().Build();
        using var model = _ctx.Gans.Mlp().WithMinibatchStddev().Build();
        Assert.Contains(("minibatch-stddev", "true"), model.Settings);
        Assert.Contains(("minibatch-stddev", "false"), plain.Settings);
        // The output layer takes one more input: the batch's standard deviation.
        Assert.Equal(plain.ParameterCount + 1, model.ParameterCount);
    }

    [Fact]
    public void A_negative_R1_weight_is_refused_at_Build_naming_r1()
    {
        var builder = _ctx.Gans.Mlp().WithR1Penalty(-1);
        Assert.Equal(-1.0, builder.R1Weight);
        Assert.Equal("r1", Assert.Throws<ArgumentException>(() => builder.Build()).ParamName);
        Assert.Equal("r1", Assert.Throws<ArgumentException>(() => _ctx.Gans.Dcgan().WithR1Penalty(double.PositiveInfinity).Build()).ParamName);
        Assert.False(_ctx.Gans.Dcgan().SpectralNorm);
        Assert.False(_ctx.Gans.Dcgan().WithSpectralNorm().WithSpectralNorm(false).SpectralNorm);
    }

    [Fact]
    public async Task FitAsync_rejects_data_in_the_wrong_normalisation()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(32, 8));
        using var model = _ctx.Gans.Mlp().Build();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => model.FitAsync(data));
        Assert.Equal("data", e.ParamName);
    }

    [Fact]
    public void Save_then_Load_samples_the_same_images()
    {
        using var model = _ctx.Gans.Dcgan().WithLatentSize(16).Build();
        var path = Path.Combine(Path.GetTempPath(), "gan-" + Guid.NewGuid().ToString("N") + ".safetensors");
        model.Save(path);
        using var loaded = GanModel.Load(_ctx, path);
        using var a = model.Sample(4, seed: 5);
        using var b = loaded.Sample(4, seed: 5);
        Assert.True(a.Equals(b), "identical samples from the same noise");
        using var z = torch.rand(2, 16);
        Assert.Equal(new long[] { 2, 1, 28, 28 }, loaded.Generate(z).shape);
    }

    [Fact]
    public async Task WithEma_trains_and_samples_with_the_moving_average_of_the_generator()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16), ImageNormalization.MinusOneToOne);
        var builder = _ctx.Gans.Mlp().WithEma(0.999);
        Assert.Equal(0.999, builder.EmaDecay);
        using var model = builder.Build();
        Assert.Contains(("ema", "0.999"), model.Settings);
        var root = RunsRoot();
        try
        {
            var run = await model.FitAsync(data, new TrainingOptions { Epochs = 1, BatchSize = 32, RunsRoot = root, EpochTestImages = 0 });
            Assert.Single(run.Epochs);
            var modules = model.Model.Trainer.Modules.ToDictionary(m => m.Item1, m => (torch.nn.Module<torch.Tensor, torch.Tensor>)m.Item2);
            Assert.Equal(["generator", "discriminator", "generator-ema"], model.Model.Trainer.Modules.Select(m => m.Item1));
            using var z = torch.randn(3, 64);
            using var images = model.Generate(z);
            using var _ = torch.no_grad();
            using var byAverage = modules["generator-ema"].call(z);
            using var byGenerator = modules["generator"].call(z);
            Assert.True(images.Equals(byAverage), "Generate draws with the moving average");
            Assert.False(torch.allclose(byAverage, byGenerator), "which is not the trained generator after two steps");
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, true);
        }
    }

    [Fact]
    public void WithEma_rejects_a_decay_of_1_at_Build_naming_ema()
    {
        var builder = _ctx.Gans.Mlp().WithEma(1.0);
        Assert.Equal("ema", Assert.Throws<ArgumentException>(() => builder.Build()).ParamName);
        Assert.Equal("ema", Assert.Throws<ArgumentException>(() => _ctx.Gans.Dcgan().WithEma(-0.5).Build()).ParamName);
    }

    [Fact]
    public async Task WithDiffAugment_trains_and_its_setting_reads_back()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16), ImageNormalization.MinusOneToOne);
        var builder = _ctx.Gans.Dcgan().WithDiffAugment(DiffAugmentation.Translation, DiffAugmentation.Cutout);
        Assert.Equal([DiffAugmentation.Translation, DiffAugmentation.Cutout], builder.Augmentations);
        using var model = builder.Build();
        Assert.Contains(("augment", "translation,cutout"), model.Settings);
        var root = RunsRoot();
        try
        {
            var run = await model.FitAsync(data, new TrainingOptions { Epochs = 1, BatchSize = 32, RunsRoot = root, EpochTestImages = 0 });
            Assert.Single(run.Epochs);
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, true);
        }
        Assert.Empty(_ctx.Gans.Dcgan().WithDiffAugment().Augmentations);
        Assert.Equal("augment", Assert.Throws<ArgumentException>(() => _ctx.Gans.Dcgan().WithDiffAugment((DiffAugmentation)7)).ParamName);
        Assert.Equal("augment", Assert.Throws<ArgumentException>(() => _ctx.Gans.Dcgan().WithDiffAugment(DiffAugmentation.Cutout, DiffAugmentation.Cutout).Build()).ParamName);
    }

    [Fact]
    public void Load_rejects_a_model_that_is_not_a_gan()
    {
        using var ae = _ctx.Autoencoders.Linear().WithHiddenSize(8).Build();
        var path = Path.Combine(Path.GetTempPath(), "ae-" + Guid.NewGuid().ToString("N") + ".safetensors");
        ae.Save(path);
        var e = Assert.Throws<InvalidDataException>(() => GanModel.Load(_ctx, path));
        Assert.Contains("not a GAN", e.Message);
    }
}
