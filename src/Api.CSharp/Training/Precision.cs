namespace Generative.CSharp;

/// <summary>
/// The number format a model's training steps compute in; see <see cref="TextGeneratorBuilder.WithPrecision"/>.
/// </summary>
public enum Precision
{
    /// <summary>32-bit floats throughout (the default).</summary>
    Float32,

    /// <summary>
    /// Mixed precision: the forward and backward passes run in bfloat16 on a working copy of the network, while the
    /// weights (as trained, saved and used for evaluation and generation), the optimiser's state and the loss stay in
    /// 32-bit floats. Fast where the hardware computes bfloat16 natively (CPUs with AVX512-BF16 or AMX, recent GPUs);
    /// elsewhere slower than <see cref="Float32"/>.
    /// </summary>
    BFloat16,
}
