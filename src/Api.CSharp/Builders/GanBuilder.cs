using Microsoft.FSharp.Collections;
using System.Collections.Immutable;

namespace Generative.CSharp;

/// <summary>
/// What every GAN builder shares. Holds the model's config record, starting from the catalog's preset
/// (<c>GanEntries</c>). Immutable: every With* returns a new builder.
/// </summary>
/// <typeparam name="TSelf">The concrete builder, returned by every With*.</typeparam>
public abstract record GanBuilder<TSelf> where TSelf : GanBuilder<TSelf>
{
    private protected GanBuilder(GenerativeContext context, ModelSpec<GanConfig> spec)
    {
        Context = context;
        Spec = spec;
        Config = spec.Defaults;
    }

    private protected GenerativeContext Context { get; }

    /// <summary>The catalog model this builder configures.</summary>
    internal ModelSpec<GanConfig> Spec { get; }

    /// <summary>The config record Build() validates and builds.</summary>
    internal GanConfig Config { get; private protected init; }

    // The With* edits in order, so a builder that switches presets (GAN-MLP's variant) re-applies them to the new one:
    // what was set stays set, what was not follows the preset, whatever the order of the calls.
    private ImmutableList<Func<GanConfig, GanConfig>> Edits { get; init; } = [];

    /// <summary>Size of the noise vector z (the preset's unless set).</summary>
    public int LatentSize => Config.LatentSize;

    /// <summary>The noise distribution (the preset's unless set).</summary>
    public GanNoise Noise => Config.Noise.IsUniform ? GanNoise.Uniform : GanNoise.Normal;

    /// <summary>The objective (the preset's unless set).</summary>
    public AdversarialLoss Loss => AdversarialLoss.Of(Config.Loss);

    /// <summary>Discriminator updates per generator update (the preset's unless set: 1 in every source).</summary>
    public int DiscriminatorSteps => Config.DiscriminatorSteps;

    /// <summary>The generator's optimiser (the preset's unless set).</summary>
    public Optimizer GeneratorOptimizer => Optimizer.Of(Config.GeneratorOptimizer);

    /// <summary>The discriminator's optimiser (the preset's unless set).</summary>
    public Optimizer DiscriminatorOptimizer => Optimizer.Of(Config.DiscriminatorOptimizer);

    /// <summary>Probability of flipping each real image horizontally (the preset's unless set).</summary>
    public double FlipProbability => Config.FlipProbability;

    /// <summary>Decay of the moving average of the generator's weights that sampling and evaluation use (0: off, the preset's unless set).</summary>
    public double EmaDecay => Config.EmaDecay;

    /// <summary>Whether the discriminator's layers are spectrally normalised (off unless set).</summary>
    public bool SpectralNorm => Config.SpectralNorm;

    /// <summary>Weight γ of the R1 penalty on real images (0: off, unless set).</summary>
    public double R1Weight => Config.R1Weight;

    /// <summary>Whether the discriminator's output layer also sees the batch's standard deviation (off unless set).</summary>
    public bool MinibatchStddev => Config.MinibatchStddev;

    /// <summary>The number format of the training passes (<see cref="Precision.Float32"/> unless set).</summary>
    public Precision Precision => Config.Precision.ToPrecision();

    /// <summary>The differentiable augmentations of real and fake images before the discriminator (none unless set).</summary>
    public IReadOnlyList<DiffAugmentation> Augmentations =>
        [.. Config.Augmentations.Select(a => a.IsTranslation ? DiffAugmentation.Translation : DiffAugmentation.Cutout)];

    /// <summary>A copy with another noise size (checked by Build()).</summary>
    public TSelf WithLatentSize(int latentSize) => Edit(c => Copy(c, latentSize: latentSize));

    /// <summary>A copy with another noise distribution.</summary>
    /// <exception cref="ArgumentException"><paramref name="noise"/> is not a <see cref="GanNoise"/>; ParamName is "noise",
    /// the setting key.</exception>
    public TSelf WithNoise(GanNoise noise)
    {
        var core = noise switch
        {
            GanNoise.Normal => Generative.LatentNoise.Normal,
            GanNoise.Uniform => Generative.LatentNoise.Uniform,
            _ => throw new ArgumentException($"noise: expected Normal or Uniform but got {noise}.", nameof(noise)),
        };
        return Edit(c => Copy(c, noise: core));
    }

    /// <summary>A copy with another objective, e.g. <c>AdversarialLoss.LeastSquares</c> (checked against the discriminator by Build()).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="loss"/> is null.</exception>
    public TSelf WithLoss(AdversarialLoss loss)
    {
        var core = (loss ?? throw new ArgumentNullException(nameof(loss))).Core;
        return Edit(c => Copy(c, loss: core));
    }

    /// <summary>A copy with k discriminator updates per generator update (checked by Build()).</summary>
    public TSelf WithDiscriminatorSteps(int steps) => Edit(c => Copy(c, discriminatorSteps: steps));

    /// <summary>A copy with other optimisers (one per network).</summary>
    /// <exception cref="ArgumentNullException">An optimiser is null.</exception>
    public TSelf WithOptimizers(Optimizer generator, Optimizer discriminator)
    {
        var g = (generator ?? throw new ArgumentNullException(nameof(generator))).Spec;
        var d = (discriminator ?? throw new ArgumentNullException(nameof(discriminator))).Spec;
        return Edit(c => Copy(c, generatorOptimizer: g, discriminatorOptimizer: d));
    }

    /// <summary>A copy that flips real images horizontally with this probability (0 turns it off; checked by Build()).</summary>
    public TSelf WithRandomFlip(double probability) => Edit(c => Copy(c, flipProbability: probability));

    /// <summary>
    /// A copy whose sampling and evaluation use an exponential moving average of the generator's weights with this
    /// decay, e.g. 0.999 (<c>--set ema=0.999</c>; 0 turns it off; checked by Build(): ParamName "ema"). Beyond the sources.
    /// </summary>
    public TSelf WithEma(double decay) => Edit(c => Copy(c, emaDecay: decay));

    /// <summary>A copy with spectral normalisation of the discriminator's layers (<c>--set spectral-norm=true</c>). Beyond the sources.</summary>
    public TSelf WithSpectralNorm(bool enabled = true) => Edit(c => Copy(c, spectralNorm: enabled));

    /// <summary>
    /// A copy that adds the R1 penalty γ/2·E‖∇D(x)‖² on real images to the discriminator's loss (<c>--set r1=γ</c>; 0
    /// turns it off; checked by Build(): ParamName "r1"). Beyond the sources.
    /// </summary>
    public TSelf WithR1Penalty(double weight) => Edit(c => Copy(c, r1Weight: weight));

    /// <summary>
    /// A copy whose discriminator's output layer also sees the standard deviation of its batch (Karras et al., 2018), so
    /// a generator that collapses onto a few images loses (<c>--set minibatch-stddev=true</c>). Beyond the sources.
    /// </summary>
    public TSelf WithMinibatchStddev(bool enabled = true) => Edit(c => Copy(c, minibatchStddev: enabled));

    /// <summary>
    /// A copy that trains in another number format (<c>--set precision=bf16</c>): <see cref="Precision.BFloat16"/>
    /// runs the linear and convolution layers of both networks in bfloat16, and keeps the weights, the optimisers,
    /// batch norm and the losses in 32-bit floats. Beyond the sources.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="precision"/> is not a defined value (ParamName "precision").</exception>
    public TSelf WithPrecision(Precision precision)
    {
        var value = precision.ToTrainingPrecision();
        return Edit(c => Copy(c, precision: value));
    }

    /// <summary>
    /// A copy that applies these differentiable augmentations, in order, to real and fake images before the
    /// discriminator (<c>--set augment=translation,cutout</c>; none turns it off). Beyond the sources.
    /// </summary>
    /// <exception cref="ArgumentException">An augmentation is not a <see cref="DiffAugmentation"/>; ParamName is "augment".</exception>
    public TSelf WithDiffAugment(params DiffAugmentation[] augmentations)
    {
        ArgumentNullException.ThrowIfNull(augmentations);
        var core = augmentations.Select(a => a switch
        {
            DiffAugmentation.Translation => Generative.GanAugmentation.Translation,
            DiffAugmentation.Cutout => Generative.GanAugmentation.Cutout,
            _ => throw new ArgumentException($"augment: expected Translation or Cutout but got {a}.", "augment"),
        }).ToArray();
        return Edit(c => Copy(c, augmentations: ListModule.OfSeq(core)));
    }

    /// <summary>Validates the config and creates the GAN, its weights seeded by the context.</summary>
    /// <exception cref="ArgumentException">A value out of range, or a loss the discriminator cannot use; ParamName is the
    /// setting key, as <c>--set</c> and run.json name it (e.g. "latent-size", "d-steps", "flip", "loss").</exception>
    public GanModel Build() =>
        ModelFactory.Build(Context, Spec, Config, ModelFactory.DefaultNormalization(Spec),
                           (ctx, id, s, norm, m) => new GanModel(ctx, id, s, norm, m));

    /// <summary>The config of another preset with this builder's edits applied to it.</summary>
    private protected GanConfig Rebase(GanConfig preset) => Edits.Aggregate(preset, (c, edit) => edit(c));

    private TSelf Edit(Func<GanConfig, GanConfig> edit) => (TSelf)(this with { Config = edit(Config), Edits = Edits.Add(edit) });

    // F# records are immutable: a copy with the given fields replaced, the others kept.
    private static GanConfig Copy(GanConfig c, int? latentSize = null, Generative.LatentNoise? noise = null, Generative.GanLoss? loss = null,
                                  int? discriminatorSteps = null, OptimizerSpec? generatorOptimizer = null,
                                  OptimizerSpec? discriminatorOptimizer = null, double? flipProbability = null,
                                  double? emaDecay = null, bool? spectralNorm = null, double? r1Weight = null,
                                  FSharpList<Generative.GanAugmentation>? augmentations = null,
                                  bool? minibatchStddev = null, Generative.TrainingPrecision? precision = null) =>
        new(c.Architecture, latentSize ?? c.LatentSize, noise ?? c.Noise, c.HiddenWidth, c.Dropout, loss ?? c.Loss,
            c.DiscriminatorLossScale, discriminatorSteps ?? c.DiscriminatorSteps, generatorOptimizer ?? c.GeneratorOptimizer,
            discriminatorOptimizer ?? c.DiscriminatorOptimizer, flipProbability ?? c.FlipProbability,
            emaDecay ?? c.EmaDecay, spectralNorm ?? c.SpectralNorm, r1Weight ?? c.R1Weight, augmentations ?? c.Augmentations,
            minibatchStddev ?? c.MinibatchStddev, precision ?? c.Precision);
}
