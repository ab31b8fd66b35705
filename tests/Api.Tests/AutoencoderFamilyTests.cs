using TorchSharp;
using Xunit;

namespace Generative.CSharp.Tests;

public sealed class AutoencoderBuilderTests
{
    private readonly GenerativeContext _ctx = new(seed: 1, device: ComputeDevice.Cpu);

    private static void ThrowsWithParam(string paramName, Action build)
    {
        var e = Assert.Throws<ArgumentException>(build);
        Assert.Equal(paramName, e.ParamName);
    }

    [Fact]
    public void Builders_reject_invalid_settings_naming_the_parameter()
    {
        ThrowsWithParam("encoder-widths", () => _ctx.Autoencoders.Deep().WithCodeSize(0).Build());
        ThrowsWithParam("hidden-channels", () => _ctx.Autoencoders.Convolutional().WithHiddenChannels(0).Build());
        ThrowsWithParam("code-channels", () => _ctx.Autoencoders.Convolutional().WithCodeChannels(-2).Build());
        ThrowsWithParam("normalization", () => _ctx.Autoencoders.ThreeD().WithNormalization((ImageNormalization)42).Build());
        ThrowsWithParam("network", () => _ctx.Autoencoders.Denoising(Noise.Gaussian()).WithNetwork((DenoisingNetwork)9).Build());
        ThrowsWithParam("latent-dim", () => _ctx.Autoencoders.Variational(0).Build());
        ThrowsWithParam("hidden-width", () => _ctx.Autoencoders.Variational().WithHiddenWidth(-1).Build());
        ThrowsWithParam("beta", () => _ctx.Autoencoders.Variational().WithBeta(-0.5).Build());
        ThrowsWithParam("beta", () => _ctx.Autoencoders.Variational().WithBeta(double.NaN).Build());
        ThrowsWithParam("iwae-samples", () => _ctx.Autoencoders.Variational().WithImportanceSamples(0).Build());
        ThrowsWithParam("likelihood", () => _ctx.Autoencoders.Variational().WithLikelihood((VaeLikelihood)5).Build());
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(double.PositiveInfinity)]
    public void Gaussian_noise_rejects_a_bad_std(double std) => ThrowsWithParam("std", () => Noise.Gaussian(std));

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    public void Masking_noise_rejects_a_bad_probability(double p) => ThrowsWithParam("probability", () => Noise.Masking(p));

    [Fact]
    public void Denoising_needs_a_noise() =>
        Assert.Throws<ArgumentNullException>(() => _ctx.Autoencoders.Denoising(null!));

    [Fact]
    public void Builders_are_immutable()
    {
        var vae = _ctx.Autoencoders.Variational(8);
        var beta = vae.WithBeta(4).WithLikelihood(VaeLikelihood.Bernoulli);
        Assert.Equal(1.0, vae.Beta);
        Assert.Equal(VaeLikelihood.Gaussian, vae.Likelihood);
        Assert.Equal(4.0, beta.Beta);
        Assert.Equal(8, beta.LatentDim);
        var conv = _ctx.Autoencoders.Convolutional();
        Assert.Equal(16, conv.HiddenChannels);
        Assert.Equal(4, conv.WithHiddenChannels(4).HiddenChannels);
        var dae = _ctx.Autoencoders.Denoising(Noise.Gaussian(0.3));
        var masked = dae.WithNoise(Noise.Masking(0.2)).WithNetwork(DenoisingNetwork.Deep);
        Assert.Equal("Gaussian noise (std 0.3)", dae.Noise.ToString());
        Assert.Equal(DenoisingNetwork.Linear, dae.Network);
        Assert.Equal(DenoisingNetwork.Deep, masked.Network);
    }

    public static IEnumerable<object[]> Models() =>
    [
        ["deep", 9, ImageNormalization.ZeroToOne],
        ["3d", 3, ImageNormalization.MinusOneToOne],
        ["conv", 32, ImageNormalization.MinusOneToOne],
        ["denoise", 128, ImageNormalization.ZeroToOne],
        ["vae", 20, ImageNormalization.MinusOneToOne],
        ["vae-bernoulli", 20, ImageNormalization.ZeroToOne],
    ];

    private AutoencoderModel Build(string kind) => kind switch
    {
        "deep" => _ctx.Autoencoders.Deep().Build(),
        "3d" => _ctx.Autoencoders.ThreeD().Build(),
        "conv" => _ctx.Autoencoders.Convolutional().Build(),
        "denoise" => _ctx.Autoencoders.Denoising(Noise.Masking(0.3)).Build(),
        "vae" => _ctx.Autoencoders.Variational().Build(),
        "vae-bernoulli" => _ctx.Autoencoders.Variational().WithLikelihood(VaeLikelihood.Bernoulli).Build(),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Encode_decode_and_reconstruct_have_the_right_shapes(string kind, int codeSize, ImageNormalization normalization)
    {
        using var model = Build(kind);
        Assert.Equal(normalization, model.Normalization);
        using var x = torch.rand(5, 1, 28, 28);
        using var z = model.Encode(x);
        using var d = model.Decode(z);
        using var r = model.Reconstruct(x);
        Assert.Equal(new long[] { 5, codeSize }, z.shape);
        Assert.Equal(new long[] { 5, 1, 28, 28 }, d.shape);
        Assert.Equal(new long[] { 5, 1, 28, 28 }, r.shape);
    }
}

public sealed class VariationalAutoencoderTests
{
    private readonly GenerativeContext _ctx = new(seed: 5, device: ComputeDevice.Cpu);

    private static string RunsRoot() => Path.Combine(Path.GetTempPath(), "generative-runs-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Sample_draws_images_and_a_seed_repeats_them()
    {
        using var vae = _ctx.Autoencoders.Variational(4).WithHiddenWidth(32).Build();
        using var a = vae.Sample(6, seed: 3);
        using var b = vae.Sample(6, seed: 3);
        Assert.Equal(new long[] { 6, 1, 28, 28 }, a.shape);
        Assert.True(a.Equals(b), "same seed, same samples");
        var e = Assert.Throws<ArgumentException>(() => vae.Sample(0));
        Assert.Equal("count", e.ParamName);
        // Refused before anything is allocated: 2 billion images would need terabytes.
        e = Assert.Throws<ArgumentException>(() => vae.Sample(int.MaxValue));
        Assert.Equal("count", e.ParamName);
        Assert.Contains("memory", e.Message);
    }

    [Fact]
    public async Task Fit_reports_the_elbo_terms_and_save_then_load_gives_identical_outputs()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(128, 32), ImageNormalization.ZeroToOne);
        using var vae = _ctx.Autoencoders.Variational(4).WithHiddenWidth(32).WithLikelihood(VaeLikelihood.Bernoulli)
                            .WithImportanceSamples(5).Build();
        var progress = new RecordingProgress<TrainingProgress>();
        var run = await vae.FitAsync(data, new TrainingOptions { Epochs = 1, BatchSize = 32, RunsRoot = RunsRoot() }, progress);
        Assert.All(progress.Items, p =>
        {
            Assert.True(p.Metrics.ContainsKey("reconstruction"));
            Assert.True(p.Metrics.ContainsKey("kl"));
        });
        var nll = run.Metrics.Single(m => m.Name.StartsWith("test NLL, IWAE k=5")).Value;
        var negativeElbo = run.Metrics.Single(m => m.Name == "test negative ELBO (nats)").Value;
        Assert.True(nll > 0 && nll <= negativeElbo + 1.0, $"IWAE NLL {nll} vs -ELBO {negativeElbo}");

        var path = Path.Combine(Path.GetTempPath(), "vae-" + Guid.NewGuid().ToString("N") + ".safetensors");
        vae.Save(path);
        using var loaded = VariationalAutoencoderModel.Load(_ctx, path);
        using var asAutoencoder = AutoencoderModel.Load(_ctx, path);
        Assert.IsType<VariationalAutoencoderModel>(asAutoencoder);
        using var x = data.TestImages.narrow(0, 0, 8);
        using var r1 = vae.Reconstruct(x);
        using var r2 = loaded.Reconstruct(x);
        Assert.True(r1.Equals(r2), "identical reconstructions");
        using var s1 = vae.Sample(4, seed: 1);
        using var s2 = loaded.Sample(4, seed: 1);
        Assert.True(s1.Equals(s2), "identical samples");
    }

    [Fact]
    public async Task A_plain_autoencoder_file_is_not_a_vae()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(64, 16));
        using var dae = _ctx.Autoencoders.Denoising(Noise.Gaussian(0.2)).Build();
        await dae.FitAsync(data, new TrainingOptions { Epochs = 1, BatchSize = 32, RunsRoot = RunsRoot() });
        var path = Path.Combine(Path.GetTempPath(), "dae-" + Guid.NewGuid().ToString("N") + ".safetensors");
        dae.Save(path);
        var e = Assert.Throws<InvalidDataException>(() => VariationalAutoencoderModel.Load(_ctx, path));
        Assert.Contains("ae-denoise", e.Message);
        using var loaded = AutoencoderModel.Load(_ctx, path);
        using var x = data.TestImages.narrow(0, 0, 4);
        using var a = dae.Reconstruct(x);
        using var b = loaded.Reconstruct(x);
        Assert.True(a.Equals(b), "identical outputs");
    }
}
