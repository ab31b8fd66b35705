// AE-LIN from F#: compose the autoencoder, train it with the library's loop, draw reconstructions, save it.
//     ./generative data fetch mnist && dotnet fsi examples/FSharp/ae-linear.fsx
#load "Load.fsx"

open System.IO
open System.Threading
open TorchSharp
open Generative

torch.set_num_threads 2
Device.seed 42L

// MNIST scaled to [0,1], the range the ReLU output layer can reach, from the local cache (see Load.fsx).
let mnist = Load.cachedDataset "mnist" Datasets.mnist ZeroOne

// AE-LIN as in the source: 784 -> 128 -> 784, ReLU after both layers, MSE, Adam 1e-3. Any field can change:
// e.g. { Autoencoder.linear with EncoderWidths = [ 64 ] }.
let model = Autoencoder.create Autoencoder.linear
let trainer = Autoencoder.trainer model

// One epoch, batch 64, a progress line every 200 steps.
let options = { Loop.defaults with Epochs = 1; BatchSize = 64; Seed = 42L }
let hooks =
    { Loop.noHooks with
        OnStep = fun p -> if p.Step % 200L = 0L then printfn "step %d/%d  loss %.5f" p.Step p.TotalSteps p.Terms.["loss"] }
let result = Loop.fit options hooks CancellationToken.None trainer mnist.Train (Loop.start, History.empty)

// Test error, in evaluation mode and without gradients.
Trainer.eval trainer
let testMse =
    RunModel.meanOver Work.none "test MSE" torch.CPU 1000 mnist.Test (fun x -> use r = Autoencoder.reconstruct model x in Reconstruction.loss Reconstruction.mse ElementMean r x)
printfn "test MSE per pixel after %d steps: %.5f" result.Position.Step testMse

// Originals (odd rows) above their reconstructions (even rows), as a PNG.
using (torch.no_grad ()) (fun _ ->
    let originals = mnist.Test.Images.narrow(0L, 0L, 32L)
    use reconstructions = Autoencoder.reconstruct model originals
    Images.saveGrid (Path.Combine(Load.output, "ae-linear-reconstructions.png")) 8 (RunModel.interleaveRows 8 originals reconstructions))
printfn "wrote %s" (Path.Combine(Load.output, "ae-linear-reconstructions.png"))
