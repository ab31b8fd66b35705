namespace Generative.CSharp;

/// <summary>The decoder's likelihood p(x | z) of a variational autoencoder.</summary>
public enum VaeLikelihood
{
    /// <summary>Gaussian of variance ½ around a Tanh output (the source's summed squared error), on [-1, 1] images.</summary>
    Gaussian,
    /// <summary>Bernoulli around a Sigmoid output (binary cross-entropy), on [0, 1] images.</summary>
    Bernoulli,
}

/// <summary>
/// Builds a VAE (<c>AutoencoderEntries.variational</c>; Kingma &amp; Welling 2014): encoder 784-<c>HiddenWidth</c> ReLU
/// with μ and log σ² heads of size <c>LatentDim</c>, z = μ + ε·σ, decoder <c>LatentDim</c>-<c>HiddenWidth</c>-784; loss
/// reconstruction + β·KL(q(z|x) ‖ N(0, I)) per image. Holds the model's config record, starting from the catalog's
/// defaults. Immutable: every With* returns a new builder.
/// </summary>
public sealed record VariationalAutoencoderBuilder
{
    private readonly GenerativeContext _context;

    internal VariationalAutoencoderBuilder(GenerativeContext context, int latentDim)
    {
        _context = context;
        Config = Copy(Spec.Defaults, latentDim: latentDim);
    }

    /// <summary>The catalog model this builder configures.</summary>
    internal static ModelSpec<VaeConfig> Spec => AutoencoderEntries.variational;

    /// <summary>The config record Build() validates and builds.</summary>
    internal VaeConfig Config { get; private init; }

    /// <summary>Dimension of the latent space.</summary>
    public int LatentDim => Config.LatentDim;

    /// <summary>Width of the hidden layers (default 400).</summary>
    public int HiddenWidth => Config.HiddenWidth;

    /// <summary>The weight β of the KL term (default 1: the ELBO; β &gt; 1 is a β-VAE).</summary>
    public double Beta => Config.Beta;

    /// <summary>The likelihood (default Gaussian on [-1, 1] images; Bernoulli trains on [0, 1] images).</summary>
    public VaeLikelihood Likelihood => Config.Likelihood.Equals(LikelihoodModule.bernoulli) ? VaeLikelihood.Bernoulli : VaeLikelihood.Gaussian;

    /// <summary>Importance samples per test image of the IWAE negative log-likelihood estimate (default 50).</summary>
    public int ImportanceSamples => Config.IwaeSamples;

    /// <summary>The optimiser (default Adam, lr 1e-3).</summary>
    public Optimizer Optimizer => Optimizer.Of(Config.Optimizer);

    /// <summary>A copy with another latent dimension (checked by Build()).</summary>
    public VariationalAutoencoderBuilder WithLatentDim(int latentDim) => this with { Config = Copy(Config, latentDim: latentDim) };

    /// <summary>A copy with another hidden width (checked by Build()).</summary>
    public VariationalAutoencoderBuilder WithHiddenWidth(int hiddenWidth) => this with { Config = Copy(Config, hiddenWidth: hiddenWidth) };

    /// <summary>A copy with another weight on the KL term (checked by Build()).</summary>
    public VariationalAutoencoderBuilder WithBeta(double beta) => this with { Config = Copy(Config, beta: beta) };

    /// <summary>A copy with another likelihood (it also sets the images' normalisation: see <see cref="VaeLikelihood"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="likelihood"/> is not a <see cref="VaeLikelihood"/>;
    /// ParamName is "likelihood", the setting key.</exception>
    public VariationalAutoencoderBuilder WithLikelihood(VaeLikelihood likelihood)
    {
        var core = likelihood switch
        {
            VaeLikelihood.Gaussian => LikelihoodModule.gaussian,
            VaeLikelihood.Bernoulli => LikelihoodModule.bernoulli,
            _ => throw new ArgumentException($"likelihood: expected Gaussian or Bernoulli but got {likelihood}.", nameof(likelihood)),
        };
        return this with { Config = Copy(Config, likelihood: core) };
    }

    /// <summary>A copy with another number of importance samples for the test NLL estimate (checked by Build()).</summary>
    public VariationalAutoencoderBuilder WithImportanceSamples(int samples) => this with { Config = Copy(Config, iwaeSamples: samples) };

    /// <summary>The number format of the training passes (<see cref="Precision.Float32"/> unless set).</summary>
    public Precision Precision => Config.Precision.ToPrecision();

    /// <summary>
    /// A copy that trains in another number format (<c>--set precision=bf16</c>): <see cref="Precision.BFloat16"/>
    /// runs the linear layers of encoder and decoder in bfloat16 and keeps the weights, the optimiser and the loss in 32-bit floats.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="precision"/> is not a defined value (ParamName "precision").</exception>
    public VariationalAutoencoderBuilder WithPrecision(Precision precision) =>
        this with { Config = Copy(Config, precision: precision.ToTrainingPrecision()) };

    /// <summary>A copy with another optimiser.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    public VariationalAutoencoderBuilder WithOptimizer(Optimizer optimizer) =>
        this with { Config = Copy(Config, optimizer: (optimizer ?? throw new ArgumentNullException(nameof(optimizer))).Spec) };

    /// <summary>Validates the config and creates the model, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A value out of range; ParamName is the setting key, as <c>--set</c> and
    /// run.json name it (e.g. "latent-dim", "hidden-width", "beta", "iwae-samples").</exception>
    public VariationalAutoencoderModel Build()
    {
        // The likelihood fixes the output activation, hence the range of the images the model is trained on.
        var normalization = Likelihood == VaeLikelihood.Bernoulli ? ImageNormalization.ZeroToOne : ModelFactory.DefaultNormalization(Spec);
        return ModelFactory.Build(_context, Spec, Config, normalization,
                                  (ctx, id, s, n, m) => new VariationalAutoencoderModel(ctx, id, s, n, m));
    }

    // F# records are immutable: a copy with the given fields replaced, the others kept.
    private static VaeConfig Copy(VaeConfig c, int? hiddenWidth = null, int? latentDim = null, Generative.Likelihood? likelihood = null,
                                  double? beta = null, OptimizerSpec? optimizer = null, int? iwaeSamples = null,
                                  Generative.TrainingPrecision? precision = null) =>
        new(c.InputShape, hiddenWidth ?? c.HiddenWidth, latentDim ?? c.LatentDim, likelihood ?? c.Likelihood,
            beta ?? c.Beta, optimizer ?? c.Optimizer, iwaeSamples ?? c.IwaeSamples, precision ?? c.Precision);
}
