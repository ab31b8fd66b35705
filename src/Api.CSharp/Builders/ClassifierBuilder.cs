namespace Generative.CSharp;

/// <summary>
/// Builds one of the classifiers of <see cref="ClassifierCatalog"/>. Holds the model's config record (the classifier's
/// config with its validation split and patience), starting from the catalog's defaults. Immutable: every With*
/// returns a new builder.
/// </summary>
public sealed record ClassifierBuilder
{
    private readonly GenerativeContext _context;

    internal ClassifierBuilder(GenerativeContext context, ModelSpec<ClassifierRunConfig> spec)
    {
        _context = context;
        Spec = spec;
        Config = spec.Defaults;
    }

    /// <summary>The catalog model this builder configures.</summary>
    internal ModelSpec<ClassifierRunConfig> Spec { get; }

    /// <summary>The config record Build() validates and builds.</summary>
    internal ClassifierRunConfig Config { get; private init; }

    /// <summary>The optimiser (default Adam, lr 1e-3; CLS-PYR adds the SVM's weight decay 1/(C N)).</summary>
    public Optimizer Optimizer => Optimizer.Of(Config.Model.Optimizer);

    /// <summary>Fraction of the training split held out for validation (default 0.1; 0 = none).</summary>
    public double ValidationFraction => Config.Validation;

    /// <summary>Epochs without a better validation accuracy before training stops (default 10; 0 = never).</summary>
    public int Patience => Config.Patience;

    /// <summary>The number format of the training passes (<see cref="Precision.Float32"/> unless set).</summary>
    public Precision Precision => Config.Model.Precision.ToPrecision();

    /// <summary>
    /// A copy that trains in another number format (<c>--set precision=bf16</c>): <see cref="Precision.BFloat16"/>
    /// runs the linear and convolution layers in bfloat16, and keeps the weights, the optimiser, batch norm and the
    /// loss in 32-bit floats.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="precision"/> is not a defined value (ParamName "precision").</exception>
    public ClassifierBuilder WithPrecision(Precision precision)
    {
        var value = precision.ToTrainingPrecision();
        return WithModel(m => Copy(m, precision: value));
    }

    /// <summary>A copy with another optimiser.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    public ClassifierBuilder WithOptimizer(Optimizer optimizer)
    {
        var spec = (optimizer ?? throw new ArgumentNullException(nameof(optimizer))).Spec;
        return WithModel(m => Copy(m, optimizer: spec));
    }

    /// <summary>
    /// A copy with another validation split (taken from the end of the training split) and patience (both checked by
    /// Build()).
    /// </summary>
    public ClassifierBuilder WithValidation(double fraction, int patience) =>
        this with { Config = new ClassifierRunConfig(Config.Model, fraction, patience) };

    /// <summary>Validates the config and creates the model, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A value out of range; ParamName is the setting key, as <c>--set</c> and
    /// run.json name it (e.g. "validation", "patience", "architecture", "weights").</exception>
    /// <exception cref="FileNotFoundException">MobileNetV2 weights not found (the message says how to export them).</exception>
    public ClassifierModel Build() =>
        ModelFactory.Build(_context, Spec, Config, ModelFactory.DefaultNormalization(Spec),
                           (ctx, id, s, n, m) => new ClassifierModel(ctx, id, s, n, m));

    /// <summary>A copy with the classifier's own config edited.</summary>
    internal ClassifierBuilder WithModel(Func<ClassifierConfig, ClassifierConfig> edit) =>
        this with { Config = new ClassifierRunConfig(edit(Config.Model), Config.Validation, Config.Patience) };

    // F# records are immutable: a copy with the given fields replaced, the others kept.
    internal static ClassifierConfig Copy(ClassifierConfig c, ClassifierArchitecture? architecture = null,
                                          OptimizerSpec? optimizer = null, string? weights = null,
                                          Generative.TrainingPrecision? precision = null) =>
        new(architecture ?? c.Architecture, c.Classes, c.Dropout, optimizer ?? c.Optimizer, c.Shift, c.Flip, c.Loss,
            c.LrHalfLife, weights ?? c.Weights, precision ?? c.Precision);
}
