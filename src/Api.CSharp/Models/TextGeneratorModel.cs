using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using TorchSharp;

namespace Generative.CSharp;

/// <summary>
/// A built (and possibly trained) LSTM language model: train it on a <see cref="TextData"/> with
/// <see cref="FitAsync"/>, then write text after a prompt with <see cref="Generate"/> or, piece by piece as it is
/// drawn, with <see cref="GenerateStreamAsync"/>. Not thread-safe: do not generate while it trains.
/// </summary>
public sealed class TextGeneratorModel : TrainableModel
{
    /// <summary>The file a text given as a string is copied to in its run folder.</summary>
    internal const string TextFileName = "text.txt";

    private readonly Vocabulary _vocabulary;

    internal TextGeneratorModel(GenerativeContext context, string modelId, IReadOnlyList<(string Key, string Value)> settings, RunModel model,
                                Vocabulary vocabulary)
        : base(context, modelId, settings, Catalog.find(modelId).Normalization, model)
    {
        _vocabulary = vocabulary;
    }

    /// <summary>Number of tokens the model knows, the unknown token included: characters for char-lstm, words,
    /// punctuation marks and the line break for word-lstm.</summary>
    public int VocabularySize => _vocabulary.Count;

    // The library's generator (LanguageModel.generate): each piece of text goes to `emit` as soon as it is drawn.
    private string RunGenerator(string prompt, int length, SamplingOptions sampling, torch.Generator generator, Action<string> emit,
                                CancellationToken cancellationToken) =>
        Model.Generate.Value.Invoke(prompt).Invoke(length).Invoke(sampling).Invoke(generator)
             .Invoke(FuncConvert.FromAction(emit)).Invoke(cancellationToken);

    /// <summary>
    /// Trains the model on <paramref name="data"/> into a run folder (checkpoints, metrics.csv and report.html with
    /// passages written after every epoch, test cross-entropy against unigram and bigram baselines), on a background
    /// thread, as <c>generative train --text FILE</c> does: the text's first 90% is trained on in consecutive chunks of
    /// the model's sequence length, the next 5% measured after every epoch ("val loss", "val bits"), the last 5% for
    /// the test metrics. The vocabulary stays the model's (built by <see cref="TextGeneratorBuilder.Build"/>).
    /// </summary>
    /// <param name="data">The text. A text given as a string is copied into the run folder as text.txt, which run.json
    /// names, so the run can be resumed with <c>generative train --resume</c>.</param>
    /// <param name="options">Epochs, batch size (rows of the text read side by side: each step takes
    /// <c>BatchSize</c> chunks of the sequence length) and folder; null takes the defaults.</param>
    /// <param name="progress">Receives a snapshot after every step (ExamplesPerSecond counts tokens).</param>
    /// <param name="cancellationToken">Stops training after the current step, or skips the test evaluation after it (within about a second); a checkpoint is saved first, and the
    /// returned task is cancelled.</param>
    /// <exception cref="ArgumentException">Bad options; ParamName names the field.</exception>
    /// <exception cref="NonFiniteLossException">The loss became NaN or infinite.</exception>
    /// <exception cref="InvalidOperationException">The model is already training (an earlier call has not finished).</exception>
    public Task<TrainingRun> FitAsync(TextData data, TrainingOptions? options = null, IProgress<TrainingProgress>? progress = null,
                                      CancellationToken cancellationToken = default) =>
        StartAsync(FitJobFor(data, options, progress, cancellationToken), cancellationToken);

    /// <summary><see cref="FitAsync"/> on the caller's thread: returns when training has ended.</summary>
    /// <inheritdoc cref="FitAsync" path="/param"/>
    /// <inheritdoc cref="FitAsync" path="/exception"/>
    public TrainingRun Fit(TextData data, TrainingOptions? options = null, IProgress<TrainingProgress>? progress = null,
                           CancellationToken cancellationToken = default) =>
        RunNow(FitJobFor(data, options, progress, cancellationToken), cancellationToken);

    /// <summary>
    /// Continues the run in <paramref name="runFolder"/> (made by <see cref="FitAsync"/> or <c>generative train</c> for
    /// a model of this id and settings) from its newest checkpoint, on a background thread, as
    /// <c>generative train --resume</c> does: a run cut in the middle of an epoch continues with the same chunk and
    /// hidden state.
    /// </summary>
    /// <param name="runFolder">The run folder.</param>
    /// <param name="data">The text the run trains on (the same as its first call's).</param>
    /// <param name="epochs">The run's new epoch count; null keeps its own length.</param>
    /// <param name="maxSteps">A new step budget instead, counted from the run's first step; null keeps its own length.</param>
    /// <param name="progress">Receives a snapshot after every step.</param>
    /// <param name="cancellationToken">Stops training after the current step, or skips the test evaluation after it (within about a second); a checkpoint is saved first.</param>
    /// <exception cref="ArgumentException">Both <paramref name="epochs"/> and <paramref name="maxSteps"/> given, a value
    /// below 1, or a run of another model or settings (ParamName "runFolder").</exception>
    /// <exception cref="FileNotFoundException">Not a run folder, or no checkpoint in it yet.</exception>
    /// <exception cref="InvalidOperationException">The model is already training.</exception>
    public Task<TrainingRun> ResumeAsync(string runFolder, TextData data, int? epochs = null, long? maxSteps = null,
                                         IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        StartAsync(ResumeJob(runFolder, (data ?? throw new ArgumentNullException(nameof(data))).RunData, epochs, maxSteps, progress, cancellationToken),
                   cancellationToken);

    /// <summary><see cref="ResumeAsync"/> on the caller's thread.</summary>
    /// <inheritdoc cref="ResumeAsync" path="/param"/>
    /// <inheritdoc cref="ResumeAsync" path="/exception"/>
    public TrainingRun Resume(string runFolder, TextData data, int? epochs = null, long? maxSteps = null,
                              IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        RunNow(ResumeJob(runFolder, (data ?? throw new ArgumentNullException(nameof(data))).RunData, epochs, maxSteps, progress, cancellationToken),
               cancellationToken);

    private Func<RunResult> FitJobFor(TextData data, TrainingOptions? options, IProgress<TrainingProgress>? progress,
                                      CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        ThrowIfDisposed();
        options ??= new TrainingOptions();
        options.Validate();
        return FitJob(() => Prepare(data, options), progress, cancellationToken);
    }

    // The run's settings and data: a file is named as it is; a string is first written into the run folder.
    private (Generative.RunSettings, RunData) Prepare(TextData data, TrainingOptions options)
    {
        if (data.FilePath is not null)
            return (RunSettingsFor(options, data.Name, data.FilePath, normalization: null, options.RunFolder), data.RunData);
        var folder = Generative.RunFolder.newFolder(RunSettingsFor(options, data.Name, textFile: null, normalization: null, options.RunFolder));
        Directory.CreateDirectory(folder);
        var file = Path.GetFullPath(Path.Combine(folder, TextFileName));
        var bytes = new UTF8Encoding(false).GetBytes(data.Text);
        File.WriteAllBytes(file, bytes);
        // The report lists the copy, with its checksum, as the file the run trained on.
        var files = ListModule.OfSeq(new[] { Tuple.Create(file, Datasets.sha256Hex(bytes)) });
        return (RunSettingsFor(options, data.Name, file, normalization: null, folder),
                RunData.NewTextData(new TextSource(data.Name, data.Text, files)));
    }

    /// <summary>
    /// Writes <paramref name="length"/> tokens after <paramref name="prompt"/> (greedy at temperature 0), in evaluation
    /// mode without gradients. The draws use a generator of their own, never libtorch's global one (training's).
    /// </summary>
    /// <param name="prompt">The text the model continues; its characters or words the vocabulary lacks become the
    /// unknown token. Empty: the model starts after a line break.</param>
    /// <param name="length">Tokens to write (characters for char-lstm; words, punctuation marks and line breaks for
    /// word-lstm).</param>
    /// <param name="options">Temperature, top-k, top-p and seed; null takes the defaults (temperature 0.8, a new
    /// seed).</param>
    /// <returns>The text written, without the prompt (at the word level with the spaces between words).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="prompt"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="length"/> is negative (ParamName "length"), or a bad option
    /// (ParamName "temperature", "top-k" or "top-p").</exception>
    public string Generate(string prompt, int length, GenerationOptions? options = null)
    {
        var (sampling, seed) = Checked(prompt, length, options);
        using var generator = new torch.Generator(seed);
        return RunGenerator(prompt, length, sampling, generator, _ => { }, CancellationToken.None);
    }

    /// <summary>
    /// Writes <paramref name="length"/> tokens after <paramref name="prompt"/> as <see cref="Generate"/> does (the same
    /// seed gives the same text), yielding each piece of text as soon as it is drawn: a character, or at the word level
    /// a word with the space before it. Generation runs on a background thread; cancelling
    /// <paramref name="cancellationToken"/>, or leaving the enumeration early, stops it.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="prompt"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="length"/> is negative (ParamName "length"), or a bad option
    /// (ParamName "temperature", "top-k" or "top-p"); thrown by this call, before any enumeration.</exception>
    /// <exception cref="OperationCanceledException">While enumerating, once <paramref name="cancellationToken"/> is
    /// cancelled.</exception>
    public IAsyncEnumerable<string> GenerateStreamAsync(string prompt, int length, GenerationOptions? options = null,
                                                        CancellationToken cancellationToken = default)
    {
        var (sampling, seed) = Checked(prompt, length, options);
        return Stream(prompt, length, sampling, seed, cancellationToken);
    }

    private async IAsyncEnumerable<string> Stream(string prompt, int length, SamplingOptions sampling, ulong seed,
                                                  [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var pieces = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        // Stops generation when the caller cancels or stops enumerating.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // A thread of its own: generation may run for minutes, and must not hold up the thread pool the reader's
        // continuations run on.
        var producer = Task.Factory.StartNew(() =>
        {
            try
            {
                using var generator = new torch.Generator(seed);
                RunGenerator(prompt, length, sampling, generator, piece => pieces.Writer.TryWrite(piece), stop.Token);
                pieces.Writer.TryComplete();
            }
            catch (Exception e)
            {
                pieces.Writer.TryComplete(e);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            // Checked before every piece: pieces drawn before the cancellation may still be waiting in the channel.
            while (await pieces.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                while (pieces.Reader.TryRead(out var piece))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return piece;
                }
            // Generation ends early when cancelled: say so rather than end as if the text were complete.
            cancellationToken.ThrowIfCancellationRequested();
        }
        finally
        {
            stop.Cancel();
            // The model is not left generating on another thread once the enumeration is over.
            await producer.ConfigureAwait(false);
        }
    }

    // Checks what a generation call is given, before it starts: the library's sampling options and the seed to use.
    private (SamplingOptions Sampling, ulong Seed) Checked(string prompt, int length, GenerationOptions? options)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ThrowIfDisposed();
        if (length < 0) throw new ArgumentException($"length: expected a number of tokens >= 0 but got {length}.", nameof(length));
        options ??= new GenerationOptions();
        return (options.ToCore(), (ulong)(options.Seed ?? Random.Shared.NextInt64()));
    }

    /// <summary>Loads a text generator saved with <see cref="TrainableModel.Save"/> (its vocabulary is in the file).</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a model file, a damaged one, or not a text generator; the message
    /// names the file.</exception>
    /// <remarks><paramref name="path"/> may also be a run folder: its newest checkpoint is loaded.</remarks>
    public static TextGeneratorModel Load(GenerativeContext context, string path) =>
        ModelLoader.Load<TextGeneratorModel>(context, path);

    /// <summary>The text generator a model file holds (its vocabulary is in its settings).</summary>
    internal static TextGeneratorModel FromFile(GenerativeContext context, ModelFile file)
    {
        // The file's metadata is text: its "vocabulary" setting is read here, at the edge.
        var vocabulary = VocabularyModule.ofJson(file.Settings.Single(s => s.Key == "vocabulary").Value);
        return new TextGeneratorModel(context, file.ModelId, file.Settings, file.Model, vocabulary);
    }
}
