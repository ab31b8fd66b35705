namespace Generative.CSharp;

/// <summary>
/// The distribution an adversarial autoencoder matches its codes to. Create with <see cref="Gaussian"/> or
/// <see cref="Mixture"/>; the values are checked by the library's own rule (<c>CodePrior.validate</c>), the one
/// <c>--set prior=...</c> goes through.
/// </summary>
public sealed class CodePrior : IEquatable<CodePrior>
{
    private CodePrior(Generative.LatentPrior core) => Core = core;

    /// <summary>The library's prior value, as <c>AaeConfig.Prior</c> holds it.</summary>
    internal Generative.LatentPrior Core { get; }

    /// <summary>Wraps a prior read from a config record (no check: records hold what their builders accepted).</summary>
    internal static CodePrior Of(Generative.LatentPrior core) => new(core ?? throw new ArgumentNullException(nameof(core)));

    /// <summary>N(0, std² I) in every code dimension (the AAE source's prior: std 5).</summary>
    /// <exception cref="ArgumentException"><paramref name="std"/> is not positive and finite; ParamName is "prior".</exception>
    public static CodePrior Gaussian(double std = 5.0) => Checked(Generative.LatentPrior.NewIsotropicGaussian(std));

    /// <summary>
    /// Makhzani et al.'s mixture of <paramref name="components"/> 2-D Gaussians of equal weights: component k is
    /// centred at <paramref name="radius"/>·(cos θk, sin θk), θk = 2πk / components, with standard deviation
    /// <paramref name="radialStd"/> along the radius and <paramref name="tangentialStd"/> across it. A code of 2m
    /// dimensions holds m independent 2-D draws of the same component, so the code size must be even (checked by
    /// Build()). The defaults are the paper's figures: 10 components, radius 1.4, stds 0.5 and 0.05.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than one component, a negative or infinite radius, or a standard deviation
    /// that is not positive and finite; ParamName is "prior".</exception>
    public static CodePrior Mixture(int components = 10, double radius = 1.4, double radialStd = 0.5, double tangentialStd = 0.05) =>
        Checked(Generative.LatentPrior.NewGaussianMixture(components, radius, radialStd, tangentialStd));

    // Checked when created, so the mistake surfaces where it is made rather than at Build(). Any even code size is one
    // every prior accepts: only the prior's own values are checked here.
    private static CodePrior Checked(Generative.LatentPrior core)
    {
        LatentPriorModule.validate("code-size", 2, core);
        return new CodePrior(core);
    }

    /// <summary>Number of components (1 for the Gaussian).</summary>
    public int Components => LatentPriorModule.components(Core);

    /// <summary>The prior in the library's settings text, e.g. "gaussian:std=5" or
    /// "mixture:components=10,radius=1.4,radial-std=0.5,tangential-std=0.05".</summary>
    public override string ToString() => LatentPriorModule.describe(Core);

    /// <summary>True when both are the same distribution with the same values.</summary>
    public bool Equals(CodePrior? other) => other is not null && Core.Equals(other.Core);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as CodePrior);

    /// <inheritdoc/>
    public override int GetHashCode() => Core.GetHashCode();
}
