using System.Globalization;

namespace Generative.CSharp;

/// <summary>
/// What every GAN builder shares. Immutable: every With* returns a new builder. Settings left unset keep the
/// variant's own values from the source (seed-models.md).
/// </summary>
/// <typeparam name="TSelf">The concrete builder, returned by every With*.</typeparam>
public abstract record GanBuilder<TSelf> where TSelf : GanBuilder<TSelf>
{
    private protected GanBuilder(GenerativeContext context) => Context = context;

    private protected GenerativeContext Context { get; }

    /// <summary>Size of the noise vector z; null keeps the variant's.</summary>
    public int? LatentSize { get; private init; }

    /// <summary>The noise distribution; null keeps the variant's.</summary>
    public GanNoise? Noise { get; private init; }

    /// <summary>The objective; null keeps the variant's.</summary>
    public GanLoss? Loss { get; private init; }

    /// <summary>Discriminator updates per generator update; null keeps 1.</summary>
    public int? DiscriminatorSteps { get; private init; }

    /// <summary>The generator's optimiser; null keeps the variant's.</summary>
    public Optimizer? GeneratorOptimizer { get; private init; }

    /// <summary>The discriminator's optimiser; null keeps the variant's.</summary>
    public Optimizer? DiscriminatorOptimizer { get; private init; }

    /// <summary>Probability of flipping each real image horizontally; null keeps the variant's.</summary>
    public double? FlipProbability { get; private init; }

    /// <summary>A copy with another noise size.</summary>
    public TSelf WithLatentSize(int latentSize) => (TSelf)(this with { LatentSize = latentSize });

    /// <summary>A copy with another noise distribution.</summary>
    public TSelf WithNoise(GanNoise noise) => (TSelf)(this with { Noise = noise });

    /// <summary>A copy with another objective, e.g. <c>GanLoss.LeastSquares</c>.</summary>
    public TSelf WithLoss(GanLoss loss) =>
        (TSelf)(this with { Loss = loss ?? throw new ArgumentNullException(nameof(loss)) });

    /// <summary>A copy with k discriminator updates per generator update.</summary>
    public TSelf WithDiscriminatorSteps(int steps) => (TSelf)(this with { DiscriminatorSteps = steps });

    /// <summary>A copy with other optimisers (one per network).</summary>
    public TSelf WithOptimizers(Optimizer generator, Optimizer discriminator) =>
        (TSelf)(this with
        {
            GeneratorOptimizer = generator ?? throw new ArgumentNullException(nameof(generator)),
            DiscriminatorOptimizer = discriminator ?? throw new ArgumentNullException(nameof(discriminator)),
        });

    /// <summary>A copy that flips real images horizontally with this probability (0 turns it off).</summary>
    public TSelf WithRandomFlip(double probability) => (TSelf)(this with { FlipProbability = probability });

    /// <summary>The catalog id of the model this builder makes.</summary>
    private protected abstract string ModelId { get; }

    /// <summary>Settings specific to the variant (e.g. the MLP variant letter).</summary>
    private protected virtual IEnumerable<(string Key, string Value)> VariantSettings() => [];

    /// <summary>Validates the settings and creates the GAN, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A setting out of range, or a loss the discriminator cannot use; ParamName names it.</exception>
    public GanModel Build()
    {
        if (LatentSize is < 1)
            throw new ArgumentException($"latentSize: expected a positive size but got {LatentSize}.", "latentSize");
        if (DiscriminatorSteps is < 1)
            throw new ArgumentException($"discriminatorSteps: expected at least 1 but got {DiscriminatorSteps}.", "discriminatorSteps");
        if (FlipProbability is { } p && !(p >= 0 && p <= 1))
            throw new ArgumentException($"flipProbability: expected a probability in [0, 1] but got {p}.", "flipProbability");
        var settings = new List<(string Key, string Value)>(VariantSettings());
        var inv = CultureInfo.InvariantCulture;
        if (LatentSize is { } z) settings.Add(("latent-size", z.ToString(inv)));
        if (Noise is { } n) settings.Add(("noise", n == GanNoise.Normal ? "normal" : "uniform"));
        if (Loss is { } loss) settings.Add(("loss", loss.Name));
        if (DiscriminatorSteps is { } k) settings.Add(("d-steps", k.ToString(inv)));
        if (GeneratorOptimizer is { } g) settings.Add(("g-optimizer", g.ToString()));
        if (DiscriminatorOptimizer is { } d) settings.Add(("d-optimizer", d.ToString()));
        if (FlipProbability is { } f) settings.Add(("flip", f.ToString("R", inv)));
        return ModelFactory.Build(Context, ModelId, settings, Normalization.MinusOneToOne,
                                  (ctx, id, s, norm, m) => new GanModel(ctx, id, s, norm, m));
    }
}

/// <summary>GAN-MLP-A, -B or -C (<see cref="MlpGanVariant"/>): fully connected generator and discriminator.</summary>
public sealed record MlpGanBuilder : GanBuilder<MlpGanBuilder>
{
    internal MlpGanBuilder(GenerativeContext context) : base(context) { }

    /// <summary>Which source network (default A).</summary>
    public MlpGanVariant Variant { get; private init; } = MlpGanVariant.A;

    /// <summary>A copy with another variant; unset settings follow it.</summary>
    public MlpGanBuilder WithVariant(MlpGanVariant variant) =>
        Enum.IsDefined(variant)
            ? this with { Variant = variant }
            : throw new ArgumentException($"variant: expected A, B or C but got {variant}.", nameof(variant));

    private protected override string ModelId => "gan-mlp";

    private protected override IEnumerable<(string Key, string Value)> VariantSettings() =>
        [("variant", Variant.ToString().ToLowerInvariant())];
}

/// <summary>LSGAN: GAN-MLP-C's networks trained with the least-squares loss.</summary>
public sealed record LeastSquaresGanBuilder : GanBuilder<LeastSquaresGanBuilder>
{
    internal LeastSquaresGanBuilder(GenerativeContext context) : base(context) { }
    private protected override string ModelId => "lsgan";
}

/// <summary>DCGAN-A: convolutional discriminator with max pooling, generator with batch norm and transposed convolutions.</summary>
public sealed record DcganBuilder : GanBuilder<DcganBuilder>
{
    internal DcganBuilder(GenerativeContext context) : base(context) { }
    private protected override string ModelId => "dcgan";
}

/// <summary>DCGAN-B: the Keras cookbook's tanh DCGAN (upsampling generator, SGD with Nesterov momentum).</summary>
public sealed record KerasDcganBuilder : GanBuilder<KerasDcganBuilder>
{
    internal KerasDcganBuilder(GenerativeContext context) : base(context) { }
    private protected override string ModelId => "dcgan-keras";
}

/// <summary>The GANs, each as a typed builder: <c>ctx.Gans.Dcgan().WithLoss(GanLoss.LeastSquares).Build()</c>.</summary>
public sealed class GanCatalog
{
    private readonly GenerativeContext _context;

    internal GanCatalog(GenerativeContext context) => _context = context;

    /// <summary>GAN-MLP-A (default), -B or -C.</summary>
    public MlpGanBuilder Mlp() => new(_context);

    /// <summary>LSGAN.</summary>
    public LeastSquaresGanBuilder LeastSquares() => new(_context);

    /// <summary>DCGAN-A.</summary>
    public DcganBuilder Dcgan() => new(_context);

    /// <summary>DCGAN-B (Keras style).</summary>
    public KerasDcganBuilder KerasDcgan() => new(_context);
}
