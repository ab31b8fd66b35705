namespace Generative.CSharp;

/// <summary>
/// Builds AE-LIN: Linear(784, hidden) -> ReLU -> Linear(hidden, 784) -> ReLU, trained with MSE on [0, 1] images.
/// Immutable: every With* returns a new builder.
/// </summary>
public sealed record LinearAutoencoderBuilder
{
    private readonly GenerativeContext _context;

    internal LinearAutoencoderBuilder(GenerativeContext context) => _context = context;

    /// <summary>Width of the code (default 128).</summary>
    public int HiddenSize { get; private init; } = 128;

    /// <summary>The optimiser (default Adam, lr 1e-3).</summary>
    public Optimizer Optimizer { get; private init; } = Optimizer.Adam();

    /// <summary>A copy with another code width.</summary>
    public LinearAutoencoderBuilder WithHiddenSize(int hiddenSize) => this with { HiddenSize = hiddenSize };

    /// <summary>A copy with another optimiser.</summary>
    public LinearAutoencoderBuilder WithOptimizer(Optimizer optimizer) =>
        this with { Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer)) };

    /// <summary>Validates the settings and creates the model, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A setting out of range; ParamName names it.</exception>
    public AutoencoderModel Build()
    {
        if (HiddenSize < 1)
            throw new ArgumentException($"hiddenSize: expected a positive width but got {HiddenSize}.", "hiddenSize");
        var settings = new List<(string Key, string Value)>
        {
            ("encoder-widths", HiddenSize.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("optimizer", Optimizer.ToString()),
        };
        return ModelFactory.Build(_context, "ae-linear", settings, Normalization.ZeroToOne,
                                  (ctx, id, s, n, m) => new AutoencoderModel(ctx, id, s, n, m));
    }
}
