// GANs from F#: GAN-MLP-C's networks trained with two losses side by side (non-saturating BCE and least squares,
// i.e. LSGAN), their fixed-noise grids, and their sample quality measured with the saved MNIST feature classifier.
//     ./generative data fetch mnist
//     ./generative features train --dataset mnist     (once; without it the quality lines are skipped)
//     dotnet fsi examples/FSharp/gans.fsx
#load "Load.fsx"

open System.IO
open System.Threading
open TorchSharp
open Generative

torch.set_num_threads 2

// GANs read images in [-1, 1], the range of the generator's tanh.
let mnist = Load.cachedDataset "mnist" Datasets.mnist MinusOneToOne

// The feature classifier the quality metrics read; None when it has not been trained yet.
let features =
    try Some (FeatureNets.load "mnist" Cpu)
    with :? FileNotFoundException as e -> printfn "quality not measured: %s" e.Message; None

/// Trains one GAN config for an epoch and reports its losses, a fixed-noise grid and its quality.
let trainAndScore (name: string) (config: GanConfig) =
    Device.seed 42L
    let gan = Gan.create config
    let trainer = Gan.trainer gan
    let options = { Loop.defaults with Epochs = 1; BatchSize = 128; Seed = 42L }
    let hooks =
        { Loop.noHooks with
            OnStep =
                fun p ->
                    if p.Step % 100L = 0L then
                        printfn "%s step %d/%d  d_loss %.3f  g_loss %.3f  D(x) %.3f  D(G(z)) %.3f" name p.Step p.TotalSteps
                            p.Terms.["d_loss"] p.Terms.["g_loss"] p.Terms.["d_real"] p.Terms.["d_fake"] }
    Loop.fit options hooks CancellationToken.None trainer mnist.Train (Loop.start, History.empty) |> ignore
    Trainer.eval trainer
    // The same 64 noise vectors every epoch: Gan.fixedSamples renders them; denormalise to [0,1] for the PNG.
    let grid = Path.Combine(Load.output, sprintf "%s-fixed-noise.png" name)
    using (Gan.fixedSamples gan) (fun images -> Images.saveGrid grid 8 (Transforms.denormalize MinusOneToOne images))
    printfn "wrote %s" grid
    features
    |> Option.iter (fun net ->
        use g = new torch.Generator(0UL)
        let report = Quality.measure Work.none net id (Gan.sampleWith g gan) mnist.Test.Images "MNIST test split (10000 images)" 2000
        for metric, value, _ in Quality.metrics report do printfn "%s %s: %.4g" name metric value)
    gan

// Non-saturating BCE with logits (GAN-MLP-C), then the same networks with the least-squares loss (LSGAN). Any
// preset of GanLoss fits: { Gan.mlpC with Loss = GanLoss.hinge } or GanLoss.wassersteinGp (with DiscriminatorSteps = 5).
let bce = trainAndScore "gan-mlp-c" Gan.mlpC
let ls = trainAndScore "lsgan" Gan.lsgan

// New samples from the trained generator (fresh noise from the global generator).
using (Gan.sample ls 16) (fun images ->
    Images.saveGrid (Path.Combine(Load.output, "lsgan-samples.png")) 4 (Transforms.denormalize MinusOneToOne images))
printfn "wrote %s" (Path.Combine(Load.output, "lsgan-samples.png"))
// Runs with checkpoints, reports and saved models: `./generative train lsgan --epochs 5`, or from C#
// `ctx.Gans.LeastSquares().Build()` then FitAsync and Save.
