namespace Generative.CSharp;

/// <summary>
/// Builds AE-3D: encoder 784-128-64-12-3, the mirror image back, ReLU between layers, Tanh out, MSE summed per image.
/// Its 3-d codes are meant to be plotted. Immutable: every With* returns a new builder.
/// </summary>
public sealed record ThreeDAutoencoderBuilder
{
    private readonly GenerativeContext _context;

    internal ThreeDAutoencoderBuilder(GenerativeContext context) => _context = context;

    /// <summary>The optimiser (default Adam, lr 1e-3).</summary>
    public Optimizer Optimizer { get; private init; } = Optimizer.Adam();

    /// <summary>
    /// The images' normalisation (default [-1, 1]). <see cref="CSharp.Normalization.MeanStd"/> is allowed, but MNIST's
    /// mean/std puts 14% of the pixels above 1, where Tanh cannot reach.
    /// </summary>
    public Normalization Normalization { get; private init; } = Normalization.MinusOneToOne;

    /// <summary>A copy with another optimiser.</summary>
    public ThreeDAutoencoderBuilder WithOptimizer(Optimizer optimizer) =>
        this with { Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer)) };

    /// <summary>A copy expecting images with another normalisation.</summary>
    public ThreeDAutoencoderBuilder WithNormalization(Normalization normalization) => this with { Normalization = normalization };

    /// <summary>Validates the settings and creates the model, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A setting out of range; ParamName names it.</exception>
    public AutoencoderModel Build()
    {
        if (!Enum.IsDefined(Normalization))
            throw new ArgumentException($"normalization: expected ZeroToOne, MinusOneToOne or MeanStd but got {Normalization}.", "normalization");
        var settings = new List<(string Key, string Value)> { ("optimizer", Optimizer.ToString()) };
        return ModelFactory.Build(_context, "ae-3d", settings, Normalization,
                                  (ctx, id, s, n, m) => new AutoencoderModel(ctx, id, s, n, m));
    }
}
