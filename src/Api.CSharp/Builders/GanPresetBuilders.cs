namespace Generative.CSharp;

/// <summary>LSGAN (<c>GanEntries.leastSquares</c>): GAN-MLP-C's networks trained with the least-squares loss.</summary>
public sealed record LeastSquaresGanBuilder : GanBuilder<LeastSquaresGanBuilder>
{
    internal LeastSquaresGanBuilder(GenerativeContext context) : base(context, GanEntries.leastSquares) { }
}

/// <summary>
/// DCGAN-A (<c>GanEntries.dcgan</c>): convolutional discriminator with max pooling, generator with batch norm and
/// transposed convolutions.
/// </summary>
public sealed record DcganBuilder : GanBuilder<DcganBuilder>
{
    internal DcganBuilder(GenerativeContext context) : base(context, GanEntries.dcgan) { }
}

/// <summary>
/// DCGAN-B (<c>GanEntries.kerasDcgan</c>): the Keras cookbook's tanh DCGAN (upsampling generator, SGD with Nesterov
/// momentum).
/// </summary>
public sealed record KerasDcganBuilder : GanBuilder<KerasDcganBuilder>
{
    internal KerasDcganBuilder(GenerativeContext context) : base(context, GanEntries.kerasDcgan) { }
}

/// <summary>
/// DCGAN-PLUS (<c>GanEntries.dcganPlus</c>), beyond the sources: DCGAN-A's networks trained with the hinge loss and a
/// spectrally normalised discriminator, sampled from a moving average of the generator's weights (decay 0.995), batch
/// 128 unless the options say otherwise.
/// </summary>
public sealed record DcganPlusBuilder : GanBuilder<DcganPlusBuilder>
{
    internal DcganPlusBuilder(GenerativeContext context) : base(context, GanEntries.dcganPlus) { }
}

/// <summary>
/// GAN-MLP-PLUS (<c>GanEntries.mlpPlus</c>), beyond the sources: GAN-MLP-C's networks trained with the hinge loss and
/// the minibatch standard deviation in the discriminator, sampled from a moving average of the generator's weights
/// (decay 0.999), batch 16 unless the options say otherwise.
/// </summary>
public sealed record MlpPlusGanBuilder : GanBuilder<MlpPlusGanBuilder>
{
    internal MlpPlusGanBuilder(GenerativeContext context) : base(context, GanEntries.mlpPlus) { }
}
