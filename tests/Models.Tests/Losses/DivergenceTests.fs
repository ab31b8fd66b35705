module Generative.Tests.Losses.DivergenceTests

open System
open Expecto
open Generative.Tests
open FsCheck
open TorchSharp
open Generative

let private config = { FsCheckConfig.defaultConfig with maxTest = 50 }

/// Random (μ, log σ²) pairs [N, D] from a seed, spread wide (|μ| and |log σ²| up to several units).
let private gaussians (seed: int) (n: int64) (d: int64) =
    use g = new torch.Generator(uint64 (int64 seed + 2147483648L))
    torch.randn([| n; d |], generator = g) * 3.0f, torch.randn([| n; d |], generator = g) * 2.0f

[<Tests>]
let tests =
    testList "Losses.Divergence" [
        testPropertyWithConfig config "Gaussian KL is non-negative" (fun (seed: int) ->
            let mu, logVar = gaussians seed 16L 5L
            use mu = mu
            use logVar = logVar
            use kl = Divergence.gaussianKl mu logVar
            Expect.equal kl.shape [| 16L |] "one KL per sample"
            Expect.isGreaterThanOrEqual (kl.min().ToDouble()) -1e-5 "KL >= 0")

        test "Gaussian KL is zero at the prior and positive away from it" {
            use zeros = torch.zeros([| 3L; 4L |])
            use kl = Divergence.gaussianKl zeros zeros
            Expect.equal (kl.abs().max().ToDouble()) 0.0 "exactly 0 at μ = 0, log σ² = 0"
            use mu = torch.tensor([| 0.0f; 0.0f; 0.1f; 0.0f |]).reshape(1L, 4L)
            use kl2 = Divergence.gaussianKl mu (torch.zeros([| 1L; 4L |]))
            Expect.floatClose Accuracy.medium (kl2.ToDouble()) 0.005 "½ μ² when only μ moves"
        }

        test "Gaussian KL matches the hand-computed value" {
            // μ = (1, 0), σ² = (1, 2): KL = -½[(1 + 0 - 1 - 1) + (1 + ln 2 - 0 - 2)] = 1 - ½ ln 2.
            use mu = torch.tensor([| 1.0f; 0.0f |]).reshape(1L, 2L)
            use logVar = torch.tensor([| 0.0f; float32 (log 2.0) |]).reshape(1L, 2L)
            use kl = Divergence.gaussianKl mu logVar
            Expect.floatClose Accuracy.high (kl.ToDouble()) (1.0 - 0.5 * log 2.0) "1 - ½ ln 2"
        }

        test "log densities match the formula" {
            use z = torch.tensor([| 0.5f; -1.0f |]).reshape(1L, 2L)
            use mu = torch.tensor([| 0.0f; 1.0f |]).reshape(1L, 2L)
            use logVar = torch.tensor([| 0.0f; float32 (log 4.0) |]).reshape(1L, 2L)
            // log N(0.5; 0, 1) + log N(-1; 1, 4) = -½ log 2π - 0.125 - ½ log 2π - ½ log 4 - 4 / 8
            let expected = -log (2.0 * Math.PI) - 0.125 - 0.5 * log 4.0 - 0.5
            use lp = Divergence.gaussianLogDensity z mu logVar
            Expect.floatClose Accuracy.medium (lp.ToDouble()) expected "diagonal Gaussian"
            use l0 = Divergence.standardNormalLogDensity z
            Expect.floatClose Accuracy.medium (l0.ToDouble()) (-log (2.0 * Math.PI) - 0.125 - 0.5) "standard normal"
        }
    ]
