// The autoencoder family from F#: a VAE (samples, interpolation, ELBO and IWAE NLL), a denoising autoencoder (noisy /
// clean / denoised rows) and AE-3D (an interactive 3-D scatter of its codes), each trained briefly with the library's loop.
//     ./generative data fetch mnist && dotnet fsi examples/FSharp/autoencoders.fsx [epochs]
#load "Load.fsx"

open System.IO
open System.Threading
open TorchSharp
open Generative

torch.set_num_threads 2
let epochs = match fsi.CommandLineArgs with [| _; e |] -> int e | _ -> 1

/// Trains a trainer for `epochs` epochs, printing the named loss terms every 300 steps.
let fit (trainer: Trainer) (data: Split) (batchSize: int) =
    let hooks =
        { Loop.noHooks with
            OnStep =
                fun p ->
                    if p.Step % 300L = 0L then
                        let terms = p.Terms |> Map.toList |> List.map (fun (k, v) -> sprintf "%s %.4g" k v) |> String.concat "  "
                        printfn "  step %d/%d  %s" p.Step p.TotalSteps terms }
    let options = { Loop.defaults with Epochs = epochs; BatchSize = batchSize; Seed = 42L }
    Loop.fit options hooks CancellationToken.None trainer data (Loop.start, History.empty) |> ignore
    Trainer.eval trainer

let save name (norm: Normalization) (images: Tensor) =
    let path = Path.Combine(Load.output, name)
    Images.saveGrid path 8 (Transforms.denormalize norm (images.cpu()))
    printfn "  wrote %s" path

// ---- VAE: the source's network on [-1,1] images; β and the likelihood are config fields ----------------------------
printfn "VAE (784-400-20, Gaussian likelihood, β = 1)"
let minusOne = Load.cachedDataset "mnist" Datasets.mnist MinusOneToOne
Device.seed 42L
let vae = Vae.create { Vae.source with Beta = 1.0 }
fit (Vae.trainer vae) minusOne.Train 128
using (torch.no_grad ()) (fun _ ->
    save "vae-samples.png" MinusOneToOne (Vae.sample vae 64)
    // A straight line in latent space between the codes of two test images.
    let a, b = Vae.encode vae (minusOne.Test.Images.narrow(0L, 0L, 1L)), Vae.encode vae (minusOne.Test.Images.narrow(0L, 1L, 1L))
    let t = torch.linspace(0.0, 1.0, 8L).unsqueeze(1L)
    save "vae-interpolation.png" MinusOneToOne (Vae.decode vae (a * (1.0f - t) + b * t)))
// The ELBO's terms and the importance-sampled NLL on 1000 test images, from the same log weights w (k = 50).
let test = minusOne.Test.Images.narrow(0L, 0L, min 1000L minusOne.Test.Count)
using (torch.no_grad ()) (fun _ ->
    use g = new torch.Generator(0UL)
    use w = Vae.logImportanceWeights vae g 50 test
    printfn "  -ELBO %.1f nats, IWAE NLL (k=50) %.1f nats (Gaussian of variance ½ in [-1,1] units)"
        ((Vae.sampledNegativeElbo w).mean().ToDouble()) ((Vae.iwaeNegativeLogLikelihood w).mean().ToDouble()))

// ---- Denoising autoencoder: AE-LIN's network on [0,1] images, masking noise on the input -----------------------------
printfn "Denoising autoencoder (784-128-784, masking noise p = 0.5)"
let zeroOne = Load.cachedDataset "mnist" Datasets.mnist ZeroOne
Device.seed 42L
let dae = DenoisingAutoencoder.create { DenoisingAutoencoder.defaults with Corruption = MaskingNoise 0.5 }
fit (DenoisingAutoencoder.trainer dae) zeroOne.Train 64
using (torch.no_grad ()) (fun _ ->
    let clean = zeroOne.Test.Images.narrow(0L, 0L, 8L)
    let noisy = Corruption.apply GlobalGenerator (MaskingNoise 0.5) clean
    save "denoising.png" ZeroOne (torch.cat([| noisy; clean; DenoisingAutoencoder.reconstruct dae noisy |], 0L)))

// ---- AE-3D: a 3-d code, drawn as an interactive 3-D scatter coloured by digit -----------------------------------------
printfn "AE-3D (784-128-64-12-3, Tanh, MSE summed per image)"
Device.seed 42L
let ae3d = Autoencoder.create Autoencoder.threeD
fit (Autoencoder.trainer ae3d) minusOne.Train 128
let chartTitle, chart = AutoencoderEntries.codeScatter (Autoencoder.encode ae3d) minusOne.Test minusOne.Classes
let scatter = Path.Combine(Load.output, "ae-3d-codes.html")
// A small offline page: plotly.js inlined once, then the chart (the same pieces the run report uses).
File.WriteAllText(scatter, "<!DOCTYPE html><html><head><meta charset=\"utf-8\">" + Charts.plotlyScriptTag () + "</head><body><h3>"
                           + System.Net.WebUtility.HtmlEncode chartTitle + "</h3>" + Charts.toHtmlFragment "codes" chart + "</body></html>")
printfn "  wrote %s (%s)" scatter chartTitle
