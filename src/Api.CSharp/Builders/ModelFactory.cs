using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace Generative.CSharp;

/// <summary>Shared by the builders: turns (model id, settings) into a built core model, seeded by the context.</summary>
internal static class ModelFactory
{
    public static T Build<T>(GenerativeContext context, string modelId, IReadOnlyList<(string Key, string Value)> settings,
                             Normalization normalization,
                             Func<GenerativeContext, string, IReadOnlyList<(string Key, string Value)>, Normalization, RunModel, T> wrap)
    {
        var run = Experiment.defaults(modelId);
        var runSettings = new Generative.RunSettings(
            modelId, ListModule.OfSeq(settings.Select(s => Tuple.Create(s.Key, s.Value))), run.Dataset, run.DataFolder,
            FSharpOption<string>.Some(NormalizationNames.Of(normalization)), run.Epochs, run.BatchSize, context.Seed,
            context.DeviceChoice, run.RunsRoot, run.RunFolder, run.CheckpointEverySteps, run.KeepCheckpoints, run.PictureCount);
        return wrap(context, modelId, settings, normalization, Experiment.buildModel(runSettings));
    }
}
