namespace Generative.CSharp;

/// <summary>
/// Builds one of the LSTM language models of <see cref="TextGeneratorCatalog"/> (LM-LSTM, <c>LanguageModelEntries</c>):
/// token embedding, stacked LSTM with dropout between layers, dropout, linear output layer; trained by truncated
/// backpropagation through time on chunks of <see cref="SequenceLength"/> tokens with the state carried across
/// chunks, cross-entropy of the next token, gradient clipping. Holds the model's config record, starting from the
/// catalog's defaults. Immutable: every With* returns a new builder; values are checked by <see cref="Build"/>.
/// </summary>
public sealed record TextGeneratorBuilder
{
    private readonly GenerativeContext _context;

    internal TextGeneratorBuilder(GenerativeContext context, ModelSpec<LanguageModelConfig> spec)
    {
        _context = context;
        Spec = spec;
        Config = spec.Defaults;
    }

    /// <summary>The catalog model this builder configures.</summary>
    internal ModelSpec<LanguageModelConfig> Spec { get; }

    /// <summary>The config record Build() validates, fits to its corpus and builds.</summary>
    internal LanguageModelConfig Config { get; private init; }

    /// <summary>The catalog id: "char-lstm" or "word-lstm".</summary>
    public string ModelId => Spec.Id;

    /// <summary>Width of each LSTM layer's state (default 256). Setting key "hidden".</summary>
    public int HiddenSize => Config.Hidden;

    /// <summary>Stacked LSTM layers (default 2). Setting key "layers".</summary>
    public int Layers => Config.Layers;

    /// <summary>Width of the token embedding (default 128 for characters, 256 for words). Setting key "embedding".</summary>
    public int EmbeddingSize => Config.Embedding;

    /// <summary>Dropout between LSTM layers and before the output layer (default 0.2 for characters, 0.3 for words).
    /// Setting key "dropout".</summary>
    public double Dropout => Config.Dropout;

    /// <summary>Tokens per chunk of truncated backpropagation through time (default 100 for characters, 35 for words).
    /// Setting key "sequence-length".</summary>
    public int SequenceLength => Config.SequenceLength;

    /// <summary>Whether the output layer reuses the embedding matrix (default: for words); needs
    /// <see cref="EmbeddingSize"/> = <see cref="HiddenSize"/>. Setting key "tie-weights".</summary>
    public bool TieWeights => Config.TieWeights;

    /// <summary>Whether words are lower-cased before they are counted and looked up (word level; default: for words).
    /// Setting key "lower-case".</summary>
    public bool LowerCase => Config.LowerCase;

    /// <summary>Words seen fewer times in the training text become the unknown token (word level; default 3).
    /// Setting key "min-count".</summary>
    public int MinCount => Config.MinCount;

    /// <summary>At most this many tokens, the unknown one included (0: no limit; default 10,000 for words). Setting key
    /// "max-vocabulary".</summary>
    public int MaxVocabulary => Config.MaxVocabulary;

    /// <summary>The optimiser (default Adam, lr 2e-3).</summary>
    public Optimizer Optimizer => Optimizer.Of(Config.Optimizer);

    /// <summary>Gradients are rescaled when their global L2 norm exceeds this (0: no clipping; default 5). Setting key
    /// "clip-norm".</summary>
    public double ClipNorm => Config.ClipNorm;

    /// <summary>The learning rate halves every this many steps (0: constant; default 1,000). Setting key
    /// "lr-half-life".</summary>
    public int LearningRateHalfLife => Config.LearningRateHalfLife;

    /// <summary>The number format of the training passes (default <see cref="Precision.Float32"/>). Setting key
    /// "precision".</summary>
    public Precision Precision => Config.Precision.ToPrecision();

    /// <summary>Decay of the moving average of the weights that validation, test metrics and generation use (0: off,
    /// the default). Setting key "ema".</summary>
    public double EmaDecay => Config.EmaDecay;

    /// <summary>A copy with another LSTM width.</summary>
    public TextGeneratorBuilder WithHiddenSize(int size) => this with { Config = Copy(Config, hidden: size) };

    /// <summary>A copy with another number of stacked LSTM layers.</summary>
    public TextGeneratorBuilder WithLayers(int layers) => this with { Config = Copy(Config, layers: layers) };

    /// <summary>A copy with another embedding width.</summary>
    public TextGeneratorBuilder WithEmbeddingSize(int size) => this with { Config = Copy(Config, embedding: size) };

    /// <summary>A copy with another dropout probability.</summary>
    public TextGeneratorBuilder WithDropout(double probability) => this with { Config = Copy(Config, dropout: probability) };

    /// <summary>A copy with another chunk length of truncated backpropagation through time.</summary>
    public TextGeneratorBuilder WithSequenceLength(int tokens) => this with { Config = Copy(Config, sequenceLength: tokens) };

    /// <summary>A copy that ties (or unties) the output layer's weights to the embedding.</summary>
    public TextGeneratorBuilder WithTieWeights(bool tie) => this with { Config = Copy(Config, tieWeights: tie) };

    /// <summary>A copy that lower-cases words (or not) before counting and looking them up (word level).</summary>
    public TextGeneratorBuilder WithLowerCase(bool lowerCase) => this with { Config = Copy(Config, lowerCase: lowerCase) };

    /// <summary>A copy with another minimum count of a word in the training text (word level).</summary>
    public TextGeneratorBuilder WithMinCount(int count) => this with { Config = Copy(Config, minCount: count) };

    /// <summary>A copy with another vocabulary size limit (0: none).</summary>
    public TextGeneratorBuilder WithMaxVocabulary(int tokens) => this with { Config = Copy(Config, maxVocabulary: tokens) };

    /// <summary>A copy with another optimiser.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    public TextGeneratorBuilder WithOptimizer(Optimizer optimizer) =>
        this with { Config = Copy(Config, optimizer: (optimizer ?? throw new ArgumentNullException(nameof(optimizer))).Spec) };

    /// <summary>A copy with another gradient-norm limit (0: no clipping).</summary>
    public TextGeneratorBuilder WithClipNorm(double norm) => this with { Config = Copy(Config, clipNorm: norm) };

    /// <summary>A copy whose learning rate halves every <paramref name="steps"/> steps (0: constant).</summary>
    public TextGeneratorBuilder WithLearningRateHalfLife(int steps) => this with { Config = Copy(Config, learningRateHalfLife: steps) };

    /// <summary>
    /// A copy that keeps an exponential moving average of the weights with this decay, updated after every step, and
    /// validates, measures and generates with it (<c>--set ema=0.999</c>; 0 turns it off; checked by Build(): ParamName
    /// "ema"). Pick a decay whose horizon 1/(1 - decay) is well below the run's steps.
    /// </summary>
    public TextGeneratorBuilder WithEma(double decay) => this with { Config = Copy(Config, emaDecay: decay) };

    /// <summary>A copy that trains in another number format: <see cref="Precision.BFloat16"/> runs the forward and
    /// backward passes in bfloat16 and keeps the weights, the optimiser and the loss in 32-bit floats.</summary>
    /// <exception cref="ArgumentException"><paramref name="precision"/> is not a defined value (ParamName
    /// "precision").</exception>
    public TextGeneratorBuilder WithPrecision(Precision precision) =>
        this with { Config = Copy(Config, precision: precision.ToTrainingPrecision()) };

    /// <summary>
    /// Validates the config, builds the vocabulary from the training part of <paramref name="corpus"/> as a new
    /// <c>generative train</c> run does (the catalog model's <c>FitToData</c>), and creates the model, its weights
    /// seeded by the context. The vocabulary becomes part of the model's settings.
    /// </summary>
    /// <param name="corpus">The text whose training part gives the vocabulary (usually the one the model will be
    /// trained on: characters or words it does not hold become the unknown token).</param>
    /// <exception cref="ArgumentNullException"><paramref name="corpus"/> is null.</exception>
    /// <exception cref="ArgumentException">A value out of range; ParamName is the setting key, as <c>--set</c> and
    /// run.json name it: "hidden", "layers", "embedding", "dropout", "tie-weights", "sequence-length", "min-count",
    /// "max-vocabulary", "clip-norm", "lr-half-life", "ema"; "vocabulary" when the training part leaves no token besides the
    /// unknown one.</exception>
    public TextGeneratorModel Build(TextData corpus)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        // The settings are checked before the vocabulary is counted, so a bad value is named before any work is done.
        Spec.Validate.Invoke(Config);
        var fitted = Spec.FitToData.Value.Invoke(corpus.RunData).Invoke(Config);
        return ModelFactory.Build(_context, Spec, fitted,
                                  (ctx, id, settings, model) => new TextGeneratorModel(ctx, id, settings, model, fitted.Vocabulary.Value));
    }

    // F# records are immutable: a copy with the given fields replaced, the others kept.
    private static LanguageModelConfig Copy(LanguageModelConfig c, bool? lowerCase = null, int? minCount = null, int? maxVocabulary = null,
                                            int? embedding = null, int? hidden = null, int? layers = null, double? dropout = null,
                                            bool? tieWeights = null, int? sequenceLength = null, OptimizerSpec? optimizer = null,
                                            double? clipNorm = null, int? learningRateHalfLife = null,
                                            Generative.TrainingPrecision? precision = null, double? emaDecay = null) =>
        new(c.Level, lowerCase ?? c.LowerCase, minCount ?? c.MinCount, maxVocabulary ?? c.MaxVocabulary, embedding ?? c.Embedding,
            hidden ?? c.Hidden, layers ?? c.Layers, dropout ?? c.Dropout, tieWeights ?? c.TieWeights, sequenceLength ?? c.SequenceLength,
            optimizer ?? c.Optimizer, clipNorm ?? c.ClipNorm, learningRateHalfLife ?? c.LearningRateHalfLife, precision ?? c.Precision,
            emaDecay ?? c.EmaDecay, c.Vocabulary);
}
