using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using TorchSharp;

namespace Generative.CSharp;

/// <summary>
/// What the image models share (autoencoders, GANs, classifiers): the normalisation of the images they expect and
/// training on an <see cref="ImageData"/> (<see cref="FitAsync"/>).
/// </summary>
public abstract class ImageModel : TrainableModel
{
    private protected ImageModel(GenerativeContext context, string modelId, IReadOnlyList<(string Key, string Value)> settings,
                                 ImageNormalization normalization, RunModel model)
        : base(context, modelId, settings, NormalizationNames.Of(normalization), model)
    {
        Normalization = normalization;
    }

    /// <summary>The data normalisation the model expects.</summary>
    public ImageNormalization Normalization { get; }

    /// <summary>
    /// Trains the model on <paramref name="data"/>'s training split into a run folder (checkpoints, picture grids,
    /// metrics.csv and report.html), on a background thread. One model trains in one call at a time.
    /// </summary>
    /// <param name="data">The data set; its test split draws the pictures and measures the metrics.</param>
    /// <param name="options">Epochs or a step budget, batch size (images per step) and folder; null takes the defaults.</param>
    /// <param name="progress">Receives a snapshot after every step.</param>
    /// <param name="cancellationToken">Stops training after the current step, or skips the test evaluation after it (within about a second); a checkpoint is saved first (continue
    /// with <see cref="ResumeAsync"/>), and the returned task is cancelled.</param>
    /// <exception cref="ArgumentException">Bad options; ParamName names the field.</exception>
    /// <exception cref="InvalidOperationException">The model is already training (an earlier call has not finished).</exception>
    /// <exception cref="NonFiniteLossException">A loss term became NaN or infinite.</exception>
    public Task<TrainingRun> FitAsync(ImageData data, TrainingOptions? options = null, IProgress<TrainingProgress>? progress = null,
                                      CancellationToken cancellationToken = default) =>
        StartAsync(FitJobFor(data, options, progress, cancellationToken), cancellationToken);

    /// <summary>
    /// <see cref="FitAsync"/> on the caller's thread: returns when training has ended (a cancelled run throws
    /// OperationCanceledException after saving its checkpoint).
    /// </summary>
    /// <inheritdoc cref="FitAsync" path="/param"/>
    /// <inheritdoc cref="FitAsync" path="/exception"/>
    public TrainingRun Fit(ImageData data, TrainingOptions? options = null, IProgress<TrainingProgress>? progress = null,
                           CancellationToken cancellationToken = default) =>
        RunNow(FitJobFor(data, options, progress, cancellationToken), cancellationToken);

    /// <summary>
    /// Continues the run in <paramref name="runFolder"/> (made by <see cref="FitAsync"/> or <c>generative train</c> for
    /// a model of this id and settings) from its newest checkpoint, on a background thread: the model's weights,
    /// optimiser state, data order and random state become the checkpoint's, so on the CPU the run ends as an
    /// uninterrupted one would. What <c>generative train --resume</c> does, with the data given here.
    /// </summary>
    /// <param name="runFolder">The run folder.</param>
    /// <param name="data">The data the run trains on (the same as its first call's).</param>
    /// <param name="epochs">The run's new epoch count; null keeps its own length.</param>
    /// <param name="maxSteps">A new step budget instead, counted from the run's first step; null keeps its own length.</param>
    /// <param name="progress">Receives a snapshot after every step.</param>
    /// <param name="cancellationToken">Stops training after the current step, or skips the test evaluation after it (within about a second); a checkpoint is saved first.</param>
    /// <exception cref="ArgumentException">Both <paramref name="epochs"/> and <paramref name="maxSteps"/> given, a value
    /// below 1, data in another normalisation, or a run of another model or settings (ParamName "runFolder").</exception>
    /// <exception cref="FileNotFoundException">Not a run folder, or no checkpoint in it yet.</exception>
    /// <exception cref="InvalidOperationException">The model is already training.</exception>
    public Task<TrainingRun> ResumeAsync(string runFolder, ImageData data, int? epochs = null, long? maxSteps = null,
                                         IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        StartAsync(ResumeJob(runFolder, CheckedData(data), epochs, maxSteps, progress, cancellationToken), cancellationToken);

    /// <summary><see cref="ResumeAsync"/> on the caller's thread.</summary>
    /// <inheritdoc cref="ResumeAsync" path="/param"/>
    /// <inheritdoc cref="ResumeAsync" path="/exception"/>
    public TrainingRun Resume(string runFolder, ImageData data, int? epochs = null, long? maxSteps = null,
                              IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        RunNow(ResumeJob(runFolder, CheckedData(data), epochs, maxSteps, progress, cancellationToken), cancellationToken);

    private Func<RunResult> FitJobFor(ImageData data, TrainingOptions? options, IProgress<TrainingProgress>? progress,
                                      CancellationToken cancellationToken)
    {
        var run = CheckedData(data);
        ThrowIfDisposed();
        options ??= new TrainingOptions();
        options.Validate();
        var settings = RunSettingsFor(options, data.Dataset.Name.ToLowerInvariant(), textFile: null, data.NormalizationName, options.RunFolder);
        return FitJob(() => (settings, run), progress, cancellationToken);
    }

    /// <summary>The run data of <paramref name="data"/>, once it is known to be normalised as the model expects.</summary>
    private RunData CheckedData(ImageData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Normalization != Normalization)
            throw new ArgumentException(
                $"data: expected images normalised as {Normalization} (what this model was built for) but got {data.Normalization}.", nameof(data));
        return RunData.NewImageData(data.Dataset);
    }

    /// <summary>Runs <paramref name="f"/> on <paramref name="input"/> without gradients, on the model's device.</summary>
    private protected torch.Tensor Apply(FSharpOption<FSharpFunc<torch.Tensor, torch.Tensor>> f, torch.Tensor input, string operation)
    {
        ArgumentNullException.ThrowIfNull(input);
        ThrowIfDisposed();
        if (FSharpOption<FSharpFunc<torch.Tensor, torch.Tensor>>.get_IsNone(f))
            throw new NotSupportedException($"{ModelId} does not support {operation}.");
        Generative.TrainerModule.eval(Model.Trainer);
        using var _ = torch.no_grad();
        using var onDevice = input.to(Context.TorchDevice);
        return f.Value.Invoke(onDevice);
    }

    /// <summary>
    /// <paramref name="count"/> images from the model's sampler (GANs and VAEs), without gradients, in evaluation mode.
    /// </summary>
    /// <param name="count">Number of images.</param>
    /// <param name="seed">Seeds the sampler's noise; null draws a new seed each call.</param>
    /// <param name="countExpected">What <paramref name="count"/> must be, as the ArgumentException words it.</param>
    /// <exception cref="ArgumentException"><paramref name="count"/> is below 1, or so large that the images would not fit
    /// in this machine's memory; ParamName is "count".</exception>
    private protected torch.Tensor SampleImages(int count, long? seed, string countExpected)
    {
        if (count < 1) throw new ArgumentException($"count: expected {countExpected} but got {count}.", nameof(count));
        Experiment.ensureImageCountFits(nameof(count), ModelId, ListModule.OfSeq(Settings.Select(s => Tuple.Create(s.Key, s.Value))), count);
        Generative.TrainerModule.eval(Model.Trainer);
        // A generator of its own, so sampling leaves libtorch's global generator (training's) where it was.
        using var generator = new torch.Generator((ulong)(seed ?? Random.Shared.NextInt64()));
        using var _ = torch.no_grad();
        return Model.Sample.Value.Invoke(generator).Invoke(count);
    }
}
