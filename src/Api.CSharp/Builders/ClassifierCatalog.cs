namespace Generative.CSharp;

/// <summary>
/// The Fashion-MNIST / MNIST classifiers, each as a typed builder:
/// <c>ctx.Classifiers.LeNet5().WithValidation(0.1, patience: 10).Build()</c>.
/// </summary>
public sealed class ClassifierCatalog
{
    private readonly GenerativeContext _context;

    internal ClassifierCatalog(GenerativeContext context) => _context = context;

    /// <summary>CLS-MLP: Flatten -> Dense(hidden) ReLU -> Dense 10, cross-entropy, Adam 1e-3, [0, 1] input.</summary>
    public ClassifierBuilder Mlp(int hiddenSize = 128)
    {
        if (hiddenSize < 1)
            throw new ArgumentException($"hiddenSize: expected a positive width but got {hiddenSize}.", nameof(hiddenSize));
        return new ClassifierBuilder(_context, "cls-mlp", Normalization.ZeroToOne)
            .With("architecture", "mlp:" + hiddenSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>CLS-LENET: LeNet-5 with tanh and max pooling, cross-entropy, Adam 1e-3, [0, 1] input.</summary>
    public ClassifierBuilder LeNet5() => new(_context, "cls-lenet", Normalization.ZeroToOne);

    /// <summary>cls-cnn: batch-normalised CNN with dropout and shift/flip augmentation, mean/std input.</summary>
    public ClassifierBuilder Cnn() => new(_context, "cls-cnn", Normalization.MeanStd);

    /// <summary>
    /// CLS-MOBILENET: frozen MobileNetV2 with torchvision's ImageNet weights (a safetensors file of
    /// <c>torchvision.models.mobilenet_v2(weights='IMAGENET1K_V1').state_dict()</c>), global average pooling and a
    /// new 10-class head; features are computed once per training run. [0, 1] input.
    /// </summary>
    public ClassifierBuilder MobileNetV2(string weightsPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(weightsPath);
        return new ClassifierBuilder(_context, "cls-mobilenet", Normalization.ZeroToOne).With("weights", weightsPath);
    }

    /// <summary>CLS-PYR: Gaussian-pyramid features and a one-vs-rest linear SVM (hinge loss, C = 1), [0, 1] input.</summary>
    public ClassifierBuilder PyramidSvm() => new(_context, "cls-pyr", Normalization.ZeroToOne);
}

/// <summary>
/// Builds one of the classifiers of <see cref="ClassifierCatalog"/>. Immutable: every With* returns a new builder.
/// </summary>
public sealed record ClassifierBuilder
{
    private readonly GenerativeContext _context;
    private readonly string _modelId;
    private readonly Normalization _normalization;
    private IReadOnlyList<(string Key, string Value)> ModelSettings { get; init; } = [];

    internal ClassifierBuilder(GenerativeContext context, string modelId, Normalization normalization)
    {
        _context = context;
        _modelId = modelId;
        _normalization = normalization;
    }

    internal ClassifierBuilder With(string key, string value) =>
        this with { ModelSettings = ModelSettings.Where(s => s.Key != key).Append((key, value)).ToList() };

    /// <summary>The optimiser (default Adam, lr 1e-3; CLS-PYR adds the SVM's weight decay 1/(C N)).</summary>
    public Optimizer? Optimizer { get; private init; }

    /// <summary>Fraction of the training split held out for validation (default 0.1; 0 = none).</summary>
    public double ValidationFraction { get; private init; } = 0.1;

    /// <summary>Epochs without a better validation accuracy before training stops (default 10; 0 = never).</summary>
    public int Patience { get; private init; } = 10;

    /// <summary>A copy with another optimiser.</summary>
    public ClassifierBuilder WithOptimizer(Optimizer optimizer) =>
        this with { Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer)) };

    /// <summary>A copy with another validation split (taken from the end of the training split) and patience.</summary>
    public ClassifierBuilder WithValidation(double fraction, int patience) =>
        this with { ValidationFraction = fraction, Patience = patience };

    /// <summary>Validates the settings and creates the model, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A setting out of range; ParamName names it.</exception>
    /// <exception cref="FileNotFoundException">MobileNetV2 weights not found (the message says how to export them).</exception>
    public ClassifierModel Build()
    {
        if (!(ValidationFraction >= 0.0 && ValidationFraction < 1.0))
            throw new ArgumentException($"validationFraction: expected a fraction in [0, 1) but got {ValidationFraction}.", "validationFraction");
        if (Patience < 0)
            throw new ArgumentException($"patience: expected 0 (never stop early) or a number of epochs but got {Patience}.", "patience");
        if (ValidationFraction == 0.0 && Patience > 0)
            throw new ArgumentException("patience: expected 0 when there is no validation split (early stopping needs one).", "patience");
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var settings = ModelSettings.ToList();
        settings.Add(("validation", ValidationFraction.ToString("R", inv)));
        settings.Add(("patience", Patience.ToString(inv)));
        if (Optimizer is not null) settings.Add(("optimizer", Optimizer.ToString()));
        return ModelFactory.Build(_context, _modelId, settings, _normalization,
                                  (ctx, id, s, n, m) => new ClassifierModel(ctx, id, s, n, m));
    }
}
