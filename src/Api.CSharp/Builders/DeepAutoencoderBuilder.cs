namespace Generative.CSharp;

/// <summary>
/// Builds AE-DEEP: encoder 784-128-64-36-18-<c>CodeSize</c>, the mirror image back, ReLU between layers, Sigmoid out,
/// MSE on [0, 1] images. Immutable: every With* returns a new builder.
/// </summary>
public sealed record DeepAutoencoderBuilder
{
    private readonly GenerativeContext _context;

    internal DeepAutoencoderBuilder(GenerativeContext context) => _context = context;

    /// <summary>Size of the code, the encoder's last layer (default 9).</summary>
    public int CodeSize { get; private init; } = 9;

    /// <summary>
    /// The optimiser (default Adam lr 1e-3, weight decay 1e-6). The source's Adam lr 0.1 (weight decay 1e-6) does not
    /// train this network but can be chosen with <c>Optimizer.Adam(lr: 0.1, weightDecay: 1e-6)</c>.
    /// </summary>
    public Optimizer Optimizer { get; private init; } = Optimizer.Adam(weightDecay: 1e-6);

    /// <summary>A copy with another code size.</summary>
    public DeepAutoencoderBuilder WithCodeSize(int codeSize) => this with { CodeSize = codeSize };

    /// <summary>A copy with another optimiser.</summary>
    public DeepAutoencoderBuilder WithOptimizer(Optimizer optimizer) =>
        this with { Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer)) };

    /// <summary>Validates the settings and creates the model, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A setting out of range; ParamName names it.</exception>
    public AutoencoderModel Build()
    {
        Settings.Positive(CodeSize, "codeSize", "a positive code size");
        var settings = new List<(string Key, string Value)>
        {
            ("encoder-widths", $"128,64,36,18,{Settings.Int(CodeSize)}"),
            ("optimizer", Optimizer.ToString()),
        };
        return ModelFactory.Build(_context, "ae-deep", settings, Normalization.ZeroToOne,
                                  (ctx, id, s, n, m) => new AutoencoderModel(ctx, id, s, n, m));
    }
}
