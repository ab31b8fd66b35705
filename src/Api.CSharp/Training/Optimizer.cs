using Generative;

namespace Generative.CSharp;

/// <summary>An optimiser choice. Create with <see cref="Adam"/> or <see cref="Sgd"/>.</summary>
public sealed class Optimizer
{
    private Optimizer(OptimizerSpec spec) => Spec = spec;

    internal OptimizerSpec Spec { get; }

    /// <summary>Adam with L2 weight decay (torch.optim.Adam).</summary>
    /// <exception cref="ArgumentException">A value out of range; ParamName names it.</exception>
    public static Optimizer Adam(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double weightDecay = 0.0)
    {
        if (!(lr > 0) || double.IsInfinity(lr)) throw new ArgumentException($"lr: expected a positive finite number but got {lr}.", nameof(lr));
        if (beta1 is < 0 or >= 1) throw new ArgumentException($"beta1: expected a value in [0, 1) but got {beta1}.", nameof(beta1));
        if (beta2 is < 0 or >= 1) throw new ArgumentException($"beta2: expected a value in [0, 1) but got {beta2}.", nameof(beta2));
        if (!(weightDecay >= 0)) throw new ArgumentException($"weightDecay: expected a non-negative number but got {weightDecay}.", nameof(weightDecay));
        return new Optimizer(OptimizerSpec.NewAdam(lr, beta1, beta2, weightDecay));
    }

    /// <summary>SGD with momentum, optionally Nesterov, and L2 weight decay.</summary>
    /// <exception cref="ArgumentException">A value out of range; ParamName names it.</exception>
    public static Optimizer Sgd(double lr, double momentum = 0.0, bool nesterov = false, double weightDecay = 0.0)
    {
        if (!(lr > 0) || double.IsInfinity(lr)) throw new ArgumentException($"lr: expected a positive finite number but got {lr}.", nameof(lr));
        if (momentum is < 0 or >= 1) throw new ArgumentException($"momentum: expected a value in [0, 1) but got {momentum}.", nameof(momentum));
        if (nesterov && momentum == 0) throw new ArgumentException("momentum: expected a positive momentum with Nesterov but got 0.", nameof(momentum));
        if (!(weightDecay >= 0)) throw new ArgumentException($"weightDecay: expected a non-negative number but got {weightDecay}.", nameof(weightDecay));
        return new Optimizer(OptimizerSpec.NewSgd(lr, momentum, nesterov, weightDecay));
    }

    /// <summary>The optimiser in the library's text form, e.g. "adam:lr=0.001,beta1=0.9,beta2=0.999,wd=0".</summary>
    public override string ToString() => Optim.describe(Spec);
}
