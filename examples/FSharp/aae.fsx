// Adversarial autoencoders from F#: AAE-S, the supervised one (its decoder takes the one-hot label beside the code, so
// the discriminator pushes the codes towards the prior N(0, 5² I) and they are left with the style), trained briefly
// with the library's loop; its test metrics, samples from the prior, a style traversal and a style transfer grid.
//     ./generative data fetch mnist && dotnet fsi examples/FSharp/aae.fsx [training images] [epochs]
// By default one epoch over the first 20,000 training images at 128 per step: about a minute and a half on two idle
// cores. That shows the three phases at work, not yet the separation of style and class: after so few steps the codes
// still hold the digit. The library's AAE-S (its discriminator also reads the label, which the prior ignores) removes
// the digit from the codes over about 20 to 30 epochs of all 60,000 images: `dotnet fsi examples/FSharp/aae.fsx 60000
// 30`, or `generative train aae-s --epochs 30`.
#load "Load.fsx"

open System.IO
open System.Threading
open TorchSharp
open Generative

torch.set_num_threads 2
let trainCount, epochs =
    match fsi.CommandLineArgs with
    | [| _; n; e |] -> int64 n, int e
    | [| _; n |] -> int64 n, 1
    | _ -> 20000L, 1

// [0, 1] images: the decoder ends in a sigmoid and the reconstruction loss is binary cross-entropy.
let mnist = Load.cachedDataset "mnist" Datasets.mnist ZeroOne
/// The first `count` images of a split (all of them when it holds fewer).
let firstOf (count: int64) (split: Split) =
    let n = min count split.Count
    { Split.Images = split.Images.narrow(0L, 0L, n); Labels = split.Labels.narrow(0L, 0L, n) }
let train = firstOf trainCount mnist.Train
let test = firstOf 2000L mnist.Test

// The source's AAE-S networks: 784-392-392-10 and back, discriminator 10-1500-1500-1, dropout 0.2, with the library's
// training (`Aae.supervised`: D on logits and reading the label); `Aae.supervisedSource` is the source's. Any field
// can change, e.g. { Aae.supervised with Prior = LatentPrior.paperMixture } (the paper's Figure 4).
Device.seed 42L
let aae = Aae.create Aae.supervised
let trainer = Aae.trainer aae

// Every step runs the three phases: reconstruction, discriminator (prior codes real, encoder codes fake), encoder as
// a generator. D(prior) and D(code) near each other mean the discriminator can no longer tell the codes from the prior.
let hooks =
    { Loop.noHooks with
        OnStep =
            fun p ->
                if p.Step % 50L = 0L then
                    printfn "step %d/%d  reconstruction %.4f  d_loss %.3f  g_loss %.3f  D(prior) %.3f  D(code) %.3f" p.Step p.TotalSteps
                        p.Terms.["reconstruction"] p.Terms.["d_loss"] p.Terms.["g_loss"] p.Terms.["d_prior"] p.Terms.["d_code"] }
let options = { Loop.defaults with Epochs = epochs; BatchSize = AdversarialAutoencoderEntries.supervisedBatchSize; Seed = 42L }
Loop.fit options hooks CancellationToken.None trainer train (Loop.start, History.empty) |> ignore
Trainer.eval trainer

// Test metrics on (at most) 2,000 test images, as a run's report measures them on the whole test split.
let terms = AdversarialAutoencoderEntries.phaseTerms aae test
printfn "test reconstruction (BCE per pixel) %.4f, MSE per pixel %.4f" terms.["reconstruction"] terms.["mse"]
printfn "test D(prior) %.3f, D(code) %.3f" terms.["d_prior"] terms.["d_code"]
let trainCodes, trainLabels = AdversarialAutoencoderEntries.codesOf aae train 10000L
let testCodes, testLabels = AdversarialAutoencoderEntries.codesOf aae test test.Count
// AAE-S hands the label to the decoder, so its codes need not hold the class: a low k-NN accuracy is what it is after.
printfn "test code 5-NN accuracy %.3f (against the codes of %d training images)"
    (Knn.accuracy 5 trainCodes trainLabels testCodes testLabels) trainCodes.shape.[0]
let meanDistance, covarianceError = AdversarialAutoencoderEntries.priorMatch aae.Config.Prior testCodes
printfn "test codes against the prior %s: mean %.3f away, covariance error %.3f" (LatentPrior.describe aae.Config.Prior) meanDistance covarianceError

/// Saves images in [0, 1] as a PNG grid of `columns` per row.
let save name (columns: int) (images: Tensor) =
    let path = Path.Combine(Load.output, name)
    Images.saveGrid path columns (images.cpu())
    printfn "wrote %s" path

using (new torch.Generator(1UL)) (fun g ->
    // Image i is written as class i mod 10: ten columns count through the digits.
    save "aae-s-samples.png" 10 (Aae.sampleWith g aae 80))
// Each row keeps a class (0 to 4) and sweeps one code dimension (the first in five rows, the second in the next five).
save "aae-s-style-traversal.png" AdversarialAutoencoderEntries.traversalSteps
    (Aae.styleTraversal aae AdversarialAutoencoderEntries.traversalLabels AdversarialAutoencoderEntries.traversalSteps)
// Each row: a test digit, then its code (its style) written as 0, 1, ..., 9.
save "aae-s-style-transfer.png" (aae.Config.Classes + 1) (Aae.styleTransfer aae (test.Images.narrow(0L, 0L, 8L)))
