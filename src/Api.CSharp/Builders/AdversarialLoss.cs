namespace Generative.CSharp;

/// <summary>
/// A GAN objective, chosen with <c>.WithLoss(AdversarialLoss.NonSaturating)</c> or by name with <see cref="FromName"/>. Each
/// preset forwards to the library's loss of the same name (Losses/Gan.fs), where the formulas live; <see cref="All"/>
/// lists the library's presets, so a loss added there is available here without a change to this class.
/// </summary>
public sealed class AdversarialLoss : IEquatable<AdversarialLoss>
{
    private AdversarialLoss(Generative.GanLoss core) => Core = core;

    /// <summary>The library's loss value, as <c>GanConfig.Loss</c> holds it.</summary>
    internal Generative.GanLoss Core { get; }

    /// <summary>The loss's settings name, e.g. "non-saturating".</summary>
    public string Name => Core.Name;

    /// <summary>The formula and its source.</summary>
    public string Description => Core.Description;

    /// <summary>Minimax (Goodfellow 2014): G minimises mean log(1 - D(G(z))).</summary>
    public static AdversarialLoss Minimax { get; } = new(Generative.GanLossModule.minimax);

    /// <summary>Non-saturating (Goodfellow 2014): G minimises -mean log D(G(z)).</summary>
    public static AdversarialLoss NonSaturating { get; } = new(Generative.GanLossModule.nonSaturating);

    /// <summary>Least squares (LSGAN, Mao 2017).</summary>
    public static AdversarialLoss LeastSquares { get; } = new(Generative.GanLossModule.leastSquares);

    /// <summary>Hinge (Lim and Ye 2017); needs a discriminator without a final sigmoid.</summary>
    public static AdversarialLoss Hinge { get; } = new(Generative.GanLossModule.hinge);

    /// <summary>Wasserstein with gradient penalty (WGAN-GP, Gulrajani 2017); needs a discriminator without a final sigmoid.</summary>
    public static AdversarialLoss WassersteinGp { get; } = new(Generative.GanLossModule.wassersteinGp);

    /// <summary>Every loss preset of the library (<c>AdversarialLoss.all</c>), in its order.</summary>
    public static IReadOnlyList<AdversarialLoss> All { get; } = Generative.GanLossModule.all.Select(Of).ToList().AsReadOnly();

    /// <summary>The preset called <paramref name="name"/> (case-insensitive, as <c>--set loss=...</c> reads it).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException">No preset has that name; ParamName is "loss", the setting key, and the message
    /// lists the names there are.</exception>
    public static AdversarialLoss FromName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Of(Generative.GanLossModule.parse(name));
    }

    /// <summary>The facade's value for a library loss: the named static preset when there is one.</summary>
    internal static AdversarialLoss Of(Generative.GanLoss core)
    {
        // The static presets are initialised before All (textual order), so known losses map to the same instances.
        AdversarialLoss?[] known = [Minimax, NonSaturating, LeastSquares, Hinge, WassersteinGp];
        return known.FirstOrDefault(k => k is not null && k.Name == core.Name) ?? new AdversarialLoss(core);
    }

    /// <summary>True when both name the same loss (losses are identified by their settings name).</summary>
    public bool Equals(AdversarialLoss? other) => other is not null && Name == other.Name;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as AdversarialLoss);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Name);

    /// <inheritdoc/>
    public override string ToString() => Name;
}
