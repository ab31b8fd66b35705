namespace Generative

open System
open TorchSharp

/// Divergences and log-densities of diagonal Gaussians, the pieces of variational losses and of
/// importance-sampled likelihood estimates. Every function works per sample: inputs [N, D], outputs [N].
[<RequireQualifiedAccess>]
module Divergence =
    let private sameShape (name: string) (a: Tensor) (b: Tensor) =
        if a.shape <> b.shape then Errors.invalidArg name (sprintf "the shape %A" a.shape) (sprintf "%A" b.shape)

    /// KL(N(μ, diag σ²) ‖ N(0, I)) per sample, in nats, with log σ² = `logVar` (Kingma & Welling 2014, appendix B):
    /// KL = -½ Σ_d (1 + log σ²_d - μ²_d - σ²_d). It is ≥ 0 and is 0 exactly at the prior (μ = 0, log σ² = 0).
    let gaussianKl (mu: Tensor) (logVar: Tensor) : Tensor =
        sameShape "logVar" mu logVar
        use _ = torch.NewDisposeScope()
        let terms = 1.0f + logVar - mu.square() - logVar.exp()
        (terms.sum(1L) * -0.5f).MoveToOuterDisposeScope()

    /// ½ log(2π), the normalising constant of a standard normal density per dimension.
    let halfLogTwoPi = 0.5 * Math.Log(2.0 * Math.PI)

    /// log N(z; μ, diag σ²) per sample, summed over dimensions: -Σ_d [½ log 2π + ½ log σ²_d + (z_d - μ_d)² / (2 σ²_d)].
    let gaussianLogDensity (z: Tensor) (mu: Tensor) (logVar: Tensor) : Tensor =
        sameShape "mu" z mu
        sameShape "logVar" z logVar
        use _ = torch.NewDisposeScope()
        let perDim = (logVar + (z - mu).square() * (-logVar).exp()) * -0.5f - float32 halfLogTwoPi
        perDim.sum(1L).MoveToOuterDisposeScope()

    /// log N(z; 0, I) per sample: -Σ_d [½ log 2π + ½ z_d²].
    let standardNormalLogDensity (z: Tensor) : Tensor =
        use _ = torch.NewDisposeScope()
        ((z.square() * -0.5f).sum(1L) - float32 (halfLogTwoPi * float z.shape.[1])).MoveToOuterDisposeScope()
