module Generative.Tests.Losses.LossValuesTests

open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// Reconstructions and targets in (0, 1), so every loss (the cross-entropies included) is defined.
let private pair () =
    torch.manual_seed 3L |> ignore
    torch.rand([| 4L; 1L; 5L; 5L |]) * 0.9f + 0.05f, torch.rand([| 4L; 1L; 5L; 5L |])

[<Tests>]
let tests =
    testList "Losses.Values" [
        test "each reconstruction loss matches PyTorch's summed loss, and each reduction divides it as documented" {
            let r, t = pair ()
            let reference =
                [ "mse", torch.nn.functional.mse_loss(r, t, reduction = torch.nn.Reduction.Sum)
                  "bce", torch.nn.functional.binary_cross_entropy(r, t, reduction = torch.nn.Reduction.Sum) ]
                |> Map.ofList
            Expect.equal (Reconstruction.all |> List.map (fun l -> l.Name) |> Set.ofList) (reference |> Map.keys |> Set.ofSeq) "every loss has a reference here"
            for loss in Reconstruction.all do
                let total = reference.[loss.Name].ToDouble()
                let value reduction = (Reconstruction.loss loss reduction r t).ToDouble()
                Expect.floatClose Accuracy.high (value Sum) total (loss.Name + " sum")
                Expect.floatClose Accuracy.high (value SumPerSample) (total / 4.0) (loss.Name + " per sample")
                Expect.floatClose Accuracy.high (value ElementMean) (total / 100.0) (loss.Name + " mean")
                Expect.floatClose Accuracy.high ((Reconstruction.perSample loss r t).sum().ToDouble()) total (loss.Name + " per-sample sums")
        }

        test "every loss value parses back from its name to the same value" {
            for loss in Reconstruction.all do Expect.equal (Reconstruction.parse loss.Name) loss loss.Name
            for loss in ClassificationLoss.all do Expect.equal (ClassificationLoss.parse loss.Name) loss loss.Name
            Expect.notEqual Reconstruction.mse Reconstruction.bce "different names differ"
            let e = TestData.raises<System.ArgumentException> (fun () -> Reconstruction.parse "huber" |> ignore)
            Expect.equal e.ParamName "loss" "names the setting"
        }

        test "the VAE likelihoods are their reconstruction loss plus their constant, with the output that parameterises them" {
            let r, t = pair ()
            Expect.equal Likelihood.gaussian.Reconstruction Reconstruction.mse "Gaussian: squared error"
            Expect.equal Likelihood.bernoulli.Reconstruction Reconstruction.bce "Bernoulli: cross-entropy"
            Expect.equal Likelihood.gaussian.Output Tanh "Gaussian: Tanh output"
            Expect.equal Likelihood.bernoulli.Output Sigmoid "Bernoulli: Sigmoid output"
            Expect.floatClose Accuracy.high (Likelihood.gaussian.Constant 784) (392.0 * System.Math.Log System.Math.PI) "(D/2) log π"
            Expect.equal (Likelihood.bernoulli.Constant 784) 0.0 "no constant"
            for l in Likelihood.all do
                let viaVae = (Vae.reconstructionPerSample l r t).sum().ToDouble()
                Expect.floatClose Accuracy.high viaVae ((Reconstruction.loss l.Reconstruction Sum r t).ToDouble()) l.Name
        }

        test "the classification losses: cross-entropy is PyTorch's, hinge is zero beyond the margin" {
            torch.manual_seed 4L |> ignore
            let z = torch.randn([| 6L; 3L |])
            let labels = torch.tensor([| 0L; 1L; 2L; 0L; 1L; 2L |])
            Expect.floatClose Accuracy.high ((ClassificationLoss.crossEntropy.OfLogits z labels).ToDouble())
                (torch.nn.functional.cross_entropy(z, labels).ToDouble()) "cross-entropy"
            let confident = torch.nn.functional.one_hot(labels, 3L).to_type(torch.float32) * 4.0f - 2.0f
            Expect.equal ((ClassificationLoss.hinge.OfLogits confident labels).ToDouble()) 0.0 "scores beyond the margin cost nothing"
            let zero = torch.zeros([| 6L; 3L |])
            Expect.floatClose Accuracy.high ((ClassificationLoss.hinge.OfLogits zero labels).ToDouble()) 3.0 "at zero scores each class costs 1"
        }
    ]
