using System.Text.Json;
using Microsoft.FSharp.Collections;
using Xunit;

namespace Generative.CSharp.Tests;

/// <summary>
/// The builders hold the F# config records of their catalog models: defaults come from the F# presets, With* edits a
/// copy, validation and settings text are the F# spec's.
/// </summary>
public sealed class TypedConfigTests
{
    private readonly GenerativeContext _ctx = new(seed: 3, device: ComputeDevice.Cpu);

    private static string TempFile(string stem) => Path.Combine(Path.GetTempPath(), stem + "-" + Guid.NewGuid().ToString("N") + ".safetensors");

    private static List<(string, string)> SettingsOf<T>(ModelSpec<T> spec, T config) =>
        ModelSpec.configured(spec, config).Settings.Select(t => (t.Item1, t.Item2)).ToList();

    [Fact]
    public void Every_builder_starts_from_its_catalog_models_defaults()
    {
        Assert.Equal(AutoencoderEntries.linear.Defaults, _ctx.Autoencoders.Linear().Config);
        Assert.Equal(AutoencoderEntries.deep.Defaults, _ctx.Autoencoders.Deep().Config);
        Assert.Equal(AutoencoderEntries.threeD.Defaults, _ctx.Autoencoders.ThreeD().Config);
        Assert.Equal(AutoencoderEntries.convolutional.Defaults, _ctx.Autoencoders.Convolutional().Config);
        Assert.Equal(AutoencoderEntries.denoising.Defaults, _ctx.Autoencoders.Denoising(Noise.Gaussian(0.5)).Config);
        Assert.Equal(AutoencoderEntries.variational.Defaults, _ctx.Autoencoders.Variational().Config);
        Assert.Equal(ClassifierEntries.mlp.Defaults, _ctx.Classifiers.Mlp().Config);
        Assert.Equal(ClassifierEntries.leNet5.Defaults, _ctx.Classifiers.LeNet5().Config);
        Assert.Equal(ClassifierEntries.cnn.Defaults, _ctx.Classifiers.Cnn().Config);
        Assert.Equal(ClassifierEntries.pyramidSvm.Defaults, _ctx.Classifiers.PyramidSvm().Config);
        // GanConfig holds a loss with functions, so compare what run.json would store.
        Assert.Equal(SettingsOf(GanEntries.mlp, GanEntries.mlp.Defaults), SettingsOf(GanEntries.mlp, _ctx.Gans.Mlp().Config));
        Assert.Equal(SettingsOf(GanEntries.dcgan, GanEntries.dcgan.Defaults), SettingsOf(GanEntries.dcgan, _ctx.Gans.Dcgan().Config));
        Assert.Equal(SettingsOf(GanEntries.kerasDcgan, GanEntries.kerasDcgan.Defaults), SettingsOf(GanEntries.kerasDcgan, _ctx.Gans.KerasDcgan().Config));
        Assert.Equal(SettingsOf(GanEntries.leastSquares, GanEntries.leastSquares.Defaults), SettingsOf(GanEntries.leastSquares, _ctx.Gans.LeastSquares().Config));
    }

    [Fact]
    public void Public_properties_are_views_of_the_preset()
    {
        var deep = _ctx.Autoencoders.Deep();
        Assert.Equal(ListModule.Last(AutoencoderEntries.deep.Defaults.EncoderWidths), deep.CodeSize);
        Assert.Equal(AutoencoderEntries.deep.Defaults.Optimizer, deep.Optimizer.Spec);
        var gan = _ctx.Gans.KerasDcgan();
        Assert.Equal(GanEntries.kerasDcgan.Defaults.LatentSize, gan.LatentSize);
        Assert.Equal(GanEntries.kerasDcgan.Defaults.GeneratorOptimizer, gan.GeneratorOptimizer.Spec);
        Assert.Same(AdversarialLoss.NonSaturating, gan.Loss);
        Assert.Equal(ClassifierEntries.cnn.Defaults.Patience, _ctx.Classifiers.Cnn().Patience);
    }

    [Fact]
    public void Deep_code_size_replaces_the_last_width_of_the_record()
    {
        var preset = AutoencoderEntries.deep.Defaults;
        var widths = preset.EncoderWidths.ToList();
        Assert.Equal(widths.Take(widths.Count - 1).Append(4), _ctx.Autoencoders.Deep().WithCodeSize(4).Config.EncoderWidths);
        // Another preset in the record: the layers before the code are that record's, not a copy of today's preset.
        var other = new AutoencoderConfig(preset.InputShape, ListModule.OfSeq(new[] { 100, 50, 7 }), preset.HiddenActivation,
                                          preset.CodeActivation, preset.OutputActivation, preset.Loss, preset.Reduction, preset.Optimizer, preset.Precision);
        var edited = (_ctx.Autoencoders.Deep() with { Config = other }).WithCodeSize(3);
        Assert.Equal(new[] { 100, 50, 3 }, edited.Config.EncoderWidths);
        Assert.Equal(3, edited.CodeSize);
    }

    [Fact]
    public void With_leaves_the_original_builder_unchanged()
    {
        var linear = _ctx.Autoencoders.Linear();
        var narrow = linear.WithHiddenSize(8).WithOptimizer(Optimizer.Sgd(0.1));
        Assert.Equal(AutoencoderEntries.linear.Defaults, linear.Config);
        Assert.Equal(8, narrow.HiddenSize);
        Assert.Equal(Optimizer.Sgd(0.1), narrow.Optimizer);

        var deep = _ctx.Autoencoders.Deep();
        _ = deep.WithCodeSize(2);
        Assert.Equal(AutoencoderEntries.deep.Defaults, deep.Config);

        var cls = _ctx.Classifiers.LeNet5();
        var other = cls.WithValidation(0.2, 3).WithOptimizer(Optimizer.Adam(1e-2));
        Assert.Equal(ClassifierEntries.leNet5.Defaults, cls.Config);
        Assert.Equal((0.2, 3), (other.ValidationFraction, other.Patience));

        var gan = _ctx.Gans.Mlp();
        var changed = gan.WithLatentSize(5).WithDiscriminatorSteps(2).WithRandomFlip(0.0);
        Assert.Equal(SettingsOf(GanEntries.mlp, GanEntries.mlp.Defaults), SettingsOf(GanEntries.mlp, gan.Config));
        Assert.Equal((5, 2, 0.0), (changed.LatentSize, changed.DiscriminatorSteps, changed.FlipProbability));

        var dae = _ctx.Autoencoders.Denoising(Noise.Masking(0.25));
        _ = dae.WithNetwork(DenoisingNetwork.Convolutional).WithNoise(Noise.Gaussian(0.1));
        Assert.Equal(DenoisingNetwork.Linear, dae.Network);
        Assert.Equal(Noise.Masking(0.25), dae.Noise);
    }

    [Fact]
    public void Mlp_gan_variant_switches_preset_and_keeps_the_values_set()
    {
        var b = _ctx.Gans.Mlp().WithVariant(MlpGanVariant.B);
        Assert.Equal(SettingsOf(GanEntries.mlp, GanModule.mlpB), SettingsOf(GanEntries.mlp, b.Config));
        // Set before or after the variant, a value stays set; the rest follows the variant.
        var before = _ctx.Gans.Mlp().WithLatentSize(8).WithVariant(MlpGanVariant.C);
        var after = _ctx.Gans.Mlp().WithVariant(MlpGanVariant.C).WithLatentSize(8);
        Assert.Equal(8, before.LatentSize);
        Assert.Equal(SettingsOf(GanEntries.mlp, after.Config), SettingsOf(GanEntries.mlp, before.Config));
        Assert.Equal(GanNoise.Uniform, before.Noise);
        Assert.Equal(MlpGanVariant.C, before.Variant);
    }

    [Fact]
    public void Classifier_catalog_sets_the_architecture_and_the_weights()
    {
        var mlp = _ctx.Classifiers.Mlp(64);
        Assert.Equal(ClassifierArchitecture.NewPerceptron(ListModule.OfSeq(new[] { 64 })), mlp.Config.Model.Architecture);
        var weights = Path.Combine(Path.GetTempPath(), "mobilenet.safetensors");
        Assert.Equal(weights, _ctx.Classifiers.MobileNetV2(weights).Config.Model.Weights);
        Assert.Throws<ArgumentNullException>(() => _ctx.Classifiers.MobileNetV2(null!));
        Assert.Equal("weights", Assert.Throws<ArgumentException>(() => _ctx.Classifiers.MobileNetV2("  ").Build()).ParamName);
    }

    [Fact]
    public void Denoising_network_takes_the_preset_and_keeps_the_optimizer()
    {
        var sgd = Optimizer.Sgd(0.05, momentum: 0.9);
        var dae = _ctx.Autoencoders.Denoising(Noise.Gaussian()).WithOptimizer(sgd).WithNetwork(DenoisingNetwork.Deep);
        Assert.Equal(sgd, dae.Optimizer);
        var network = Assert.IsType<Generative.DenoiserNetwork.FullyConnected>(dae.Config.Network);
        Assert.Equal(AutoencoderEntries.deep.Defaults.EncoderWidths, network.Item.EncoderWidths);
    }

    [Fact]
    public void Denoising_network_without_a_chosen_optimizer_takes_the_presets_as_the_command_line_does()
    {
        var dae = _ctx.Autoencoders.Denoising(Noise.Gaussian()).WithNetwork(DenoisingNetwork.Deep);
        Assert.Equal(Optimizer.Of(AutoencoderEntries.deep.Defaults.Optimizer), dae.Optimizer);
        var cli = AutoencoderEntries.all.Single(e => e.Id == "ae-denoise")
            .Configure.Invoke(Microsoft.FSharp.Collections.ListModule.OfSeq(new[] { Tuple.Create("network", "deep") }));
        Assert.Equal(cli.Settings.Select(s => (s.Item1, s.Item2)), ModelSpec.configured(AutoencoderEntries.denoising, dae.Config).Settings.Select(s => (s.Item1, s.Item2)));
    }

    public static IEnumerable<object[]> BadValues() =>
    [
        ["encoder-widths", "ae-deep"],
        ["hidden-channels", "ae-conv"],
        ["latent-dim", "vae"],
        ["iwae-samples", "vae"],
        ["d-steps", "dcgan"],
        ["latent-size", "gan-mlp"],
        ["flip", "lsgan"],
        ["validation", "cls-lenet"],
        ["patience", "cls-cnn"],
    ];

    private Action Bad(string key) => key switch
    {
        "encoder-widths" => () => _ctx.Autoencoders.Deep().WithCodeSize(0).Build(),
        "hidden-channels" => () => _ctx.Autoencoders.Convolutional().WithHiddenChannels(-1).Build(),
        "latent-dim" => () => _ctx.Autoencoders.Variational(0).Build(),
        "iwae-samples" => () => _ctx.Autoencoders.Variational().WithImportanceSamples(0).Build(),
        "d-steps" => () => _ctx.Gans.Dcgan().WithDiscriminatorSteps(0).Build(),
        "latent-size" => () => _ctx.Gans.Mlp().WithVariant(MlpGanVariant.B).WithLatentSize(-4).Build(),
        "flip" => () => _ctx.Gans.LeastSquares().WithRandomFlip(2.0).Build(),
        "validation" => () => _ctx.Classifiers.LeNet5().WithValidation(1.0, 0).Build(),
        "patience" => () => _ctx.Classifiers.Cnn().WithValidation(0.1, -1).Build(),
        _ => throw new ArgumentException(key),
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void A_bad_value_is_named_by_its_setting_key(string key, string modelId)
    {
        var e = Assert.Throws<ArgumentException>(Bad(key));
        Assert.Equal(key, e.ParamName);
        // The same name `--set` takes for this model.
        Assert.Contains(key, Catalog.find(modelId).Settings.Select(s => s.Key));
    }

    [Fact]
    public void A_saved_model_stores_exactly_the_configured_settings()
    {
        var builder = _ctx.Autoencoders.Convolutional().WithHiddenChannels(4).WithCodeChannels(2).WithOptimizer(Optimizer.Sgd(0.01, 0.5));
        var expected = SettingsOf(AutoencoderEntries.convolutional, builder.Config);
        using var model = builder.Build();
        Assert.Equal(expected, model.Settings);
        Assert.Equal(AutoencoderEntries.convolutional.Settings.Select(s => s.Key), model.Settings.Select(s => s.Key));
        var path = TempFile("conv");
        model.Save(path);
        using var loaded = AutoencoderModel.Load(_ctx, path);
        Assert.Equal(expected, loaded.Settings);
    }

    [Fact]
    public async Task A_fit_writes_the_settings_the_command_line_writes_for_the_config()
    {
        var builder = _ctx.Autoencoders.Variational(3).WithHiddenWidth(16).WithLikelihood(VaeLikelihood.Bernoulli).WithBeta(2.5)
                          .WithImportanceSamples(2).WithOptimizer(Optimizer.Adam(2e-3, weightDecay: 1e-4));
        using var model = builder.Build();
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16), ImageNormalization.ZeroToOne);
        var runsRoot = Path.Combine(Path.GetTempPath(), "generative-typed-" + Guid.NewGuid().ToString("N"));
        var run = await model.FitAsync(data, new TrainingOptions { Epochs = 1, BatchSize = 32, RunsRoot = runsRoot });
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(run.Folder, "run.json")));
        var written = json.RootElement.GetProperty("modelSettings").EnumerateObject().Select(p => (p.Name, p.Value.GetString()!)).ToList();
        // The command line reads `--set key=value` pairs over the defaults and writes the configured settings.
        var cli = Catalog.find("vae").Configure.Invoke(ListModule.OfSeq(model.Settings.Select(s => Tuple.Create(s.Key, s.Value))))
                         .Settings.Select(t => (t.Item1, t.Item2)).ToList();
        Assert.Equal(SettingsOf(AutoencoderEntries.variational, builder.Config), written);
        Assert.Equal(cli, written);
        Assert.Contains(("latent-dim", "3"), written);
        Assert.Contains(("likelihood", "bernoulli"), written);
    }

    [Fact]
    public void GanLoss_All_is_the_library_list()
    {
        Assert.Equal(GanLossModule.all.Select(l => l.Name), AdversarialLoss.All.Select(l => l.Name));
        foreach (var preset in new[] { AdversarialLoss.Minimax, AdversarialLoss.NonSaturating, AdversarialLoss.LeastSquares, AdversarialLoss.Hinge, AdversarialLoss.WassersteinGp })
            Assert.Contains(preset, AdversarialLoss.All);
        foreach (var loss in AdversarialLoss.All)
            Assert.Equal(loss, AdversarialLoss.FromName(loss.Name.ToUpperInvariant()));
        Assert.Same(AdversarialLoss.Hinge, AdversarialLoss.FromName(" hinge "));
    }

    [Fact]
    public void GanLoss_FromName_rejects_an_unknown_name_listing_the_valid_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => AdversarialLoss.FromName("wasserstein"));
        Assert.Equal("loss", e.ParamName);
        Assert.All(AdversarialLoss.All, l => Assert.Contains(l.Name, e.Message));
        Assert.Throws<ArgumentNullException>(() => AdversarialLoss.FromName(null!));
    }

    [Fact]
    public void Loading_a_file_as_another_kind_of_model_fails_naming_the_file()
    {
        using var gan = _ctx.Gans.Mlp().WithVariant(MlpGanVariant.B).WithLatentSize(4).Build();
        var path = TempFile("gan");
        gan.Save(path);
        var e = Assert.Throws<InvalidDataException>(() => AutoencoderModel.Load(_ctx, path));
        Assert.Contains(path, e.Message);
        Assert.Contains("gan-mlp", e.Message);
        Assert.Throws<InvalidDataException>(() => VariationalAutoencoderModel.Load(_ctx, path));
        Assert.Throws<InvalidDataException>(() => ClassifierModel.Load(_ctx, path));
        using var loaded = GanModel.Load(_ctx, path);
        Assert.Equal(gan.Settings, loaded.Settings);

        using var cls = _ctx.Classifiers.Mlp(8).Build();
        var clsPath = TempFile("cls");
        cls.Save(clsPath);
        Assert.Contains("not a GAN", Assert.Throws<InvalidDataException>(() => GanModel.Load(_ctx, clsPath)).Message);
        Assert.Throws<InvalidDataException>(() => AutoencoderModel.Load(_ctx, clsPath));
    }
}
