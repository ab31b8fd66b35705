using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace Generative.CSharp;

/// <summary>
/// What every model of the facade shares: training into a run folder, saving and disposing. Image models add
/// <see cref="ImageModel.FitAsync"/> and their operations (reconstruct, sample, ...); text generators add
/// <see cref="TextGeneratorModel.FitAsync"/> and generation.
/// </summary>
public abstract class TrainableModel : IDisposable
{
    private bool _disposed;
    private readonly string _normalizationName;

    private protected TrainableModel(GenerativeContext context, string modelId, IReadOnlyList<(string Key, string Value)> settings,
                                     string normalizationName, RunModel model)
    {
        Context = context;
        ModelId = modelId;
        Settings = settings;
        _normalizationName = normalizationName;
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

    internal RunModel Model { get; }

    /// <summary>Number of trainable parameters.</summary>
    public long ParameterCount => Generative.TrainerModule.parameterCount(Model.Trainer);

    /// <summary>
    /// Trains the model into a run folder on a background thread through <c>Experiment.fitModel</c>, the command
    /// line's path. <paramref name="prepare"/> gives the run's settings and data, on that thread (it may write into
    /// the run folder).
    /// </summary>
    private protected Task<TrainingRun> FitCore(Func<(Generative.RunSettings Settings, RunData Data)> prepare,
                                                IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Task.Run(() =>
        {
            var events = new RunEvents(
                FuncConvert.FromAction<Generative.StepProgress>(p => progress?.Report(ToProgress(p))),
                FuncConvert.FromAction<string>(_ => { }));
            var (settings, data) = prepare();
            var result = Experiment.fitModel(settings, Model, data, events, cancellationToken);
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
        Experiment.saveModel(path, ModelId, settings, _normalizationName, Model);
    }

    /// <summary>Throws ObjectDisposedException once the model is disposed.</summary>
    private protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>
    /// The run settings of a training call: the model's id and settings, the context's seed and device, the options'
    /// epochs, batch size (the model's own when the options leave it out) and folders; <paramref name="dataset"/>,
    /// <paramref name="textFile"/> and <paramref name="normalization"/> describe the data.
    /// </summary>
    private protected Generative.RunSettings RunSettingsFor(TrainingOptions options, string dataset, string? textFile, string? normalization,
                                                           string? runFolder)
    {
        var d = Experiment.defaults(ModelId);
        return new Generative.RunSettings(
            ModelId,
            ListModule.OfSeq(Settings.Select(s => Tuple.Create(s.Key, s.Value))),
            dataset,
            Option(textFile),
            FSharpOption<string>.None,
            Option(normalization),
            options.Epochs,
            options.MaxSteps is { } steps ? FSharpOption<long>.Some(steps) : FSharpOption<long>.None,
            options.BatchSize ?? d.BatchSize,
            Context.Seed,
            Context.DeviceChoice,
            options.RunsRoot,
            Option(runFolder),
            options.CheckpointEverySteps,
            options.KeepCheckpoints,
            d.PictureCount);
    }

    private static FSharpOption<string> Option(string? value) => value is null ? FSharpOption<string>.None : FSharpOption<string>.Some(value);

    private static TrainingProgress ToProgress(Generative.StepProgress p) =>
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
