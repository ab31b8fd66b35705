using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using TorchSharp;

namespace Generative.CSharp;

/// <summary>
/// What every model of the facade shares: training into a run folder (<see cref="FitAsync"/>), saving and
/// disposing. Subclasses add their model's operations (reconstruct, sample, ...).
/// </summary>
public abstract class TrainableModel : IDisposable
{
    private bool _disposed;

    private protected TrainableModel(GenerativeContext context, string modelId, IReadOnlyList<(string Key, string Value)> settings,
                                     Normalization normalization, RunModel model)
    {
        Context = context;
        ModelId = modelId;
        Settings = settings;
        Normalization = normalization;
        Model = model;
    }

    /// <summary>The context the model was built in.</summary>
    public GenerativeContext Context { get; }

    /// <summary>The model's catalog id, e.g. "ae-linear".</summary>
    public string ModelId { get; }

    /// <summary>
    /// Every setting of the model's config as (key, text), named as the CLI names them: what <see cref="Save"/> and a
    /// training run's run.json store, the same text the command line writes for the same config.
    /// </summary>
    public IReadOnlyList<(string Key, string Value)> Settings { get; }

    /// <summary>The data normalisation the model expects.</summary>
    public Normalization Normalization { get; }

    internal RunModel Model { get; }

    /// <summary>Number of trainable parameters.</summary>
    public long ParameterCount => Generative.TrainerModule.parameterCount(Model.Trainer);

    /// <summary>
    /// Trains the model on <paramref name="data"/>'s training split into a run folder (checkpoints, picture grids,
    /// metrics.csv and report.html), on a background thread.
    /// </summary>
    /// <param name="data">The data set; its test split draws the pictures and measures the metrics.</param>
    /// <param name="options">Epochs, batch size and folder; null takes the defaults.</param>
    /// <param name="progress">Receives a snapshot after every step.</param>
    /// <param name="cancellationToken">Stops training after the current step; a checkpoint is saved first, and the
    /// returned task is cancelled.</param>
    /// <exception cref="ArgumentException">Bad options; ParamName names the field.</exception>
    /// <exception cref="NonFiniteLossException">A loss term became NaN or infinite.</exception>
    public Task<TrainingRun> FitAsync(ImageData data, TrainingOptions? options = null, IProgress<TrainingProgress>? progress = null,
                                      CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ObjectDisposedException.ThrowIf(_disposed, this);
        options ??= new TrainingOptions();
        options.Validate();
        if (data.Normalization != Normalization)
            throw new ArgumentException(
                $"data: expected images normalised as {Normalization} (what this model was built for) but got {data.Normalization}.", nameof(data));
        var settings = RunSettingsFor(options, data);
        return Task.Run(() =>
        {
            var events = new RunEvents(
                FuncConvert.FromAction<Generative.TrainingProgress>(p => progress?.Report(ToProgress(p))),
                FuncConvert.FromAction<string>(_ => { }));
            var result = Experiment.fitModel(settings, Model, RunData.NewImageData(data.Dataset), events, cancellationToken);
            if (result.Outcome.IsCancelled)
                throw new OperationCanceledException(
                    $"Training was cancelled; a checkpoint was saved in {result.Folder} (resume with: generative train --resume {result.Folder}).",
                    cancellationToken);
            return ToRun(result);
        }, CancellationToken.None);
    }

    /// <summary>Saves the weights with the model's id, settings and normalisation as one safetensors file.</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var settings = ListModule.OfSeq(Settings.Select(s => Tuple.Create(s.Key, s.Value)));
        Experiment.saveModel(path, ModelId, settings, NormalizationNames.Of(Normalization), Model);
    }

    /// <summary>Runs <paramref name="f"/> on <paramref name="input"/> without gradients, on the model's device.</summary>
    private protected torch.Tensor Apply(FSharpOption<FSharpFunc<torch.Tensor, torch.Tensor>> f, torch.Tensor input, string operation)
    {
        ArgumentNullException.ThrowIfNull(input);
        ObjectDisposedException.ThrowIf(_disposed, this);
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
    /// <exception cref="ArgumentException"><paramref name="count"/> is below 1; ParamName is "count".</exception>
    private protected torch.Tensor SampleImages(int count, long? seed, string countExpected)
    {
        if (count < 1) throw new ArgumentException($"count: expected {countExpected} but got {count}.", nameof(count));
        Generative.TrainerModule.eval(Model.Trainer);
        // A generator of its own, so sampling leaves libtorch's global generator (training's) where it was.
        using var generator = new torch.Generator((ulong)(seed ?? Random.Shared.NextInt64()));
        using var _ = torch.no_grad();
        return Model.Sample.Value.Invoke(generator).Invoke(count);
    }

    private Generative.RunSettings RunSettingsFor(TrainingOptions options, ImageData data)
    {
        var d = Experiment.defaults(ModelId);
        return new Generative.RunSettings(
            ModelId,
            ListModule.OfSeq(Settings.Select(s => Tuple.Create(s.Key, s.Value))),
            data.Dataset.Name.ToLowerInvariant(),
            FSharpOption<string>.None,
            FSharpOption<string>.None,
            FSharpOption<string>.Some(data.NormalizationName),
            options.Epochs,
            options.BatchSize,
            Context.Seed,
            Context.DeviceChoice,
            options.RunsRoot,
            options.RunFolder is null ? FSharpOption<string>.None : FSharpOption<string>.Some(options.RunFolder),
            options.CheckpointEverySteps,
            options.KeepCheckpoints,
            d.PictureCount);
    }

    private static TrainingProgress ToProgress(Generative.TrainingProgress p) =>
        new(p.Epoch, p.Epochs, p.StepInEpoch, p.StepsPerEpoch, p.Step, p.TotalSteps,
            p.Terms.ToDictionary(kv => kv.Key, kv => kv.Value), p.Elapsed, p.ExamplesPerSecond);

    private static TrainingRun ToRun(RunResult r) =>
        new(r.Folder, r.Report,
            r.History.Epochs.Select(e => new EpochSummary(e.Epoch, e.Step, e.Terms.ToDictionary(kv => kv.Key, kv => kv.Value),
                                                          TimeSpan.FromSeconds(e.Seconds))).ToList(),
            r.Metrics.Select(m => new Metric(m.Item1, m.Item2, m.Item3)).ToList());

    /// <summary>Releases the model's native tensors.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var (_, module) in Model.Trainer.Modules) module.Dispose();
        GC.SuppressFinalize(this);
    }
}
