namespace Generative.CSharp;

/// <summary>
/// Builds AE-CONV (<c>AutoencoderEntries.convolutional</c>) for 28x28 images: Conv(1, hidden, 3, stride 3) ReLU
/// MaxPool(2) Conv(hidden, code, 3, stride 2) ReLU MaxPool(2, stride 1) to a [code, 2, 2] code; transposed convolutions
/// back; Tanh out; MSE summed per image; Adam lr 1e-3 with weight decay 1e-5; [-1, 1] images. Holds the model's config
/// record, starting from the catalog's defaults. Immutable: every With* returns a new builder.
/// </summary>
public sealed record ConvolutionalAutoencoderBuilder
{
    private readonly GenerativeContext _context;

    internal ConvolutionalAutoencoderBuilder(GenerativeContext context) => _context = context;

    /// <summary>The catalog model this builder configures.</summary>
    internal static ModelSpec<ConvAutoencoderConfig> Spec => AutoencoderEntries.convolutional;

    /// <summary>The config record Build() validates and builds.</summary>
    internal ConvAutoencoderConfig Config { get; private init; } = Spec.Defaults;

    /// <summary>Channels after the first convolution (default 16).</summary>
    public int HiddenChannels => Config.HiddenChannels;

    /// <summary>Channels of the [channels, 2, 2] code (default 8, a 32-d code).</summary>
    public int CodeChannels => Config.CodeChannels;

    /// <summary>The optimiser (default Adam lr 1e-3, weight decay 1e-5).</summary>
    public Optimizer Optimizer => Optimizer.Of(Config.Optimizer);

    /// <summary>A copy with another channel count after the first convolution (checked by Build()).</summary>
    public ConvolutionalAutoencoderBuilder WithHiddenChannels(int channels) => this with { Config = Config.With(hiddenChannels: channels) };

    /// <summary>A copy with another channel count of the code (checked by Build()).</summary>
    public ConvolutionalAutoencoderBuilder WithCodeChannels(int channels) => this with { Config = Config.With(codeChannels: channels) };

    /// <summary>The number format of the training passes (<see cref="Precision.Float32"/> unless set).</summary>
    public Precision Precision => Config.Precision.ToPrecision();

    /// <summary>A copy with another optimiser.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    public ConvolutionalAutoencoderBuilder WithOptimizer(Optimizer optimizer) =>
        this with { Config = Config.With(optimizer: (optimizer ?? throw new ArgumentNullException(nameof(optimizer))).Spec) };

    /// <summary>
    /// A copy that trains in another number format (<c>--set precision=bf16</c>): <see cref="Precision.BFloat16"/>
    /// runs the convolution layers in bfloat16 and keeps the weights, the optimiser and the loss in 32-bit floats.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="precision"/> is not a defined value (ParamName "precision").</exception>
    public ConvolutionalAutoencoderBuilder WithPrecision(Precision precision) => this with { Config = Config.With(precision: precision.ToTrainingPrecision()) };

    /// <summary>Validates the config and creates the model, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A value out of range; ParamName is the setting key, as <c>--set</c> and
    /// run.json name it (e.g. "hidden-channels", "code-channels").</exception>
    public AutoencoderModel Build() =>
        ModelFactory.Build(_context, Spec, Config, ModelFactory.DefaultNormalization(Spec),
                           (ctx, id, s, n, m) => new AutoencoderModel(ctx, id, s, n, m));
}
