using Microsoft.FSharp.Collections;

namespace Generative.CSharp;

/// <summary>
/// Builds AE-LIN (<c>AutoencoderEntries.linear</c>): Linear(784, hidden) -> ReLU -> Linear(hidden, 784) -> ReLU, trained
/// with MSE on [0, 1] images. Holds the model's config record, starting from the catalog's defaults. Immutable: every
/// With* returns a new builder.
/// </summary>
public sealed record LinearAutoencoderBuilder
{
    private readonly GenerativeContext _context;

    internal LinearAutoencoderBuilder(GenerativeContext context) => _context = context;

    /// <summary>The catalog model this builder configures.</summary>
    internal static ModelSpec<AutoencoderConfig> Spec => AutoencoderEntries.linear;

    /// <summary>The config record Build() validates and builds.</summary>
    internal AutoencoderConfig Config { get; private init; } = Spec.Defaults;

    /// <summary>Width of the code (default 128), the encoder's only layer.</summary>
    public int HiddenSize => ListModule.Last(Config.EncoderWidths);

    /// <summary>The optimiser (default Adam, lr 1e-3).</summary>
    public Optimizer Optimizer => Optimizer.Of(Config.Optimizer);

    /// <summary>A copy with another code width (checked by Build()).</summary>
    public LinearAutoencoderBuilder WithHiddenSize(int hiddenSize) =>
        this with { Config = Config.With(encoderWidths: FSharpList<int>.Cons(hiddenSize, FSharpList<int>.Empty)) };

    /// <summary>The number format of the training passes (<see cref="Precision.Float32"/> unless set).</summary>
    public Precision Precision => Config.Precision.ToPrecision();

    /// <summary>A copy with another optimiser.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    public LinearAutoencoderBuilder WithOptimizer(Optimizer optimizer) =>
        this with { Config = Config.With(optimizer: (optimizer ?? throw new ArgumentNullException(nameof(optimizer))).Spec) };

    /// <summary>
    /// A copy that trains in another number format (<c>--set precision=bf16</c>): <see cref="Precision.BFloat16"/>
    /// runs the linear layers in bfloat16 and keeps the weights, the optimiser and the loss in 32-bit floats.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="precision"/> is not a defined value (ParamName "precision").</exception>
    public LinearAutoencoderBuilder WithPrecision(Precision precision) => this with { Config = Config.With(precision: precision.ToTrainingPrecision()) };

    /// <summary>Validates the config and creates the model, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A value out of range; ParamName is the setting key, as <c>--set</c> and
    /// run.json name it (e.g. "encoder-widths" for the hidden size).</exception>
    public AutoencoderModel Build() =>
        ModelFactory.Build(_context, Spec, Config, ModelFactory.DefaultNormalization(Spec),
                           (ctx, id, s, n, m) => new AutoencoderModel(ctx, id, s, n, m));
}
