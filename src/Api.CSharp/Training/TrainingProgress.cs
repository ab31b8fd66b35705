namespace Generative.CSharp;

/// <summary>A progress snapshot, reported after every training step.</summary>
/// <param name="Epoch">The epoch in progress (1-based).</param>
/// <param name="Epochs">Epochs in the run (with a step budget: the epochs it takes).</param>
/// <param name="StepInEpoch">Steps done in this epoch.</param>
/// <param name="StepsPerEpoch">Steps in an epoch.</param>
/// <param name="Step">Steps done in the run.</param>
/// <param name="TotalSteps">Steps the run will take.</param>
/// <param name="Metrics">This step's named loss terms; a name the model does not report reads as NaN.</param>
/// <param name="Elapsed">Training time in this call.</param>
/// <param name="ExamplesPerSecond">Throughput in this call.</param>
public sealed record TrainingProgress(
    int Epoch, int Epochs, int StepInEpoch, int StepsPerEpoch, long Step, long TotalSteps,
    LossTerms Metrics, TimeSpan Elapsed, double ExamplesPerSecond)
{
    /// <summary>
    /// The model's main loss at this step, whatever its family: the term <see cref="LossTerms.LossTerm"/> names ("loss";
    /// "g_loss" for GANs; "reconstruction" for adversarial autoencoders).
    /// </summary>
    public double Loss => Metrics.Loss;

    /// <summary>The names of the terms the model reports (e.g. "d_fake", "d_loss", "d_real", "g_loss" for a GAN).</summary>
    public IReadOnlyList<string> TermNames => Metrics.Names;
}
