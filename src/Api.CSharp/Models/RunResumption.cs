namespace Generative.CSharp;

/// <summary>A run continued by <see cref="GenerativeContext.ResumeAsync"/>: the model it trained, and the run.</summary>
/// <param name="Model">The run's model with the weights training ended with; the caller disposes it.</param>
/// <param name="Run">What the continued run produced.</param>
public sealed record ResumedRun(TrainableModel Model, TrainingRun Run);

/// <summary>
/// Continuing a run from its folder alone, as <c>generative train --resume</c> does: the model comes from the run's
/// settings and the data from the data set or text file run.json names.
/// </summary>
internal static class RunResumption
{
    public static Task<ResumedRun> ResumeAsync(GenerativeContext context, string runFolder, int? epochs, long? maxSteps,
                                               IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runFolder);
        var settings = Experiment.readSettings(runFolder);
        var model = ModelLoader.Wrap(context, ModelLoader.Read(context, runFolder));
        try
        {
            var data = LoadData(settings, runFolder);
            try
            {
                var training = model.StartAsync(model.ResumeJob(runFolder, data, epochs, maxSteps, progress, cancellationToken), cancellationToken);
                return Finish(model, data, training);
            }
            catch
            {
                ((IDisposable)data).Dispose();
                throw;
            }
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static async Task<ResumedRun> Finish(TrainableModel model, RunData data, Task<TrainingRun> training)
    {
        using (data)
        {
            try { return new ResumedRun(model, await training.ConfigureAwait(false)); }
            catch
            {
                model.Dispose();
                throw;
            }
        }
    }

    /// <summary>The run's data as run.json names it; data handed to FitAsync from code has no name to load it by.</summary>
    private static RunData LoadData(Generative.RunSettings settings, string runFolder)
    {
        try { return Experiment.loadData(settings); }
        catch (ArgumentException e) when (e.ParamName == "dataset")
        {
            throw new ArgumentException(
                $"runFolder: {runFolder} trained on data given in code ({settings.Dataset}), which run.json cannot load again; resume it with model.ResumeAsync(\"{runFolder}\", data).",
                nameof(runFolder), e);
        }
    }
}
