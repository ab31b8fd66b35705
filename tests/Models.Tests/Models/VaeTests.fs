module Generative.Tests.Models.VaeTests

open System
open Expecto
open Generative.Tests
open FsCheck
open TorchSharp
open Generative

let private small = { Vae.source with HiddenWidth = 32; LatentDim = 4 }
let private config = { FsCheckConfig.defaultConfig with maxTest = 25 }

let private row (xs: float32 list) = torch.tensor(Array.ofList xs).reshape(1L, int64 xs.Length)

[<Tests>]
let tests =
    testList "Models.Vae" [
        test "the loss equals its closed form on a hand-computed case (Gaussian, β = 1 and 2)" {
            // x̂ = (0.5, 0), x = (0, 1): Σ(x̂ - x)² = 1.25. μ = (1, 0), σ² = (1, 2): KL = 1 - ½ ln 2.
            use r = row [ 0.5f; 0.0f ]
            use x = row [ 0.0f; 1.0f ]
            use mu = row [ 1.0f; 0.0f ]
            use logVar = row [ 0.0f; float32 (log 2.0) ]
            let kl = 1.0 - 0.5 * log 2.0
            for beta in [ 1.0; 2.0 ] do
                let terms = Vae.lossOf { small with Beta = beta } r x mu logVar
                Expect.floatClose Accuracy.high (terms.["reconstruction"].ToDouble()) 1.25 "Σ(x̂ - x)²"
                Expect.floatClose Accuracy.high (terms.["kl"].ToDouble()) kl "KL"
                Expect.floatClose Accuracy.high (terms.["loss"].ToDouble()) (1.25 + beta * kl) "reconstruction + β KL"
        }

        test "the Bernoulli loss is the summed binary cross-entropy" {
            use r = row [ 0.5f; 0.8f ]
            use x = row [ 0.0f; 1.0f ]
            use zeros = row [ 0.0f; 0.0f ]
            let terms = Vae.lossOf { small with Likelihood = Likelihood.bernoulli } r x zeros zeros
            Expect.floatClose Accuracy.medium (terms.["reconstruction"].ToDouble()) (-(log 0.5) - log 0.8) "-log 0.5 - log 0.8"
            Expect.floatClose Accuracy.high (terms.["kl"].ToDouble()) 0.0 "KL 0 at the prior"
        }

        testPropertyWithConfig config "IWAE NLL never exceeds the negative ELBO of the same samples; equal for k = 1" (fun (seed: int) (k0: PositiveInt) (bernoulli: bool) ->
            let c = { small with Likelihood = (if bernoulli then Likelihood.bernoulli else Likelihood.gaussian) }
            Device.seed (int64 seed)
            let m = Vae.create c
            use _ = torch.no_grad()
            use x = torch.rand([| 6L; 1L; 28L; 28L |])
            let k = 1 + k0.Get % 12
            use g = new torch.Generator(uint64 (int64 seed + 2147483648L))
            use w = Vae.logImportanceWeights m g k x
            Expect.equal w.shape [| 6L; int64 k |] "log weights [N, k]"
            use nll = Vae.iwaeNegativeLogLikelihood w
            use nelbo = Vae.sampledNegativeElbo w
            let gap = (nelbo - nll).min().ToDouble()
            Expect.isGreaterThanOrEqual gap (-1e-3) "NLL_k <= -ELBO on the same samples"
            if k = 1 then Expect.isTrue (torch.allclose(nll, nelbo, 1e-6, 1e-4)) "k = 1: the two coincide")

        test "log weights average to the analytic negative ELBO (reconstruction + constant + closed-form KL)" {
            Device.seed 8L
            let m = Vae.create small
            use _ = torch.no_grad()
            use x = torch.rand([| 3L; 1L; 28L; 28L |]) * 2.0f - 1.0f
            use g = new torch.Generator(5UL)
            use w = Vae.logImportanceWeights m g 4000 x
            use nelbo = Vae.sampledNegativeElbo w
            // The same quantity from the loss pieces: E_q[Σ(x̂ - x)²] (Monte Carlo) + (D/2) log π + KL (closed form).
            let mu, logVar = Vae.posterior m x
            use kl = Divergence.gaussianKl mu logVar
            use g2 = new torch.Generator(6UL)
            let recon =
                [ for _ in 1 .. 4000 ->
                    use _ = torch.NewDisposeScope()
                    let eps = torch.randn(mu.shape, generator = g2)
                    let r = Vae.decode m (Vae.reparameterize mu logVar eps)
                    Vae.reconstructionPerSample Likelihood.gaussian r x |> fun t -> t.data<float32>().ToArray() ]
                |> List.reduce (Array.map2 (+)) |> Array.map (fun s -> float s / 4000.0)
            let constant = Vae.likelihoodConstant Likelihood.gaussian 784
            let expected = Array.map2 (fun r k -> r + constant + k) recon (kl.data<float32>().ToArray() |> Array.map float)
            let actual = nelbo.data<float32>().ToArray() |> Array.map float
            for i in 0 .. 2 do
                Expect.floatClose { absolute = 0.0; relative = 0.005 } actual.[i] expected.[i] (sprintf "image %d" i)
        }

        test "reparameterisation gives μ + ε σ and samples are decoded from the prior" {
            use mu = row [ 1.0f; -2.0f ]
            use logVar = row [ float32 (log 4.0); 0.0f ]
            use eps = row [ 0.5f; 1.0f ]
            use z = Vae.reparameterize mu logVar eps
            Expect.sequenceEqual (z.data<float32>().ToArray()) [| 2.0f; -1.0f |] "μ + ε exp(½ log σ²)"
        }
    ]
