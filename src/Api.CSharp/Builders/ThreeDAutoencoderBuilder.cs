namespace Generative.CSharp;

/// <summary>
/// Builds AE-3D (<c>AutoencoderEntries.threeD</c>): encoder 784-128-64-12-3, the mirror image back, ReLU between layers,
/// Tanh out, MSE summed per image. Its 3-d codes are meant to be plotted. Holds the model's config record, starting
/// from the catalog's defaults. Immutable: every With* returns a new builder.
/// </summary>
public sealed record ThreeDAutoencoderBuilder
{
    private readonly GenerativeContext _context;

    internal ThreeDAutoencoderBuilder(GenerativeContext context)
    {
        _context = context;
        Normalization = ModelFactory.DefaultNormalization(Spec);
    }

    /// <summary>The catalog model this builder configures.</summary>
    internal static ModelSpec<AutoencoderConfig> Spec => AutoencoderEntries.threeD;

    /// <summary>The config record Build() validates and builds.</summary>
    internal AutoencoderConfig Config { get; private init; } = Spec.Defaults;

    /// <summary>The optimiser (default Adam, lr 1e-3).</summary>
    public Optimizer Optimizer => Optimizer.Of(Config.Optimizer);

    /// <summary>
    /// The images' normalisation (default [-1, 1]). <see cref="ImageNormalization.MeanStd"/> is allowed, but MNIST's
    /// mean/std puts 14% of the pixels above 1, where Tanh cannot reach. Not part of the config record: it describes
    /// the data the model will be given.
    /// </summary>
    public ImageNormalization Normalization { get; private init; }

    /// <summary>The number format of the training passes (<see cref="Precision.Float32"/> unless set).</summary>
    public Precision Precision => Config.Precision.ToPrecision();

    /// <summary>A copy with another optimiser.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    public ThreeDAutoencoderBuilder WithOptimizer(Optimizer optimizer) =>
        this with { Config = Config.With(optimizer: (optimizer ?? throw new ArgumentNullException(nameof(optimizer))).Spec) };

    /// <summary>
    /// A copy that trains in another number format (<c>--set precision=bf16</c>): <see cref="Precision.BFloat16"/>
    /// runs the linear layers in bfloat16 and keeps the weights, the optimiser and the loss in 32-bit floats.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="precision"/> is not a defined value (ParamName "precision").</exception>
    public ThreeDAutoencoderBuilder WithPrecision(Precision precision) => this with { Config = Config.With(precision: precision.ToTrainingPrecision()) };

    /// <summary>A copy expecting images with another normalisation.</summary>
    public ThreeDAutoencoderBuilder WithNormalization(ImageNormalization normalization) => this with { Normalization = normalization };

    /// <summary>Validates the config and creates the model, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A value out of range; ParamName is the setting key, as <c>--set</c> and
    /// run.json name it; "normalization" for a value that is not a <see cref="ImageNormalization"/>.</exception>
    public AutoencoderModel Build()
    {
        if (!Enum.IsDefined(Normalization))
            throw new ArgumentException($"normalization: expected ZeroToOne, MinusOneToOne or MeanStd but got {Normalization}.", "normalization");
        return ModelFactory.Build(_context, Spec, Config, Normalization,
                                  (ctx, id, s, n, m) => new AutoencoderModel(ctx, id, s, n, m));
    }
}
