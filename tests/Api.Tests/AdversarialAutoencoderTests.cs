using System.Text.Json;
using Microsoft.FSharp.Collections;
using TorchSharp;
using Xunit;

namespace Generative.CSharp.Tests;

public sealed class AdversarialAutoencoderBuilderTests
{
    private readonly GenerativeContext _ctx = new(seed: 1, device: ComputeDevice.Cpu);

    private static List<(string, string)> SettingsOf(ModelSpec<AaeConfig> spec, AaeConfig config) =>
        ModelSpec.configured(spec, config).Settings.Select(t => (t.Item1, t.Item2)).ToList();

    [Fact]
    public void Builders_start_from_the_presets_of_their_catalog_models()
    {
        // AaeConfig holds a loss with functions, so compare what run.json would store.
        var u = _ctx.Autoencoders.Adversarial();
        var s = _ctx.Autoencoders.SupervisedAdversarial();
        Assert.Equal(SettingsOf(AdversarialAutoencoderEntries.unsupervised, AaeModule.unsupervised), SettingsOf(u.Spec, u.Config));
        Assert.Equal(SettingsOf(AdversarialAutoencoderEntries.supervised, AaeModule.supervised), SettingsOf(s.Spec, s.Config));
        Assert.Equal(("aae", false), (u.ModelId, u.IsSupervised));
        Assert.Equal(("aae-s", true), (s.ModelId, s.IsSupervised));
    }

    [Fact]
    public void Public_properties_are_the_library_defaults_and_the_source_a_preset()
    {
        var b = _ctx.Autoencoders.SupervisedAdversarial();
        Assert.Equal((10, 392, 1500, 0.2), (b.CodeSize, b.HiddenWidth, b.DiscriminatorWidth, b.Dropout));
        Assert.Equal(CodePrior.Gaussian(5), b.Prior);
        Assert.Equal("gaussian:std=5", b.Prior.ToString());
        Assert.Equal((1.0, 0.1), (b.AdversarialWeight, b.ValidationFraction));
        Assert.Equal(Optimizer.Adam(1e-3), b.ReconstructionOptimizer);
        Assert.Equal(Optimizer.Adam(1e-3), b.DiscriminatorOptimizer);
        // The library's AAE-S: labels tied to the Gaussian, D on logits, the generator at 1e-3 ...
        Assert.True(b.TieLabelsToPrior);
        Assert.True(b.DiscriminatorOnLogits);
        Assert.Equal(Optimizer.Adam(1e-3), b.GeneratorOptimizer);
        Assert.Equal(128, Experiment.defaults(b.ModelId).BatchSize);
        // ... the source's, as a preset and as AAE-U.
        var source = _ctx.Autoencoders.SupervisedAdversarialAsInSource();
        Assert.Equal("aae-s", source.ModelId);
        Assert.True(source.IsSupervised);
        var u = _ctx.Autoencoders.Adversarial();
        foreach (var sourceLike in new[] { source, u })
        {
            Assert.False(sourceLike.TieLabelsToPrior);
            Assert.False(sourceLike.DiscriminatorOnLogits);
            Assert.Equal(Optimizer.Adam(1e-4), sourceLike.GeneratorOptimizer);
        }
        Assert.Equal(1024, Experiment.defaults(u.ModelId).BatchSize);
        Assert.True(u.WithDiscriminatorOnLogits().DiscriminatorOnLogits);
        Assert.False(b.WithDiscriminatorOnLogits(false).DiscriminatorOnLogits);
        Assert.Equal(CodePrior.Of(LatentPriorModule.paperMixture), CodePrior.Mixture());
    }

    [Fact]
    public void With_returns_an_edited_copy_and_the_settings_the_command_line_writes()
    {
        var a = _ctx.Autoencoders.Adversarial();
        var b = a.WithCodeSize(4).WithHiddenWidth(32).WithDiscriminatorWidth(16).WithDropout(0.0)
                 .WithPrior(CodePrior.Mixture(10, 2.0, 0.4, 0.1)).WithTieLabelsToPrior().WithAdversarialWeight(0.5)
                 .WithReconstructionOptimizer(Optimizer.Adam(2e-3)).WithDiscriminatorOptimizer(Optimizer.Sgd(0.01))
                 .WithGeneratorOptimizer(Optimizer.RmsProp(1e-4)).WithValidation(0.0).WithDiscriminatorOnLogits();
        Assert.Equal(SettingsOf(AdversarialAutoencoderEntries.unsupervised, AaeModule.unsupervised), SettingsOf(a.Spec, a.Config));
        using var model = b.Build();
        var expected = new List<(string, string)>
        {
            ("code-size", "4"), ("hidden-width", "32"), ("discriminator-width", "16"), ("dropout", "0"),
            ("prior", "mixture:components=10,radius=2,radial-std=0.4,tangential-std=0.1"), ("tie-labels", "true"),
            ("adversarial-weight", "0.5"), ("optimizer", Optimizer.Adam(2e-3).ToString()), ("d-optimizer", Optimizer.Sgd(0.01).ToString()),
            ("g-optimizer", Optimizer.RmsProp(1e-4).ToString()), ("validation", "0"), ("d-output", "logits"),
        };
        foreach (var setting in expected) Assert.Contains(setting, model.Settings);
        // The command line reads the same pairs over the defaults into the same settings.
        var cli = Catalog.find("aae").Configure.Invoke(ListModule.OfSeq(expected.Select(p => Tuple.Create(p.Item1, p.Item2))))
                         .Settings.Select(t => (t.Item1, t.Item2)).ToList();
        Assert.Equal(cli, model.Settings);
        Assert.Equal((4, 10, false), (model.CodeSize, model.Classes, model.IsSupervised));
        Assert.Equal(CodePrior.Mixture(10, 2.0, 0.4, 0.1), model.Prior);
    }

    public static IEnumerable<object[]> BadValues() =>
    [
        ["code-size", "zero"],
        ["hidden-width", "negative"],
        ["discriminator-width", "zero"],
        ["dropout", "one"],
        ["dropout", "nan"],
        ["adversarial-weight", "negative"],
        ["adversarial-weight", "infinite"],
        ["validation", "one"],
        ["prior", "gaussian std 0"],
        ["prior", "no components"],
        ["prior", "negative radius"],
        ["prior", "radial std 0"],
        ["prior", "tangential std infinite"],
        ["labelled-fraction", "zero"],
        ["labelled-fraction", "above one"],
    ];

    private Action Bad(string key, string how) => (key, how) switch
    {
        ("code-size", _) => () => _ctx.Autoencoders.Adversarial().WithCodeSize(0),
        ("labelled-fraction", "zero") => () => _ctx.Autoencoders.Adversarial().WithLabelledFraction(0.0),
        ("labelled-fraction", _) => () => _ctx.Autoencoders.Adversarial().WithLabelledFraction(1.5),
        ("hidden-width", _) => () => _ctx.Autoencoders.SupervisedAdversarial().WithHiddenWidth(-3),
        ("discriminator-width", _) => () => _ctx.Autoencoders.Adversarial().WithDiscriminatorWidth(0),
        ("dropout", "one") => () => _ctx.Autoencoders.Adversarial().WithDropout(1.0),
        ("dropout", _) => () => _ctx.Autoencoders.Adversarial().WithDropout(double.NaN),
        ("adversarial-weight", "negative") => () => _ctx.Autoencoders.Adversarial().WithAdversarialWeight(-0.1),
        ("adversarial-weight", _) => () => _ctx.Autoencoders.Adversarial().WithAdversarialWeight(double.PositiveInfinity),
        ("validation", _) => () => _ctx.Autoencoders.SupervisedAdversarial().WithValidation(1.0),
        ("prior", "gaussian std 0") => () => CodePrior.Gaussian(0),
        ("prior", "no components") => () => CodePrior.Mixture(components: 0),
        ("prior", "negative radius") => () => CodePrior.Mixture(radius: -1),
        ("prior", "radial std 0") => () => CodePrior.Mixture(radialStd: 0),
        ("prior", _) => () => CodePrior.Mixture(tangentialStd: double.PositiveInfinity),
        _ => throw new ArgumentException(key),
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void A_bad_value_is_rejected_where_it_is_set_naming_its_setting_key(string key, string how)
    {
        var e = Assert.Throws<ArgumentException>(Bad(key, how));
        Assert.Equal(key, e.ParamName);
        // The same name `--set` takes for these models.
        Assert.Contains(key, Catalog.find("aae-s").Settings.Select(s => s.Key));
    }

    [Fact]
    public void Settings_that_do_not_go_together_are_rejected_by_Build_whatever_the_order_of_the_calls()
    {
        var e = Assert.Throws<ArgumentException>(() => _ctx.Autoencoders.Adversarial().WithPrior(CodePrior.Mixture(components: 3)).WithTieLabelsToPrior().Build());
        Assert.Equal("tie-labels", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => _ctx.Autoencoders.SupervisedAdversarial().WithPrior(CodePrior.Mixture(components: 4)).WithTieLabelsToPrior().Build());
        Assert.Equal("tie-labels", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => _ctx.Autoencoders.Adversarial().WithPrior(CodePrior.Mixture()).WithCodeSize(3).Build());
        Assert.Equal("code-size", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => _ctx.Autoencoders.Adversarial().WithLabelledFraction(0.5).Build());
        Assert.Equal("labelled-fraction", e.ParamName);
        // Set in either order, settings that go together build.
        var small = _ctx.Autoencoders.Adversarial().WithHiddenWidth(8).WithDiscriminatorWidth(8);
        using var tiedFirst = small.WithTieLabelsToPrior().WithCodeSize(3).WithPrior(CodePrior.Mixture()).WithCodeSize(2).Build();
        using var priorFirst = small.WithPrior(CodePrior.Mixture()).WithCodeSize(2).WithTieLabelsToPrior().Build();
        Assert.Equal(tiedFirst.Settings, priorFirst.Settings);
        // A Gaussian prior is the same for every label: tied labels then ask for codes that carry no label.
        using var tiedGaussian = small.WithTieLabelsToPrior().Build();
        using var semiSupervised = small.WithLabelledFraction(0.1).WithGaussianEncoder().WithPrior(CodePrior.Mixture()).WithCodeSize(2).WithTieLabelsToPrior().Build();
        Assert.Contains(("labelled-fraction", "0.1"), semiSupervised.Settings);
        Assert.Contains(("encoder", "gaussian"), semiSupervised.Settings);
    }

    [Fact]
    public void Null_arguments_are_named()
    {
        var b = _ctx.Autoencoders.Adversarial();
        Assert.Equal("prior", Assert.Throws<ArgumentNullException>(() => b.WithPrior(null!)).ParamName);
        Assert.Equal("optimizer", Assert.Throws<ArgumentNullException>(() => b.WithReconstructionOptimizer(null!)).ParamName);
        Assert.Equal("optimizer", Assert.Throws<ArgumentNullException>(() => b.WithDiscriminatorOptimizer(null!)).ParamName);
        Assert.Equal("optimizer", Assert.Throws<ArgumentNullException>(() => b.WithGeneratorOptimizer(null!)).ParamName);
    }
}

public sealed class AdversarialAutoencoderModelTests
{
    private readonly GenerativeContext _ctx = new(seed: 11, device: ComputeDevice.Cpu);

    private static string RunsRoot() => Path.Combine(Path.GetTempPath(), "generative-aae-" + Guid.NewGuid().ToString("N"));

    private static string TempFile(string stem) => Path.Combine(Path.GetTempPath(), stem + "-" + Guid.NewGuid().ToString("N") + ".safetensors");

    private AdversarialAutoencoderBuilder Tiny(bool supervised) =>
        (supervised ? _ctx.Autoencoders.SupervisedAdversarial() : _ctx.Autoencoders.Adversarial())
            .WithCodeSize(4).WithHiddenWidth(24).WithDiscriminatorWidth(16);

    [Fact]
    public async Task A_tiny_aae_s_fits_then_encodes_decodes_samples_draws_style_grids_and_round_trips()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(128, 32), ImageNormalization.ZeroToOne);
        using var model = Tiny(supervised: true).Build();
        Assert.Equal(ImageNormalization.ZeroToOne, model.Normalization);
        var progress = new RecordingProgress<TrainingProgress>();
        var run = await model.FitAsync(data, new TrainingOptions { Epochs = 2, BatchSize = 32, RunsRoot = RunsRoot() }, progress);
        // 128 images, 10% held out for validation: 116 in 4 steps an epoch.
        Assert.Equal(8, progress.Items.Count);
        foreach (var term in new[] { "reconstruction", "d_loss", "g_loss", "d_prior", "d_code" })
            Assert.All(progress.Items, p => Assert.True(p.Metrics.ContainsKey(term), term));
        Assert.Contains("val reconstruction", run.Epochs[^1].Metrics.Keys);
        Assert.Contains(run.Metrics, m => m.Name == "test code 5-NN accuracy");

        using var x = data.TestImages.narrow(0, 0, 6);
        using var codes = model.Encode(x);
        Assert.Equal(new long[] { 6, 4 }, codes.shape);
        using var labels = torch.tensor(new long[] { 0, 1, 2, 3, 4, 9 });
        using var decoded = model.Decode(codes, labels);
        Assert.Equal(new long[] { 6, 1, 28, 28 }, decoded.shape);
        Assert.True(decoded.min().ToSingle() >= 0f && decoded.max().ToSingle() <= 1f, "sigmoid output in [0, 1]");

        using var a = model.Sample(7, seed: 3);
        using var b = model.Sample(7, seed: 3);
        Assert.Equal(new long[] { 7, 1, 28, 28 }, a.shape);
        Assert.True(a.Equals(b), "same seed, same samples");

        using var traversal = model.StyleTraversal();
        Assert.Equal(new long[] { 2 * 5 * 10, 1, 28, 28 }, traversal.shape);
        using var small = model.StyleTraversal([7, 2], steps: 3);
        Assert.Equal(new long[] { 2 * 2 * 3, 1, 28, 28 }, small.shape);
        using var transfer = model.StyleTransfer(x);
        Assert.Equal(new long[] { 6 * 11, 1, 28, 28 }, transfer.shape);
        // Each row starts with its image, then the image's code written as class 0, 1, ...
        using var rows = transfer.reshape(6, 11, 1, 28, 28);
        Assert.True(rows.select(1, 0).Equals(x), "each row starts with its test image");
        using var asClass3 = model.Decode(codes, torch.full(new long[] { 6 }, 3, dtype: torch.int64));
        Assert.True(rows.select(1, 4).allclose(asClass3, rtol: 1e-5, atol: 1e-6), "column 1 + k is the code written as class k");

        var path = TempFile("aae-s");
        model.Save(path);
        using var loaded = AdversarialAutoencoderModel.Load(_ctx, path);
        Assert.Equal(model.Settings, loaded.Settings);
        Assert.True(loaded.IsSupervised);
        using var loadedCodes = loaded.Encode(x);
        Assert.True(codes.Equals(loadedCodes), "identical codes");
        using var loadedDecoded = loaded.Decode(codes, labels);
        Assert.True(decoded.Equals(loadedDecoded), "identical decodings");
        using var loadedSample = loaded.Sample(7, seed: 3);
        Assert.True(a.Equals(loadedSample), "identical samples");
        using var loadedTransfer = loaded.StyleTransfer(x);
        Assert.True(transfer.Equals(loadedTransfer), "identical style transfer");
    }

    [Fact]
    public void Style_labels_and_steps_are_checked()
    {
        using var model = Tiny(supervised: true).Build();
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => model.StyleTraversal([])).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => model.StyleTraversal([3, 10])).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => model.StyleTraversal([-1])).ParamName);
        Assert.Equal("steps", Assert.Throws<ArgumentException>(() => model.StyleTraversal(steps: 1)).ParamName);
        // With labels tied to a mixture, a row starts at its label's component: a label beyond them is still named.
        using var tied = Tiny(supervised: true).WithPrior(CodePrior.Mixture()).WithTieLabelsToPrior().Build();
        Assert.Equal(new long[] { 2 * 2 * 3, 1, 28, 28 }, tied.StyleTraversal([9, 0], steps: 3).shape);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => tied.StyleTraversal([10])).ParamName);
        using var codes = torch.zeros(2, 4);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => model.Decode(codes, torch.tensor(new long[] { 0, 10 }))).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => model.Decode(codes, torch.tensor(new long[] { 0 }))).ParamName);
        Assert.Equal("codes", Assert.Throws<ArgumentException>(() => model.Decode(torch.zeros(2, 5), torch.tensor(new long[] { 0, 1 }))).ParamName);
    }

    [Fact]
    public void Each_model_rejects_the_operations_of_the_other_clearly()
    {
        using var u = Tiny(supervised: false).Build();
        using var s = Tiny(supervised: true).Build();
        using var codes = torch.zeros(3, 4);
        using var labels = torch.tensor(new long[] { 0, 1, 2 });
        using var x = torch.rand(2, 1, 28, 28);
        Assert.Equal(new long[] { 3, 1, 28, 28 }, u.Decode(codes).shape);
        Assert.Contains("Decode(codes)", Assert.Throws<InvalidOperationException>(() => u.Decode(codes, labels)).Message);
        Assert.Contains("aae-s", Assert.Throws<InvalidOperationException>(() => u.StyleTraversal()).Message);
        Assert.Contains("aae-s", Assert.Throws<InvalidOperationException>(() => u.StyleTransfer(x)).Message);
        Assert.Contains("Decode(codes, labels)", Assert.Throws<InvalidOperationException>(() => s.Decode(codes)).Message);
        // AAE-U samples too, and its codes have the code size.
        Assert.Equal(new long[] { 5, 1, 28, 28 }, u.Sample(5, seed: 1).shape);
        Assert.Equal(new long[] { 2, 4 }, u.Encode(x).shape);
    }

    [Fact]
    public void Load_reads_only_adversarial_autoencoders_and_keeps_the_kind()
    {
        using var u = Tiny(supervised: false).Build();
        var path = TempFile("aae");
        u.Save(path);
        using var loaded = AdversarialAutoencoderModel.Load(_ctx, path);
        Assert.False(loaded.IsSupervised);
        using var x = torch.rand(3, 1, 28, 28);
        using var a = u.Encode(x);
        using var b = loaded.Encode(x);
        Assert.True(a.Equals(b), "identical codes");
        var e = Assert.Throws<InvalidDataException>(() => AutoencoderModel.Load(_ctx, path));
        Assert.Contains("an adversarial autoencoder", e.Message);

        using var ae = _ctx.Autoencoders.Linear().WithHiddenSize(8).Build();
        var aePath = TempFile("ae");
        ae.Save(aePath);
        e = Assert.Throws<InvalidDataException>(() => AdversarialAutoencoderModel.Load(_ctx, aePath));
        Assert.Contains("not an adversarial autoencoder", e.Message);
    }
}

public sealed class DefaultBatchSizeTests
{
    private readonly GenerativeContext _ctx = new(seed: 2, device: ComputeDevice.Cpu);

    private static int BatchSizeOf(TrainingRun run)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(run.Folder, "run.json")));
        return json.RootElement.GetProperty("batchSize").GetInt32();
    }

    [Fact]
    public async Task Without_a_batch_size_a_fit_takes_the_models_own()
    {
        Assert.Null(new TrainingOptions().BatchSize);
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16), ImageNormalization.ZeroToOne);
        var runsRoot = Path.Combine(Path.GetTempPath(), "generative-batch-" + Guid.NewGuid().ToString("N"));
        using (var aae = _ctx.Autoencoders.Adversarial().WithCodeSize(2).WithHiddenWidth(8).WithDiscriminatorWidth(8).Build())
            Assert.Equal(1024, BatchSizeOf(await aae.FitAsync(data, new TrainingOptions { RunsRoot = runsRoot })));
        using (var ae = _ctx.Autoencoders.Deep().Build())
        {
            Assert.Equal(64, BatchSizeOf(await ae.FitAsync(data, new TrainingOptions { RunsRoot = runsRoot })));
            Assert.Equal(16, BatchSizeOf(await ae.FitAsync(data, new TrainingOptions { BatchSize = 16, RunsRoot = runsRoot })));
        }
    }
}
