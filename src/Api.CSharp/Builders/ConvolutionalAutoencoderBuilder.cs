namespace Generative.CSharp;

/// <summary>
/// Builds AE-CONV for 28x28 images: Conv(1, hidden, 3, stride 3) ReLU MaxPool(2) Conv(hidden, code, 3, stride 2) ReLU
/// MaxPool(2, stride 1) to a [code, 2, 2] code; transposed convolutions back; Tanh out; MSE summed per image; Adam lr
/// 1e-3 with weight decay 1e-5; [-1, 1] images. Immutable: every With* returns a new builder.
/// </summary>
public sealed record ConvolutionalAutoencoderBuilder
{
    private readonly GenerativeContext _context;

    internal ConvolutionalAutoencoderBuilder(GenerativeContext context) => _context = context;

    /// <summary>Channels after the first convolution (default 16).</summary>
    public int HiddenChannels { get; private init; } = 16;

    /// <summary>Channels of the [channels, 2, 2] code (default 8, a 32-d code).</summary>
    public int CodeChannels { get; private init; } = 8;

    /// <summary>The optimiser (default Adam lr 1e-3, weight decay 1e-5).</summary>
    public Optimizer Optimizer { get; private init; } = Optimizer.Adam(weightDecay: 1e-5);

    /// <summary>A copy with another channel count after the first convolution.</summary>
    public ConvolutionalAutoencoderBuilder WithHiddenChannels(int channels) => this with { HiddenChannels = channels };

    /// <summary>A copy with another channel count of the code.</summary>
    public ConvolutionalAutoencoderBuilder WithCodeChannels(int channels) => this with { CodeChannels = channels };

    /// <summary>A copy with another optimiser.</summary>
    public ConvolutionalAutoencoderBuilder WithOptimizer(Optimizer optimizer) =>
        this with { Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer)) };

    /// <summary>Validates the settings and creates the model, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A setting out of range; ParamName names it.</exception>
    public AutoencoderModel Build()
    {
        Settings.Positive(HiddenChannels, "hiddenChannels", "a positive channel count");
        Settings.Positive(CodeChannels, "codeChannels", "a positive channel count");
        var settings = new List<(string Key, string Value)>
        {
            ("hidden-channels", Settings.Int(HiddenChannels)),
            ("code-channels", Settings.Int(CodeChannels)),
            ("optimizer", Optimizer.ToString()),
        };
        return ModelFactory.Build(_context, "ae-conv", settings, Normalization.MinusOneToOne,
                                  (ctx, id, s, n, m) => new AutoencoderModel(ctx, id, s, n, m));
    }
}
