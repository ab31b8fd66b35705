using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace Generative.CSharp;

/// <summary>
/// What every model of the facade shares: training into a run folder (one call at a time), resuming, saving and
/// disposing. Image models add <see cref="ImageModel.FitAsync"/> and their operations (reconstruct, sample, ...); text
/// generators add <see cref="TextGeneratorModel.FitAsync"/> and generation.
/// </summary>
public abstract class TrainableModel : IDisposable
{
    private bool _disposed;
    // 1 while a training call runs (see Acquire).
    private int _training;
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

    /// <summary>The library's run model; settable inside the assembly and by its tests (to swap in a slow evaluation).</summary>
    internal RunModel Model { get; set; }

    /// <summary>Number of trainable parameters.</summary>
    public long ParameterCount => Generative.TrainerModule.parameterCount(Model.Trainer);

    /// <summary>
    /// A job that trains the model into a run folder through <c>Experiment.fitModel</c>, the command line's path.
    /// <paramref name="prepare"/> gives the run's settings and data when the job runs (it may write into the run folder).
    /// </summary>
    private protected Func<RunResult> FitJob(Func<(Generative.RunSettings Settings, RunData Data)> prepare,
                                             IProgress<TrainingProgress>? progress, CancellationToken cancellationToken) =>
        () =>
        {
            var (settings, data) = prepare();
            return Experiment.fitModel(settings, Model, data, EventsFor(progress), cancellationToken);
        };

    /// <summary>
    /// A job that continues the run in <paramref name="runFolder"/> from its newest checkpoint with this model and
    /// <paramref name="data"/> through <c>Experiment.resumeModel</c>, what <c>generative train --resume</c> runs. The
    /// arguments and the run folder are checked now.
    /// </summary>
    internal Func<RunResult> ResumeJob(string runFolder, RunData data, int? epochs, long? maxSteps,
                                                IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runFolder);
        ThrowIfDisposed();
        var budget = BudgetOf(epochs, maxSteps);
        CheckIsRunOf(runFolder);
        return () => Experiment.resumeModel(runFolder, budget, Context.DeviceChoice, Model, data, EventsFor(progress), cancellationToken);
    }

    /// <summary>A resumed run's new length: <paramref name="epochs"/> or <paramref name="maxSteps"/>, or (both null) its own.</summary>
    private static FSharpOption<TrainingBudget> BudgetOf(int? epochs, long? maxSteps)
    {
        if (epochs is not null && maxSteps is not null)
            throw new ArgumentException("maxSteps: expected either epochs or a step budget, not both (they both say how long to train).", nameof(maxSteps));
        if (epochs is < 1) throw new ArgumentException($"epochs: expected at least 1 but got {epochs}.", nameof(epochs));
        if (maxSteps is < 1) throw new ArgumentException($"maxSteps: expected at least 1 step but got {maxSteps}.", nameof(maxSteps));
        return epochs is { } e ? FSharpOption<TrainingBudget>.Some(TrainingBudget.NewEpochs(e))
             : maxSteps is { } m ? FSharpOption<TrainingBudget>.Some(TrainingBudget.NewSteps(m))
             : FSharpOption<TrainingBudget>.None;
    }

    /// <summary>Throws ArgumentException (ParamName "runFolder") unless the run folder holds a run of this model, with its settings.</summary>
    private void CheckIsRunOf(string runFolder)
    {
        var run = Experiment.readSettings(runFolder);
        if (!string.Equals(run.ModelId, ModelId, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"runFolder: expected a run of {ModelId} (this model) but {runFolder} holds a run of {run.ModelId}.", nameof(runFolder));
        var saved = run.ModelSettings.ToDictionary(t => t.Item1, t => t.Item2);
        var differing = Settings.Where(s => saved.TryGetValue(s.Key, out var v) && v != s.Value).Select(s => s.Key).ToList();
        if (differing.Count > 0)
            throw new ArgumentException(
                $"runFolder: expected a run of this model's settings but {runFolder} differs in {string.Join(", ", differing)}; build the model with the run's settings (its run.json) to resume it.",
                nameof(runFolder));
    }

    /// <summary>Runs a training job on a background thread (see <see cref="RunNow"/>).</summary>
    internal Task<TrainingRun> StartAsync(Func<RunResult> job, CancellationToken cancellationToken)
    {
        Acquire();
        return Task.Run(() => Finish(job, cancellationToken), CancellationToken.None);
    }

    /// <summary>
    /// Runs a training job on the caller's thread and turns its result into a <see cref="TrainingRun"/>; a cancelled
    /// run becomes an OperationCanceledException.
    /// </summary>
    private protected TrainingRun RunNow(Func<RunResult> job, CancellationToken cancellationToken)
    {
        Acquire();
        return Finish(job, cancellationToken);
    }

    /// <summary>
    /// Marks the model as training, or throws InvalidOperationException when another call trains it: one model trained
    /// by two calls at once would race on its weights and optimiser state, which libtorch does not survive.
    /// </summary>
    private void Acquire()
    {
        ThrowIfDisposed();
        if (Interlocked.CompareExchange(ref _training, 1, 0) != 0)
            throw new InvalidOperationException(
                $"This {ModelId} model is already training (an earlier Fit, FitAsync, Resume or ResumeAsync call has not finished): await it before training the model again, or build a second model.");
    }

    /// <summary>
    /// Runs the job, then lets the model train again; a cancelled run (training stopped, or its evaluation skipped)
    /// becomes an OperationCanceledException.
    /// </summary>
    private TrainingRun Finish(Func<RunResult> job, CancellationToken cancellationToken)
    {
        try
        {
            var result = job();
            if (result.Outcome.IsCancelled)
                throw new OperationCanceledException(
                    $"Training was cancelled; a checkpoint was saved in {result.Folder} (continue with ResumeAsync(\"{result.Folder}\", ...) or: generative train --resume {result.Folder}).",
                    cancellationToken);
            // Training finished and its checkpoint is saved, but the token stopped the evaluation that follows it.
            if (result.Evaluation.IsSkipped)
                throw new OperationCanceledException(
                    $"Training finished but its evaluation was cancelled; the checkpoint and a report without test metrics are in {result.Folder} (measure them with: generative eval {result.Folder}).",
                    cancellationToken);
            return ToRun(result);
        }
        finally { Volatile.Write(ref _training, 0); }
    }

    /// <summary>The run's callbacks: each step's snapshot goes to <paramref name="progress"/>, log lines nowhere.</summary>
    private RunEvents EventsFor(IProgress<TrainingProgress>? progress)
    {
        var lossTerm = ModelSpec.lossTerm(Catalog.find(ModelId).Kind);
        return new RunEvents(
            FuncConvert.FromAction<Generative.StepProgress>(p => progress?.Report(ToProgress(p, lossTerm))),
            FuncConvert.FromAction<string>(_ => { }),
            FuncConvert.FromAction<WorkProgress>(_ => { }));
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
    /// epochs, batch size (the model's own when the options leave it out), folders and TensorBoard log; <paramref name="dataset"/>,
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
            options.CheckpointInterval.TotalMinutes,
            options.KeepCheckpoints,
            d.PictureCount,
            options.EpochTestImages,
            options.TensorBoard);
    }

    private static FSharpOption<string> Option(string? value) => value is null ? FSharpOption<string>.None : FSharpOption<string>.Some(value);

    private static TrainingProgress ToProgress(Generative.StepProgress p, string lossTerm) =>
        new(p.Epoch, p.Epochs, p.StepInEpoch, p.StepsPerEpoch, p.Step, p.TotalSteps,
            new LossTerms(p.Terms.ToDictionary(kv => kv.Key, kv => kv.Value), lossTerm), p.Elapsed, p.ExamplesPerSecond);

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
