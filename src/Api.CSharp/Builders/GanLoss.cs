namespace Generative.CSharp;

/// <summary>
/// A GAN objective, chosen with <c>.WithLoss(GanLoss.NonSaturating)</c>. Each preset forwards to the library's
/// loss of the same name (Losses/Gan.fs), where the formulas live.
/// </summary>
public sealed class GanLoss
{
    private GanLoss(Generative.GanLoss core) => Core = core;

    internal Generative.GanLoss Core { get; }

    /// <summary>The loss's settings name, e.g. "non-saturating".</summary>
    public string Name => Core.Name;

    /// <summary>The formula and its source.</summary>
    public string Description => Core.Description;

    /// <summary>Minimax (Goodfellow 2014): G minimises mean log(1 - D(G(z))).</summary>
    public static GanLoss Minimax { get; } = new(Generative.GanLossModule.minimax);

    /// <summary>Non-saturating (Goodfellow 2014): G minimises -mean log D(G(z)).</summary>
    public static GanLoss NonSaturating { get; } = new(Generative.GanLossModule.nonSaturating);

    /// <summary>Least squares (LSGAN, Mao 2017).</summary>
    public static GanLoss LeastSquares { get; } = new(Generative.GanLossModule.leastSquares);

    /// <summary>Hinge (Lim and Ye 2017); needs a discriminator without a final sigmoid.</summary>
    public static GanLoss Hinge { get; } = new(Generative.GanLossModule.hinge);

    /// <summary>Wasserstein with gradient penalty (WGAN-GP, Gulrajani 2017); needs a discriminator without a final sigmoid.</summary>
    public static GanLoss WassersteinGp { get; } = new(Generative.GanLossModule.wassersteinGp);

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>The distribution of the generator's input noise.</summary>
public enum GanNoise
{
    /// <summary>z ~ N(0, I).</summary>
    Normal,
    /// <summary>z ~ U[-1, 1].</summary>
    Uniform,
}

/// <summary>The fully connected GANs of the sources (GAN-MLP-A, -B, -C in seed-models.md).</summary>
public enum MlpGanVariant
{
    /// <summary>GAN-MLP-A: G 64-256-512-784, D 784-256-128-1 with sigmoid; Adam 3e-4; random flips.</summary>
    A,
    /// <summary>GAN-MLP-B: one hidden layer of 256 in G and D, dropout in D; z of 20.</summary>
    B,
    /// <summary>GAN-MLP-C: G 96-1024-1024-784, D 784-256-256-1 with logits; uniform noise.</summary>
    C,
}
