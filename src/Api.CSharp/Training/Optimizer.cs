using Generative;

namespace Generative.CSharp;

/// <summary>
/// An optimiser choice. Create with <see cref="Adam"/>, <see cref="Sgd"/> or <see cref="RmsProp"/>. Values are checked
/// by the library's own rules (<c>Optim.validate</c>), the same ones the command line's <c>--set optimizer=...</c> goes
/// through.
/// </summary>
public sealed class Optimizer : IEquatable<Optimizer>
{
    private Optimizer(OptimizerSpec spec) => Spec = spec;

    /// <summary>The library's optimiser value, as a config record holds it.</summary>
    internal OptimizerSpec Spec { get; }

    /// <summary>Wraps an optimiser read from a config record (no check: records hold what their builders accepted).</summary>
    internal static Optimizer Of(OptimizerSpec spec) => new(spec ?? throw new ArgumentNullException(nameof(spec)));

    /// <summary>Adam with L2 weight decay (torch.optim.Adam).</summary>
    /// <exception cref="ArgumentException">A value out of range; ParamName names it as the library does: "lr", "beta1",
    /// "beta2" or "weightDecay".</exception>
    public static Optimizer Adam(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double weightDecay = 0.0) =>
        Checked(OptimizerSpec.NewAdam(lr, beta1, beta2, weightDecay));

    /// <summary>SGD with momentum, optionally Nesterov, and L2 weight decay.</summary>
    /// <exception cref="ArgumentException">A value out of range; ParamName names it as the library does: "lr",
    /// "momentum" (also when Nesterov is on without momentum) or "weightDecay".</exception>
    public static Optimizer Sgd(double lr, double momentum = 0.0, bool nesterov = false, double weightDecay = 0.0) =>
        Checked(OptimizerSpec.NewSgd(lr, momentum, nesterov, weightDecay));

    /// <summary>RMSprop (torch.optim.RMSprop): squared gradients averaged with decay <paramref name="alpha"/>, optional
    /// momentum and L2 weight decay.</summary>
    /// <exception cref="ArgumentException">A value out of range; ParamName names it as the library does: "lr", "alpha",
    /// "momentum" or "weightDecay".</exception>
    public static Optimizer RmsProp(double lr, double alpha = 0.99, double momentum = 0.0, double weightDecay = 0.0) =>
        Checked(OptimizerSpec.NewRmsProp(lr, alpha, momentum, weightDecay));

    // Checked when created, so the mistake surfaces where it is made rather than at Build().
    private static Optimizer Checked(OptimizerSpec spec)
    {
        Optim.validate(spec);
        return new Optimizer(spec);
    }

    /// <summary>The optimiser in the library's text form, e.g. "adam:lr=0.001,beta1=0.9,beta2=0.999,wd=0" or
    /// "rmsprop:lr=0.01,alpha=0.99,momentum=0,wd=0".</summary>
    public override string ToString() => Optim.describe(Spec);

    /// <summary>True when both choose the same optimiser with the same values.</summary>
    public bool Equals(Optimizer? other) => other is not null && Spec.Equals(other.Spec);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Optimizer);

    /// <inheritdoc/>
    public override int GetHashCode() => Spec.GetHashCode();
}
