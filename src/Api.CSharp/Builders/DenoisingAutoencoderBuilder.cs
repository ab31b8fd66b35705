namespace Generative.CSharp;

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
/// Builds AE-DENOISE (<c>AutoencoderEntries.denoising</c>): an autoencoder trained on [0, 1] images corrupted by a
/// <see cref="CSharp.Noise"/> each step, with the clean images as targets. Holds the model's config record, starting
/// from the catalog's defaults. Immutable: every With* returns a new builder.
/// </summary>
public sealed record DenoisingAutoencoderBuilder
{
    private readonly GenerativeContext _context;

    internal DenoisingAutoencoderBuilder(GenerativeContext context, Noise noise)
    {
        _context = context;
        Config = new DenoisingConfig(Spec.Defaults.Network, noise.Core);
    }

    /// <summary>The catalog model this builder configures.</summary>
    internal static ModelSpec<DenoisingConfig> Spec => AutoencoderEntries.denoising;

    /// <summary>The config record Build() validates and builds.</summary>
    internal DenoisingConfig Config { get; private init; }

    /// <summary>The corruption applied to the input while training.</summary>
    public Noise Noise => Noise.Of(Config.Corruption);

    /// <summary>The network (default <see cref="DenoisingNetwork.Linear"/>).</summary>
    public DenoisingNetwork Network => DenoisingAutoencoderModule.networkName(Config.Network) switch
    {
        "deep" => DenoisingNetwork.Deep,
        "conv" => DenoisingNetwork.Convolutional,
        _ => DenoisingNetwork.Linear,
    };

    /// <summary>The optimiser: the one given to <see cref="WithOptimizer(Optimizer)"/>, else the network preset's (Adam, lr 1e-3;
    /// AE-DEEP's adds weight decay 1e-6, AE-CONV's 1e-5), as with <c>--set network=...</c>.</summary>
    public Optimizer Optimizer => Optimizer.Of(OptimizerOf(Config.Network));

    /// <summary>The optimiser given to <see cref="WithOptimizer(Optimizer)"/>, kept across <see cref="WithNetwork"/>; null: the preset's.</summary>
    private OptimizerSpec? ChosenOptimizer { get; init; }

    /// <summary>A copy with another corruption.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="noise"/> is null.</exception>
    public DenoisingAutoencoderBuilder WithNoise(Noise noise) =>
        this with { Config = new DenoisingConfig(Config.Network, (noise ?? throw new ArgumentNullException(nameof(noise))).Core) };

    /// <summary>
    /// A copy training another network: the library's preset of that name (<c>DenoisingAutoencoder.network</c>) with its
    /// optimiser, or the one given to <see cref="WithOptimizer(Optimizer)"/> (in either order), as <c>--set network=...</c> does.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="network"/> is not a <see cref="DenoisingNetwork"/>; ParamName is
    /// "network", the setting key.</exception>
    public DenoisingAutoencoderBuilder WithNetwork(DenoisingNetwork network)
    {
        // The library's presets themselves (those `--set network=linear|deep|conv` picks), not their names.
        var preset = network switch
        {
            DenoisingNetwork.Linear => Generative.DenoiserNetwork.NewFullyConnected(AutoencoderModule.linear),
            DenoisingNetwork.Deep => Generative.DenoiserNetwork.NewFullyConnected(AutoencoderModule.deep),
            DenoisingNetwork.Convolutional => Generative.DenoiserNetwork.NewConvolutional(ConvAutoencoderModule.source),
            _ => throw new ArgumentException($"network: expected Linear, Deep or Convolutional but got {network}.", nameof(network)),
        };
        var chosen = ChosenOptimizer is null ? preset : WithOptimizer(preset, ChosenOptimizer);
        // The precision is the builder's, whichever network it trains.
        var kept = WithPrecision(chosen, PrecisionOf(Config.Network));
        return this with { Config = new DenoisingConfig(kept, Config.Corruption) };
    }

    /// <summary>The number format of the training passes (<see cref="Precision.Float32"/> unless set).</summary>
    public Precision Precision => PrecisionOf(Config.Network).ToPrecision();

    /// <summary>
    /// A copy that trains in another number format (<c>--set precision=bf16</c>): <see cref="Precision.BFloat16"/>
    /// runs the network's linear or convolution layers in bfloat16 and keeps the weights, the optimiser and the loss in 32-bit floats.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="precision"/> is not a defined value (ParamName "precision").</exception>
    public DenoisingAutoencoderBuilder WithPrecision(Precision precision) =>
        this with { Config = new DenoisingConfig(WithPrecision(Config.Network, precision.ToTrainingPrecision()), Config.Corruption) };

    /// <summary>A copy with another optimiser.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    public DenoisingAutoencoderBuilder WithOptimizer(Optimizer optimizer)
    {
        var spec = (optimizer ?? throw new ArgumentNullException(nameof(optimizer))).Spec;
        return this with { ChosenOptimizer = spec, Config = new DenoisingConfig(WithOptimizer(Config.Network, spec), Config.Corruption) };
    }

    /// <summary>Validates the config and creates the model, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A value out of range; ParamName is the setting key, as <c>--set</c> and
    /// run.json name it (the optimiser's fields and the noise's "std" and "probability" are named as
    /// <see cref="CSharp.Optimizer"/> and <see cref="CSharp.Noise"/> name them).</exception>
    public AutoencoderModel Build() =>
        ModelFactory.Build(_context, Spec, Config, ModelFactory.DefaultNormalization(Spec),
                           (ctx, id, s, n, m) => new AutoencoderModel(ctx, id, s, n, m));

    private static OptimizerSpec OptimizerOf(Generative.DenoiserNetwork network) => network switch
    {
        Generative.DenoiserNetwork.FullyConnected f => f.Item.Optimizer,
        Generative.DenoiserNetwork.Convolutional c => c.Item.Optimizer,
        _ => throw new InvalidOperationException($"unknown denoising network {network}"),
    };

    private static Generative.TrainingPrecision PrecisionOf(Generative.DenoiserNetwork network) => network switch
    {
        Generative.DenoiserNetwork.FullyConnected f => f.Item.Precision,
        Generative.DenoiserNetwork.Convolutional c => c.Item.Precision,
        _ => throw new InvalidOperationException($"unknown denoising network {network}"),
    };

    // F# records are immutable: a copy of the network's config with the precision replaced, the other fields kept.
    private static Generative.DenoiserNetwork WithPrecision(Generative.DenoiserNetwork network, Generative.TrainingPrecision p) => network switch
    {
        Generative.DenoiserNetwork.FullyConnected f => Generative.DenoiserNetwork.NewFullyConnected(f.Item.With(precision: p)),
        Generative.DenoiserNetwork.Convolutional c => Generative.DenoiserNetwork.NewConvolutional(c.Item.With(precision: p)),
        _ => throw new InvalidOperationException($"unknown denoising network {network}"),
    };

    // F# records are immutable: a copy of the network's config with the optimiser replaced, the other fields kept.
    private static Generative.DenoiserNetwork WithOptimizer(Generative.DenoiserNetwork network, OptimizerSpec o) => network switch
    {
        Generative.DenoiserNetwork.FullyConnected f => Generative.DenoiserNetwork.NewFullyConnected(f.Item.With(optimizer: o)),
        Generative.DenoiserNetwork.Convolutional c => Generative.DenoiserNetwork.NewConvolutional(c.Item.With(optimizer: o)),
        _ => throw new InvalidOperationException($"unknown denoising network {network}"),
    };
}
