using System.Globalization;

namespace Generative.CSharp;

/// <summary>
/// How a denoising autoencoder's input is corrupted. Create with <see cref="Gaussian"/> or <see cref="Masking"/>; the
/// values are checked by the library's own rule (<c>Corruption.validate</c>), the one <c>--set noise=...</c> goes through.
/// </summary>
public sealed class Noise : IEquatable<Noise>
{
    private Noise(Corruption core) => Core = core;

    /// <summary>The library's corruption value, as <c>DenoisingConfig.Corruption</c> holds it.</summary>
    internal Corruption Core { get; }

    /// <summary>Wraps a corruption read from a config record.</summary>
    internal static Noise Of(Corruption core) => new(core ?? throw new ArgumentNullException(nameof(core)));

    /// <summary>Adds Gaussian noise of standard deviation <paramref name="std"/> (in [0, 1] pixel units) to every pixel.</summary>
    /// <exception cref="ArgumentException"><paramref name="std"/> is negative or not finite; ParamName is "std".</exception>
    public static Noise Gaussian(double std = 0.5) => Checked(Corruption.NewGaussianNoise(std));

    /// <summary>Sets each pixel to 0 (blank) independently with probability <paramref name="probability"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="probability"/> is outside [0, 1); ParamName is "probability".</exception>
    public static Noise Masking(double probability = 0.5) => Checked(Corruption.NewMaskingNoise(probability));

    // Checked when created, so the mistake surfaces where it is made rather than at Build().
    private static Noise Checked(Corruption core)
    {
        CorruptionModule.validate(core);
        return new Noise(core);
    }

    /// <summary>A description such as "Gaussian noise (std 0.5)".</summary>
    public override string ToString() => Core switch
    {
        Corruption.GaussianNoise g => $"Gaussian noise (std {g.std.ToString(CultureInfo.InvariantCulture)})",
        Corruption.MaskingNoise m => $"masking noise (probability {m.probability.ToString(CultureInfo.InvariantCulture)})",
        _ => CorruptionModule.name(Core),
    };

    /// <summary>True when both are the same kind of noise with the same value.</summary>
    public bool Equals(Noise? other) => other is not null && Core.Equals(other.Core);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Noise);

    /// <inheritdoc/>
    public override int GetHashCode() => Core.GetHashCode();
}
