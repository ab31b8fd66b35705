namespace Generative.CSharp;

/// <summary>
/// A GAN objective, chosen with <c>.WithLoss(GanLoss.NonSaturating)</c> or by name with <see cref="FromName"/>. Each
/// preset forwards to the library's loss of the same name (Losses/Gan.fs), where the formulas live; <see cref="All"/>
/// lists the library's presets, so a loss added there is available here without a change to this class.
/// </summary>
public sealed class GanLoss : IEquatable<GanLoss>
{
    private GanLoss(Generative.GanLoss core) => Core = core;

    /// <summary>The library's loss value, as <c>GanConfig.Loss</c> holds it.</summary>
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

    /// <summary>Every loss preset of the library (<c>GanLoss.all</c>), in its order.</summary>
    public static IReadOnlyList<GanLoss> All { get; } = Generative.GanLossModule.all.Select(Of).ToList().AsReadOnly();

    /// <summary>The preset called <paramref name="name"/> (case-insensitive, as <c>--set loss=...</c> reads it).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException">No preset has that name; ParamName is "loss", the setting key, and the message
    /// lists the names there are.</exception>
    public static GanLoss FromName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Of(Generative.GanLossModule.parse(name));
    }

    /// <summary>The facade's value for a library loss: the named static preset when there is one.</summary>
    internal static GanLoss Of(Generative.GanLoss core)
    {
        // The static presets are initialised before All (textual order), so known losses map to the same instances.
        GanLoss?[] known = [Minimax, NonSaturating, LeastSquares, Hinge, WassersteinGp];
        return known.FirstOrDefault(k => k is not null && k.Name == core.Name) ?? new GanLoss(core);
    }

    /// <summary>True when both name the same loss (losses are identified by their settings name).</summary>
    public bool Equals(GanLoss? other) => other is not null && Name == other.Name;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as GanLoss);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Name);

    /// <inheritdoc/>
    public override string ToString() => Name;
}
