namespace Generative.CSharp;

/// <summary>How a denoising autoencoder's input is corrupted. Create with <see cref="Gaussian"/> or <see cref="Masking"/>.</summary>
public sealed class Noise
{
    private Noise(string setting, string description)
    {
        Setting = setting;
        _description = description;
    }

    private readonly string _description;

    internal string Setting { get; }

    /// <summary>Adds Gaussian noise of standard deviation <paramref name="std"/> (in [0, 1] pixel units) to every pixel.</summary>
    /// <exception cref="ArgumentException"><paramref name="std"/> is negative or not finite; ParamName is "std".</exception>
    public static Noise Gaussian(double std = 0.5)
    {
        if (!(std >= 0) || double.IsInfinity(std))
            throw new ArgumentException($"std: expected a finite standard deviation >= 0 but got {std}.", nameof(std));
        return new Noise("gaussian:" + Settings.Number(std), $"Gaussian noise (std {std})");
    }

    /// <summary>Sets each pixel to 0 (blank) independently with probability <paramref name="probability"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="probability"/> is outside [0, 1); ParamName is "probability".</exception>
    public static Noise Masking(double probability = 0.5)
    {
        if (!(probability >= 0 && probability < 1))
            throw new ArgumentException($"probability: expected a probability in [0, 1) but got {probability}.", nameof(probability));
        return new Noise("masking:" + Settings.Number(probability), $"masking noise (probability {probability})");
    }

    /// <summary>A description such as "Gaussian noise (std 0.5)".</summary>
    public override string ToString() => _description;
}

/// <summary>The network a denoising autoencoder trains.</summary>
public enum DenoisingNetwork
{
    /// <summary>AE-LIN's 784-128-784 (ReLU) network: keeps the strokes (the default).</summary>
    Linear,
    /// <summary>AE-DEEP's 784-128-64-36-18-9 network (Sigmoid out).</summary>
    Deep,
    /// <summary>AE-CONV's convolutional network (Tanh out).</summary>
    Convolutional,
}

/// <summary>
/// Builds AE-DENOISE: an autoencoder trained on [0, 1] images corrupted by a <see cref="CSharp.Noise"/> each step, with
/// the clean images as targets. Immutable: every With* returns a new builder.
/// </summary>
public sealed record DenoisingAutoencoderBuilder
{
    private readonly GenerativeContext _context;

    internal DenoisingAutoencoderBuilder(GenerativeContext context, Noise noise)
    {
        _context = context;
        Noise = noise;
    }

    /// <summary>The corruption applied to the input while training.</summary>
    public Noise Noise { get; private init; }

    /// <summary>The network (default <see cref="DenoisingNetwork.Linear"/>).</summary>
    public DenoisingNetwork Network { get; private init; } = DenoisingNetwork.Linear;

    /// <summary>The optimiser (default Adam, lr 1e-3).</summary>
    public Optimizer Optimizer { get; private init; } = Optimizer.Adam();

    /// <summary>A copy with another corruption.</summary>
    public DenoisingAutoencoderBuilder WithNoise(Noise noise) => this with { Noise = noise ?? throw new ArgumentNullException(nameof(noise)) };

    /// <summary>A copy training another network.</summary>
    public DenoisingAutoencoderBuilder WithNetwork(DenoisingNetwork network) => this with { Network = network };

    /// <summary>A copy with another optimiser.</summary>
    public DenoisingAutoencoderBuilder WithOptimizer(Optimizer optimizer) =>
        this with { Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer)) };

    /// <summary>Validates the settings and creates the model, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A setting out of range; ParamName names it.</exception>
    public AutoencoderModel Build()
    {
        var network = Network switch
        {
            DenoisingNetwork.Linear => "linear",
            DenoisingNetwork.Deep => "deep",
            DenoisingNetwork.Convolutional => "conv",
            _ => throw new ArgumentException($"network: expected Linear, Deep or Convolutional but got {Network}.", "network"),
        };
        var settings = new List<(string Key, string Value)>
        {
            ("network", network),
            ("noise", Noise.Setting),
            ("optimizer", Optimizer.ToString()),
        };
        return ModelFactory.Build(_context, "ae-denoise", settings, Normalization.ZeroToOne,
                                  (ctx, id, s, n, m) => new AutoencoderModel(ctx, id, s, n, m));
    }
}
