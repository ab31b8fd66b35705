using Microsoft.FSharp.Collections;

namespace Generative.CSharp;

/// <summary>
/// Builds AE-DEEP (<c>AutoencoderEntries.deep</c>): encoder 784-128-64-36-18-<c>CodeSize</c>, the mirror image back, ReLU
/// between layers, Sigmoid out, MSE on [0, 1] images. Holds the model's config record, starting from the catalog's
/// defaults. Immutable: every With* returns a new builder.
/// </summary>
public sealed record DeepAutoencoderBuilder
{
    private readonly GenerativeContext _context;

    internal DeepAutoencoderBuilder(GenerativeContext context) => _context = context;

    /// <summary>The catalog model this builder configures.</summary>
    internal static ModelSpec<AutoencoderConfig> Spec => AutoencoderEntries.deep;

    /// <summary>The config record Build() validates and builds.</summary>
    /// <remarks>Internal init: the tests substitute another preset to show the code size edits the record, not a copy
    /// of today's widths.</remarks>
    internal AutoencoderConfig Config { get; init; } = Spec.Defaults;

    /// <summary>Size of the code, the encoder's last layer (default 9).</summary>
    public int CodeSize => ListModule.Last(Config.EncoderWidths);

    /// <summary>
    /// The optimiser (default Adam lr 1e-3, weight decay 1e-6). The source's Adam lr 0.1 (weight decay 1e-6) does not
    /// train this network but can be chosen with <c>Optimizer.Adam(lr: 0.1, weightDecay: 1e-6)</c>.
    /// </summary>
    public Optimizer Optimizer => Optimizer.Of(Config.Optimizer);

    /// <summary>A copy with another code size: the last of the preset's encoder widths (checked by Build()).</summary>
    public DeepAutoencoderBuilder WithCodeSize(int codeSize)
    {
        // The layers before the code are the preset's, read from it so a change to the preset shows here.
        var widths = Config.EncoderWidths.Take(Config.EncoderWidths.Length - 1).Append(codeSize);
        return this with { Config = Config.With(encoderWidths: ListModule.OfSeq(widths)) };
    }

    /// <summary>The number format of the training passes (<see cref="Precision.Float32"/> unless set).</summary>
    public Precision Precision => Config.Precision.ToPrecision();

    /// <summary>A copy with another optimiser.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    public DeepAutoencoderBuilder WithOptimizer(Optimizer optimizer) =>
        this with { Config = Config.With(optimizer: (optimizer ?? throw new ArgumentNullException(nameof(optimizer))).Spec) };

    /// <summary>
    /// A copy that trains in another number format (<c>--set precision=bf16</c>): <see cref="Precision.BFloat16"/>
    /// runs the linear layers in bfloat16 and keeps the weights, the optimiser and the loss in 32-bit floats.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="precision"/> is not a defined value (ParamName "precision").</exception>
    public DeepAutoencoderBuilder WithPrecision(Precision precision) => this with { Config = Config.With(precision: precision.ToTrainingPrecision()) };

    /// <summary>Validates the config and creates the model, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A value out of range; ParamName is the setting key, as <c>--set</c> and
    /// run.json name it (e.g. "encoder-widths" for the code size).</exception>
    public AutoencoderModel Build() =>
        ModelFactory.Build(_context, Spec, Config, ModelFactory.DefaultNormalization(Spec),
                           (ctx, id, s, n, m) => new AutoencoderModel(ctx, id, s, n, m));
}
