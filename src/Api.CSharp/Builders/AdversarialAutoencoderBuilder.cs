namespace Generative.CSharp;

/// <summary>
/// Builds an adversarial autoencoder (<c>AdversarialAutoencoderEntries</c>; Makhzani et al. 2015): encoder
/// 784-<c>HiddenWidth</c>-<c>HiddenWidth</c>-<c>CodeSize</c>, decoder back to 784 with a sigmoid output, and a
/// discriminator <c>CodeSize</c>-<c>DiscriminatorWidth</c>-<c>DiscriminatorWidth</c>-1 that pushes the codes towards a
/// <see cref="CodePrior"/>; every training step runs the source's three phases (reconstruction, discriminator,
/// encoder as a generator). AAE-U (<c>aae</c>) is unsupervised; AAE-S (<c>aae-s</c>) also gives the decoder the one-hot
/// label, so the code holds only the style. Holds the model's config record, starting from the catalog's preset.
/// Immutable: every With* returns a new builder.
/// <para>
/// Each value is checked where it is set, by the library's rule (<c>Aae.validate</c>); the two rules that tie settings
/// together (an even code size for a mixture prior, <see cref="TieLabelsToPrior"/> needing a Gaussian prior or one
/// mixture component per class) are checked by <see cref="Build"/>, so the order of the With* calls does not matter.
/// </para>
/// </summary>
public sealed record AdversarialAutoencoderBuilder
{
    private readonly GenerativeContext _context;

    internal AdversarialAutoencoderBuilder(GenerativeContext context, ModelSpec<AaeConfig> spec)
        : this(context, spec, spec.Defaults) { }

    internal AdversarialAutoencoderBuilder(GenerativeContext context, ModelSpec<AaeConfig> spec, AaeConfig config)
    {
        _context = context;
        Spec = spec;
        Config = config;
    }

    /// <summary>The catalog model this builder configures.</summary>
    internal ModelSpec<AaeConfig> Spec { get; }

    /// <summary>The config record Build() validates and builds.</summary>
    internal AaeConfig Config { get; private init; }

    /// <summary>The catalog id: "aae" (unsupervised) or "aae-s" (supervised).</summary>
    public string ModelId => Spec.Id;

    /// <summary>True for AAE-S: the decoder takes the one-hot label beside the code.</summary>
    public bool IsSupervised => Config.Supervised;

    /// <summary>Size of the code (default 10). Setting key "code-size".</summary>
    public int CodeSize => Config.CodeSize;

    /// <summary>Width of the encoder's and the decoder's two hidden layers (default 392). Setting key "hidden-width".</summary>
    public int HiddenWidth => Config.HiddenWidth;

    /// <summary>Width of the discriminator's two hidden layers (default 1500). Setting key "discriminator-width".</summary>
    public int DiscriminatorWidth => Config.DiscriminatorWidth;

    /// <summary>Dropout probability after every hidden layer of the three networks (default 0.2). Setting key "dropout".</summary>
    public double Dropout => Config.Dropout;

    /// <summary>What the codes are matched to (default N(0, 5² I), the source's). Setting key "prior".</summary>
    public CodePrior Prior => CodePrior.Of(Config.Prior);

    /// <summary>
    /// Whether the discriminator also sees each code's label and the prior draws each "real" code given that label:
    /// from the label's mixture component (the paper's Figure 4), or from the same Gaussian for every label, so that
    /// codes carrying the label are told apart (default false for AAE-U and the source's AAE-S; true for the library's
    /// AAE-S, whose codes then lose the digit). Setting key "tie-labels".
    /// </summary>
    public bool TieLabelsToPrior => Config.TieLabelsToPrior;

    /// <summary>
    /// Whether the discriminator ends in a linear layer and its losses are BCE on logits (true: the library's AAE-S)
    /// rather than a sigmoid and BCE on probabilities (false: the source, and AAE-U's default). The same losses; on
    /// probabilities the gradient vanishes once the discriminator is certain. Setting key "d-output".
    /// </summary>
    public bool DiscriminatorOnLogits => Config.DiscriminatorOutput.IsScore;

    /// <summary>With tied labels: the share of training images whose label the discriminator sees (default 1; below 1
    /// the run is semi-supervised). Setting key "labelled-fraction".</summary>
    public double LabelledFraction => Config.LabelledFraction;

    /// <summary>Whether training codes are drawn from a Gaussian the encoder outputs (true) or are the encoder's output
    /// itself (false, the source). Setting key "encoder".</summary>
    public bool GaussianEncoder => Config.Encoder.IsGaussian;

    /// <summary>Multiplies the encoder's adversarial loss in phase 3 (default 1). Setting key "adversarial-weight".</summary>
    public double AdversarialWeight => Config.AdversarialWeight;

    /// <summary>Phase 1's optimiser, of encoder and decoder (default Adam, lr 1e-3). Setting key "optimizer".</summary>
    public Optimizer ReconstructionOptimizer => Optimizer.Of(Config.ReconstructionOptimizer);

    /// <summary>Phase 2's optimiser, of the discriminator (default Adam, lr 1e-3). Setting key "d-optimizer".</summary>
    public Optimizer DiscriminatorOptimizer => Optimizer.Of(Config.DiscriminatorOptimizer);

    /// <summary>Phase 3's optimiser, of the encoder as a generator (default Adam, lr 1e-4 as in the source for AAE-U, and
    /// 1e-3 for AAE-S: see docs/models.md). Setting key "g-optimizer".</summary>
    public Optimizer GeneratorOptimizer => Optimizer.Of(Config.GeneratorOptimizer);

    /// <summary>
    /// Fraction of the training split held out to measure every phase's loss after each epoch (default 0.1; 0 = none).
    /// Setting key "validation".
    /// </summary>
    public double ValidationFraction => Config.Validation;

    /// <summary>A copy with another code size.</summary>
    /// <exception cref="ArgumentException">Below 1 or above 1,000,000; ParamName is "code-size". An odd size with a
    /// mixture prior is reported by Build().</exception>
    public AdversarialAutoencoderBuilder WithCodeSize(int codeSize) => Edit(Copy(Config, codeSize: codeSize));

    /// <summary>A copy with another width of the encoder's and decoder's hidden layers.</summary>
    /// <exception cref="ArgumentException">Below 1 or above 1,000,000; ParamName is "hidden-width".</exception>
    public AdversarialAutoencoderBuilder WithHiddenWidth(int width) => Edit(Copy(Config, hiddenWidth: width));

    /// <summary>A copy with another width of the discriminator's hidden layers.</summary>
    /// <exception cref="ArgumentException">Below 1 or above 1,000,000; ParamName is "discriminator-width".</exception>
    public AdversarialAutoencoderBuilder WithDiscriminatorWidth(int width) => Edit(Copy(Config, discriminatorWidth: width));

    /// <summary>A copy with another dropout probability (0 turns dropout off).</summary>
    /// <exception cref="ArgumentException">Outside [0, 1); ParamName is "dropout".</exception>
    public AdversarialAutoencoderBuilder WithDropout(double probability) => Edit(Copy(Config, dropout: probability));

    /// <summary>A copy with another prior, e.g. <c>CodePrior.Mixture()</c> (a mixture needs an even code size,
    /// checked by Build()).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="prior"/> is null.</exception>
    public AdversarialAutoencoderBuilder WithPrior(CodePrior prior) =>
        Edit(Copy(Config, prior: (prior ?? throw new ArgumentNullException(nameof(prior))).Core));

    /// <summary>
    /// A copy that ties (or unties) the labels to the prior: the discriminator sees each code's label and the prior
    /// draws each "real" code given that label (see <see cref="TieLabelsToPrior"/>). Needs a Gaussian prior or a
    /// mixture prior with one component per class, checked by Build() (ParamName "tie-labels").
    /// </summary>
    public AdversarialAutoencoderBuilder WithTieLabelsToPrior(bool tie = true) => Edit(Copy(Config, tieLabels: tie));

    /// <summary>A copy in which only this share of the training images shows its label to the discriminator
    /// (semi-supervised; needs tied labels and the unsupervised AAE, which Build() checks).</summary>
    /// <exception cref="ArgumentException">Not in (0, 1]; ParamName is "labelled-fraction".</exception>
    public AdversarialAutoencoderBuilder WithLabelledFraction(double fraction) => Edit(Copy(Config, labelledFraction: fraction));

    /// <summary>A copy whose training codes are drawn from a Gaussian the encoder outputs (a mean and a variance per
    /// code dimension), or, with false, are the encoder's output itself (the source).</summary>
    public AdversarialAutoencoderBuilder WithGaussianEncoder(bool gaussian = true) =>
        Edit(Copy(Config, encoder: gaussian ? AaeEncoder.Gaussian : AaeEncoder.Deterministic));

    /// <summary>A copy with another weight on the encoder's adversarial loss (0 trains a plain autoencoder beside the
    /// discriminator).</summary>
    /// <exception cref="ArgumentException">Negative, NaN or infinite; ParamName is "adversarial-weight".</exception>
    public AdversarialAutoencoderBuilder WithAdversarialWeight(double weight) => Edit(Copy(Config, adversarialWeight: weight));

    /// <summary>A copy whose discriminator outputs logits (true) or probabilities (false); see
    /// <see cref="DiscriminatorOnLogits"/>.</summary>
    public AdversarialAutoencoderBuilder WithDiscriminatorOnLogits(bool logits = true) =>
        Edit(Copy(Config, discriminatorOutput: logits ? Generative.DiscriminatorOutput.Score : Generative.DiscriminatorOutput.Probability));

    /// <summary>A copy with another optimiser of phase 1 (encoder and decoder, against the reconstruction loss).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    public AdversarialAutoencoderBuilder WithReconstructionOptimizer(Optimizer optimizer) =>
        Edit(Copy(Config, reconstructionOptimizer: (optimizer ?? throw new ArgumentNullException(nameof(optimizer))).Spec));

    /// <summary>A copy with another optimiser of phase 2 (the discriminator).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    public AdversarialAutoencoderBuilder WithDiscriminatorOptimizer(Optimizer optimizer) =>
        Edit(Copy(Config, discriminatorOptimizer: (optimizer ?? throw new ArgumentNullException(nameof(optimizer))).Spec));

    /// <summary>A copy with another optimiser of phase 3 (the encoder, fooling the discriminator).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    public AdversarialAutoencoderBuilder WithGeneratorOptimizer(Optimizer optimizer) =>
        Edit(Copy(Config, generatorOptimizer: (optimizer ?? throw new ArgumentNullException(nameof(optimizer))).Spec));

    /// <summary>A copy holding out another fraction of the training split for the per-epoch validation losses (0: none).</summary>
    /// <exception cref="ArgumentException">Outside [0, 1); ParamName is "validation".</exception>
    public AdversarialAutoencoderBuilder WithValidation(double fraction) => Edit(Copy(Config, validation: fraction));

    /// <summary>The number format of the training passes (<see cref="Precision.Float32"/> unless set).</summary>
    public Precision Precision => Config.Precision.ToPrecision();

    /// <summary>
    /// A copy that trains in another number format (<c>--set precision=bf16</c>): <see cref="Precision.BFloat16"/>
    /// runs the linear layers of the three networks in bfloat16 and keeps the weights, the optimisers and the loss in 32-bit floats.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="precision"/> is not a defined value (ParamName "precision").</exception>
    public AdversarialAutoencoderBuilder WithPrecision(Precision precision) => Edit(Copy(Config, precision: precision.ToTrainingPrecision()));

    /// <summary>Validates the config and creates the model, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">Settings that do not go together; ParamName is the setting key, as
    /// <c>--set</c> and run.json name it: "code-size" (an odd code size with a mixture prior) or "tie-labels" (tied
    /// labels without a mixture of one component per class).</exception>
    public AdversarialAutoencoderModel Build() =>
        ModelFactory.Build(_context, Spec, Config, ModelFactory.DefaultNormalization(Spec),
                           (ctx, id, s, n, m) => new AdversarialAutoencoderModel(ctx, id, s, n, m));

    // The edited config after the library's check of its values, with the rules that tie two settings together left to
    // Build(): the prior (checked when it was made) is set aside for a Gaussian, labels are untied, and the labelled
    // share (checked alone here) is set aside for 1.
    private AdversarialAutoencoderBuilder Edit(AaeConfig config)
    {
        if (!(config.LabelledFraction > 0.0 && config.LabelledFraction <= 1.0))
            throw new ArgumentException(
                $"labelled-fraction: expected a share of the training images in (0, 1] but got {config.LabelledFraction}.", "labelled-fraction");
        AaeModule.validate(Copy(config, prior: LatentPriorModule.source, tieLabels: false, labelledFraction: 1.0));
        return this with { Config = config };
    }

    // F# records are immutable: a copy with the given fields replaced, the others kept.
    private static AaeConfig Copy(AaeConfig c, int? hiddenWidth = null, int? codeSize = null, int? discriminatorWidth = null,
                                  double? dropout = null, Generative.LatentPrior? prior = null, bool? tieLabels = null,
                                  double? labelledFraction = null, AaeEncoder? encoder = null,
                                  OptimizerSpec? reconstructionOptimizer = null, OptimizerSpec? discriminatorOptimizer = null,
                                  OptimizerSpec? generatorOptimizer = null, double? adversarialWeight = null, double? validation = null,
                                  Generative.DiscriminatorOutput? discriminatorOutput = null,
                                  Generative.TrainingPrecision? precision = null) =>
        new(c.InputShape, hiddenWidth ?? c.HiddenWidth, codeSize ?? c.CodeSize, discriminatorWidth ?? c.DiscriminatorWidth,
            dropout ?? c.Dropout, encoder ?? c.Encoder, c.Supervised, c.Classes, prior ?? c.Prior, tieLabels ?? c.TieLabelsToPrior,
            labelledFraction ?? c.LabelledFraction, c.Loss,
            reconstructionOptimizer ?? c.ReconstructionOptimizer, discriminatorOptimizer ?? c.DiscriminatorOptimizer,
            generatorOptimizer ?? c.GeneratorOptimizer, adversarialWeight ?? c.AdversarialWeight, validation ?? c.Validation,
            discriminatorOutput ?? c.DiscriminatorOutput, precision ?? c.Precision);
}
