namespace Generative.CSharp;

/// <summary>The fully connected GANs of the sources (GAN-MLP-A, -B, -C in docs/models.md).</summary>
public enum MlpGanVariant
{
    /// <summary>GAN-MLP-A: G 64-256-512-784, D 784-256-128-1 with sigmoid; Adam 3e-4; random flips.</summary>
    A,
    /// <summary>GAN-MLP-B: one hidden layer of 256 in G and D, dropout in D; z of 20.</summary>
    B,
    /// <summary>GAN-MLP-C: G 96-1024-1024-784, D 784-256-256-1 with logits; uniform noise.</summary>
    C,
}

/// <summary>
/// GAN-MLP-A, -B or -C (<see cref="MlpGanVariant"/>; <c>GanEntries.mlp</c>): fully connected generator and
/// discriminator. Settings not set with a With* follow the variant's preset.
/// </summary>
public sealed record MlpGanBuilder : GanBuilder<MlpGanBuilder>
{
    internal MlpGanBuilder(GenerativeContext context) : base(context, GanEntries.mlp) { }

    /// <summary>Which source network (default A).</summary>
    public MlpGanVariant Variant => Config.Architecture switch
    {
        { IsMlpB: true } => MlpGanVariant.B,
        { IsMlpC: true } => MlpGanVariant.C,
        _ => MlpGanVariant.A,
    };

    /// <summary>A copy with another variant: its preset (<c>Gan.mlpA</c>, <c>mlpB</c>, <c>mlpC</c>, the values
    /// <c>--set variant=a|b|c</c> picks) with the values set so far kept.</summary>
    /// <exception cref="ArgumentException"><paramref name="variant"/> is not an <see cref="MlpGanVariant"/>; ParamName is
    /// "variant", the setting key.</exception>
    public MlpGanBuilder WithVariant(MlpGanVariant variant)
    {
        var preset = variant switch
        {
            MlpGanVariant.A => GanModule.mlpA,
            MlpGanVariant.B => GanModule.mlpB,
            MlpGanVariant.C => GanModule.mlpC,
            _ => throw new ArgumentException($"variant: expected A, B or C but got {variant}.", nameof(variant)),
        };
        return this with { Config = Rebase(preset) };
    }
}
