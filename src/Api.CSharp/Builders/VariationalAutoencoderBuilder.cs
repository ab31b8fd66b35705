namespace Generative.CSharp;

/// <summary>The decoder's likelihood p(x | z) of a variational autoencoder.</summary>
public enum Likelihood
{
    /// <summary>Gaussian of variance ½ around a Tanh output (the source's summed squared error), on [-1, 1] images.</summary>
    Gaussian,
    /// <summary>Bernoulli around a Sigmoid output (binary cross-entropy), on [0, 1] images.</summary>
    Bernoulli,
}

/// <summary>
/// Builds a VAE (Kingma &amp; Welling 2014): encoder 784-<c>HiddenWidth</c> ReLU with μ and log σ² heads of size
/// <c>LatentDim</c>, z = μ + ε·σ, decoder <c>LatentDim</c>-<c>HiddenWidth</c>-784; loss reconstruction + β·KL(q(z|x) ‖ N(0, I))
/// per image. Immutable: every With* returns a new builder.
/// </summary>
public sealed record VariationalAutoencoderBuilder
{
    private readonly GenerativeContext _context;

    internal VariationalAutoencoderBuilder(GenerativeContext context, int latentDim)
    {
        _context = context;
        LatentDim = latentDim;
    }

    /// <summary>Dimension of the latent space.</summary>
    public int LatentDim { get; private init; }

    /// <summary>Width of the hidden layers (default 400).</summary>
    public int HiddenWidth { get; private init; } = 400;

    /// <summary>The weight β of the KL term (default 1: the ELBO; β &gt; 1 is a β-VAE).</summary>
    public double Beta { get; private init; } = 1.0;

    /// <summary>The likelihood (default Gaussian on [-1, 1] images; Bernoulli trains on [0, 1] images).</summary>
    public Likelihood Likelihood { get; private init; } = Likelihood.Gaussian;

    /// <summary>Importance samples per test image of the IWAE negative log-likelihood estimate (default 50).</summary>
    public int ImportanceSamples { get; private init; } = 50;

    /// <summary>The optimiser (default Adam, lr 1e-3).</summary>
    public Optimizer Optimizer { get; private init; } = Optimizer.Adam();

    /// <summary>A copy with another latent dimension.</summary>
    public VariationalAutoencoderBuilder WithLatentDim(int latentDim) => this with { LatentDim = latentDim };

    /// <summary>A copy with another hidden width.</summary>
    public VariationalAutoencoderBuilder WithHiddenWidth(int hiddenWidth) => this with { HiddenWidth = hiddenWidth };

    /// <summary>A copy with another weight on the KL term.</summary>
    public VariationalAutoencoderBuilder WithBeta(double beta) => this with { Beta = beta };

    /// <summary>A copy with another likelihood (it also sets the images' normalisation: see <see cref="Likelihood"/>).</summary>
    public VariationalAutoencoderBuilder WithLikelihood(Likelihood likelihood) => this with { Likelihood = likelihood };

    /// <summary>A copy with another number of importance samples for the test NLL estimate.</summary>
    public VariationalAutoencoderBuilder WithImportanceSamples(int samples) => this with { ImportanceSamples = samples };

    /// <summary>A copy with another optimiser.</summary>
    public VariationalAutoencoderBuilder WithOptimizer(Optimizer optimizer) =>
        this with { Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer)) };

    /// <summary>Validates the settings and creates the model, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A setting out of range; ParamName names it.</exception>
    public VariationalAutoencoderModel Build()
    {
        Settings.Positive(LatentDim, "latentDim", "a positive latent dimension");
        Settings.Positive(HiddenWidth, "hiddenWidth", "a positive width");
        Settings.Positive(ImportanceSamples, "importanceSamples", "a positive number of samples");
        if (!(Beta >= 0) || double.IsInfinity(Beta))
            throw new ArgumentException($"beta: expected a finite weight >= 0 but got {Beta}.", "beta");
        var (likelihood, normalization) = Likelihood switch
        {
            Likelihood.Gaussian => ("gaussian", Normalization.MinusOneToOne),
            Likelihood.Bernoulli => ("bernoulli", Normalization.ZeroToOne),
            _ => throw new ArgumentException($"likelihood: expected Gaussian or Bernoulli but got {Likelihood}.", "likelihood"),
        };
        var settings = new List<(string Key, string Value)>
        {
            ("hidden-width", Settings.Int(HiddenWidth)),
            ("latent-dim", Settings.Int(LatentDim)),
            ("likelihood", likelihood),
            ("beta", Settings.Number(Beta)),
            ("iwae-samples", Settings.Int(ImportanceSamples)),
            ("optimizer", Optimizer.ToString()),
        };
        return ModelFactory.Build(_context, "vae", settings, normalization,
                                  (ctx, id, s, n, m) => new VariationalAutoencoderModel(ctx, id, s, n, m));
    }
}
