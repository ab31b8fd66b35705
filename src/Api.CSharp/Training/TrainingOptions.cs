namespace Generative.CSharp;

/// <summary>How long and in what folder to train.</summary>
public sealed record TrainingOptions
{
    /// <summary>
    /// Epochs to train (at least 1; default 1). With <see cref="MaxSteps"/> it stays at its default: the budget then
    /// decides the epochs, and any other value is refused (ParamName "MaxSteps"), as <c>--epochs</c> with <c>--steps</c> is.
    /// </summary>
    public int Epochs { get; init; } = 1;

    /// <summary>
    /// A step budget instead of whole epochs: train this many steps in all, over as many epochs as they take (the last
    /// one may stop part-way), as <c>generative train --steps N</c> does; null (the default) trains <see cref="Epochs"/>
    /// epochs. The budget counts from the run's first step, so <see cref="ImageModel.ResumeAsync"/> with a larger one
    /// continues exactly where an uninterrupted run would be.
    /// </summary>
    public long? MaxSteps { get; init; }

    /// <summary>
    /// Examples per step (at least 1); null (the default) takes the model's, as <c>generative train</c> does without
    /// <c>--batch-size</c>: its source's batch size (64 for most models, 1024 for AAE-U) or the library's where it
    /// differs (128 for AAE-S); <c>generative models</c> lists them.
    /// </summary>
    public int? BatchSize { get; init; }

    /// <summary>The run's folder; null makes <c>{RunsRoot}/{model}-{time}</c>.</summary>
    public string? RunFolder { get; init; }

    /// <summary>Parent folder of new runs (default "runs").</summary>
    public string RunsRoot { get; init; } = "runs";

    /// <summary>Also checkpoint every this many steps (0: at epoch ends and on cancellation only).</summary>
    public int CheckpointEverySteps { get; init; }

    /// <summary>
    /// Also checkpoint once this much training time has passed since the last checkpoint, so a crash loses at most about
    /// this much work however long an epoch is (default 5 minutes; <see cref="TimeSpan.Zero"/>: off), as
    /// <c>generative train --checkpoint-minutes M</c> does.
    /// </summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromMinutes(Generative.RunSettingsModule.defaultCheckpointMinutes);

    /// <summary>Checkpoints kept, newest first (default 2).</summary>
    public int KeepCheckpoints { get; init; } = 2;

    /// <summary>
    /// Also write TensorBoard event files into the run folder's <c>tensorboard/</c> (default false), as
    /// <c>generative train --tensorboard</c> does: every loss term per step and per epoch, the pictures or passages of
    /// each epoch, the settings and the test metrics, so <c>tensorboard --logdir runs</c> shows the run. A resumed run
    /// keeps logging if its first part did.
    /// </summary>
    public bool TensorBoard { get; init; }

    /// <summary>
    /// Test images a generative model's per-epoch test metrics are measured on after every epoch (default 1000; 0:
    /// none), as <c>generative train --epoch-test N</c> does: the test reconstruction error of autoencoders, the VAE's
    /// negative ELBO, the Frechet distance of GANs and adversarial autoencoders against as many generated images. They
    /// are recorded as epoch metrics named "test ..." and plotted in the report with the end-of-run value on the whole
    /// test set. A resumed run keeps its own.
    /// </summary>
    public int EpochTestImages { get; init; } = Generative.RunSettingsModule.defaultEpochTestImages;

    internal void Validate()
    {
        if (Epochs < 1) throw new ArgumentException($"Epochs: expected at least 1 but got {Epochs}.", nameof(Epochs));
        if (MaxSteps is not null && Epochs != 1)
            throw new ArgumentException(
                $"MaxSteps: expected either Epochs or MaxSteps (both say how long to train) but got Epochs = {Epochs} and MaxSteps = {MaxSteps}; leave Epochs out for a step budget.",
                nameof(MaxSteps));
        if (MaxSteps is < 1) throw new ArgumentException($"MaxSteps: expected at least 1 step (or null: whole epochs) but got {MaxSteps}.", nameof(MaxSteps));
        if (BatchSize is < 1) throw new ArgumentException($"BatchSize: expected at least 1 but got {BatchSize}.", nameof(BatchSize));
        if (CheckpointEverySteps < 0)
            throw new ArgumentException($"CheckpointEverySteps: expected 0 or more but got {CheckpointEverySteps}.", nameof(CheckpointEverySteps));
        if (CheckpointInterval < TimeSpan.Zero)
            throw new ArgumentException($"CheckpointInterval: expected a positive time, or TimeSpan.Zero for none, but got {CheckpointInterval}.", nameof(CheckpointInterval));
        if (EpochTestImages < 0)
            throw new ArgumentException($"EpochTestImages: expected 0 (none) or a number of test images but got {EpochTestImages}.", nameof(EpochTestImages));
        if (KeepCheckpoints < 1) throw new ArgumentException($"KeepCheckpoints: expected at least 1 but got {KeepCheckpoints}.", nameof(KeepCheckpoints));
        if (string.IsNullOrWhiteSpace(RunsRoot)) throw new ArgumentException("RunsRoot: expected a folder but got an empty string.", nameof(RunsRoot));
    }
}

/// <summary>One finished epoch: mean of each loss term, the step reached, its duration.</summary>
public sealed record EpochSummary(int Epoch, long Step, IReadOnlyDictionary<string, double> Metrics, TimeSpan Duration);

/// <summary>A test-set metric and how it was measured.</summary>
public sealed record Metric(string Name, double Value, string HowMeasured);

/// <summary>What a finished training call produced.</summary>
/// <param name="Folder">The run folder (checkpoints, samples, metrics.csv, report.html).</param>
/// <param name="Report">Path of report.html.</param>
/// <param name="Epochs">Per-epoch summaries.</param>
/// <param name="Metrics">Test metrics of the trained model.</param>
public sealed record TrainingRun(string Folder, string Report, IReadOnlyList<EpochSummary> Epochs, IReadOnlyList<Metric> Metrics);
