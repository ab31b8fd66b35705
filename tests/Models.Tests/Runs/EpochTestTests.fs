module Generative.Tests.Runs.EpochTestTests

open System.IO
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

// Per-epoch test metrics (`RunModel.EpochTest`, `RunSettings.EpochTestImages`): measured on the first N test images
// after every epoch, recorded as "test <metric>" epoch terms, marked against the end-of-run value in the report, and
// without touching the training they observe.

let private quiet = { OnStep = ignore; Log = ignore; OnWork = ignore }

/// A VAE on 64 training and 16 test bar images in batches of 16 (4 steps an epoch), 2 epochs.
let private vaeSettings (folder: string) (epochTestImages: int) =
    { Experiment.defaults "vae" with
        Epochs = 2; BatchSize = 16; Device = Cpu; RunFolder = Some folder; PictureCount = 4; EpochTestImages = epochTestImages }

let private run (s: RunSettings) (data: RunData) =
    Experiment.fitModel s (Experiment.buildModel s) data quiet CancellationToken.None

[<Tests>]
let tests =
    testList "Runs.EpochTest" [
        test "a per-epoch Frechet distance draws as many images as the test part from the same noise each epoch, and keeps its reference across the loop's dispose scopes" {
            use part = TestData.bars 200 2L
            let net = TestData.tinyFeatureNetwork ()
            let mutable chosen = 0
            let source : FeatureSource = fun _ -> chosen <- chosen + 1; Ok (net, "bars", fun x -> x)
            let drawn = ResizeArray<int>()
            let sample (g: torch.Generator) (n: int) = drawn.Add n; torch.rand([| int64 n; 1L; 28L; 28L |], generator = g)
            let rescale (x: Tensor) = x * 2.0f - 1.0f
            let measure = GanEntries.epochFrechetDistance source rescale sample
            // The loop measures each epoch inside a dispose scope of its own.
            let epoch () = (use _ = torch.NewDisposeScope() in measure part)
            let first = epoch ()
            let second = epoch ()
            Expect.equal chosen 1 "the network is chosen once"
            Expect.equal (List.ofSeq drawn) [ 200; 200 ] "as many generated images as test images, each epoch"
            Expect.equal second first "the same noise each epoch: an unchanged generator scores the same"
            let expected =
                use g = new torch.Generator(GanEntries.qualitySeed)
                use generated = torch.rand([| 200L; 1L; 28L; 28L |], generator = g)
                use _ = torch.no_grad()
                Quality.frechetDistanceOf (net.Features (rescale generated)) (net.Features (rescale part.Images))
            Expect.floatClose Accuracy.medium first.["Frechet distance"] expected "the distance between the generated and the test part's features"
            let missing : FeatureSource = fun _ -> Error "no feature classifier saved yet"
            Expect.isEmpty (GanEntries.epochFrechetDistance missing rescale sample part) "no network: no term (the end-of-run metric says why)"
        }

        test "a VAE run records the test MSE and negative ELBO of the first N test images after every epoch, and its report marks the end-of-run values" {
            let folder = TestData.tempFolder "epoch-test"
            try
                let s = vaeSettings folder 8
                use data = TestData.barsData 64 16
                let model = Experiment.buildModel s
                let r = Experiment.fitModel s model data quiet CancellationToken.None
                let terms = [ "test MSE per pixel"; "test negative ELBO (nats)" ]
                for e in r.History.Epochs do
                    for t in terms do Expect.isTrue (e.Terms.ContainsKey t) (sprintf "epoch %d has %s" e.Epoch t)
                // The last epoch's value is the trained model's MSE on exactly the first 8 test images.
                let test = match data with ImageData d -> d.Test | TextData _ -> failtest "images"
                let firstEight = test.Images.narrow(0L, 0L, 8L)
                let expected =
                    use _ = torch.no_grad()
                    Trainer.eval model.Trainer
                    use r = model.Reconstruct.Value firstEight
                    (Reconstruction.loss Reconstruction.mse ElementMean r firstEight).ToDouble()
                Expect.floatClose Accuracy.medium (List.last r.History.Epochs).Terms.["test MSE per pixel"] expected "the first 8 test images"
                let wholeSet = r.Metrics |> List.find (fun (n, _, _) -> n = "test MSE per pixel") |> fun (_, v, _) -> v
                Expect.notEqual wholeSet expected "the end-of-run value measures all 16 (a different number)"
                let saved = History.ofCsv "metrics.csv" (File.ReadAllText(RunFolder.metricsPath folder))
                Expect.equal saved.Epochs r.History.Epochs "metrics.csv holds them"
                let html = File.ReadAllText r.Report
                Expect.stringContains html "each epoch, first 8 test images" "the curve says what it measures"
                Expect.stringContains html "end of run, all 16 test images" "the end-of-run value is marked"
                Expect.equal (RunFolder.readSettings folder).EpochTestImages 8 "run.json keeps the setting for a resume"
            finally Directory.Delete(folder, true)
        }

        test "measuring them changes nothing in training, and 0 measures none" {
            let measuredFolder = TestData.tempFolder "epoch-test"
            let plainFolder = TestData.tempFolder "epoch-test"
            try
                use data = TestData.barsData 64 16
                // The VAE draws its training noise from libtorch's global generator: a measure drawing from it would
                // shift the second epoch's noise.
                let measured = run (vaeSettings measuredFolder 8) data
                let plain = run (vaeSettings plainFolder 0) data
                let isTest (k: string) = k.StartsWith "test "
                Expect.isFalse (plain.History.Epochs |> List.exists (fun e -> e.Terms.Keys |> Seq.exists isTest)) "no test terms with 0"
                Expect.equal measured.History.Steps plain.History.Steps "every step's terms the same"
                Expect.equal measured.Metrics plain.Metrics "the same trained model"
            finally
                Directory.Delete(measuredFolder, true)
                Directory.Delete(plainFolder, true)
        }
    ]
