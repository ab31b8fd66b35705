using Microsoft.FSharp.Collections;

namespace Generative.CSharp;

/// <summary>
/// Copies of the autoencoder config records with some fields replaced and the others kept (F# records are immutable),
/// shared by every builder that edits one: the fully connected, convolutional and denoising builders.
/// </summary>
internal static class AutoencoderConfigCopies
{
    /// <summary>A copy of a fully connected autoencoder's config with the given fields replaced.</summary>
    internal static AutoencoderConfig With(this AutoencoderConfig c, FSharpList<int>? encoderWidths = null, OptimizerSpec? optimizer = null,
                                           Generative.TrainingPrecision? precision = null) =>
        new(c.InputShape, encoderWidths ?? c.EncoderWidths, c.HiddenActivation, c.CodeActivation, c.OutputActivation,
            c.Loss, c.Reduction, optimizer ?? c.Optimizer, precision ?? c.Precision);

    /// <summary>A copy of a convolutional autoencoder's config with the given fields replaced.</summary>
    internal static ConvAutoencoderConfig With(this ConvAutoencoderConfig c, int? hiddenChannels = null, int? codeChannels = null,
                                               OptimizerSpec? optimizer = null, Generative.TrainingPrecision? precision = null) =>
        new(c.ImageChannels, hiddenChannels ?? c.HiddenChannels, codeChannels ?? c.CodeChannels, c.OutputActivation,
            c.Loss, c.Reduction, optimizer ?? c.Optimizer, precision ?? c.Precision);
}
