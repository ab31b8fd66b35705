namespace Generative.CSharp;

/// <summary>
/// The number format a model's training steps compute in; see <see cref="TextGeneratorBuilder.WithPrecision"/> and
/// <c>WithPrecision</c> of the GAN and classifier builders.
/// </summary>
public enum Precision
{
    /// <summary>32-bit floats throughout (the default).</summary>
    Float32,

    /// <summary>
    /// Mixed precision: the forward and backward passes run on a working copy of the network in bfloat16 (a
    /// language model's whole network; an image model's linear and convolution layers wide enough to gain, with
    /// batch norm, activations and losses in 32-bit floats), while the weights (as trained, saved and used for
    /// evaluation and generation) and the optimiser's state stay in 32-bit floats. Fast where the hardware computes bfloat16 natively (CPUs with AVX512-BF16 or AMX, recent GPUs);
    /// elsewhere slower than <see cref="Float32"/>.
    /// </summary>
    BFloat16,
}

/// <summary>Conversions between <see cref="Precision"/> and the library's <see cref="Generative.TrainingPrecision"/>.</summary>
internal static class PrecisionConversion
{
    /// <summary>The library's value of a precision.</summary>
    /// <exception cref="ArgumentException">Not a defined value (ParamName "precision").</exception>
    public static Generative.TrainingPrecision ToTrainingPrecision(this Precision precision) => precision switch
    {
        Precision.Float32 => Generative.TrainingPrecision.Float32,
        Precision.BFloat16 => Generative.TrainingPrecision.BFloat16,
        _ => throw new ArgumentException($"precision: Float32 or BFloat16, not {(int)precision}", "precision"),
    };

    /// <summary>The facade's value of a library precision.</summary>
    public static Precision ToPrecision(this Generative.TrainingPrecision precision) =>
        precision.IsBFloat16 ? Precision.BFloat16 : Precision.Float32;
}
