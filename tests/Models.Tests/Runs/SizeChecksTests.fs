module Generative.Tests.Runs.SizeChecksTests

open System
open System.IO
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

// Settings that cannot work are refused with their name before anything large is allocated or any run folder is
// made: a model too large for the machine's memory, images of another shape than the model's, a batch larger than
// the training set.

/// Catalog models that build from their defaults alone (language models need a vocabulary, cls-mobilenet a weights file).
let private buildable =
    Catalog.all |> List.filter (fun e -> e.Kind <> ModelKind.TextGenerator && e.Id <> "cls-mobilenet") |> List.map (fun e -> e.Id)

let private elementsOf (m: RunModel) =
    m.Trainer.Modules |> List.sumBy (fun (_, md) -> (md.parameters () |> Seq.sumBy (fun p -> p.numel ())) + (md.buffers () |> Seq.sumBy (fun b -> b.numel ())))

let private quiet = { OnStep = ignore; Log = ignore; OnWork = ignore }

/// Trains `modelId` with `settings` on 16 bar images (1x28x28) into a fresh folder that must stay absent; returns the
/// refusal.
let private refusedRun (modelId: string) (settings: (string * string) list) (batchSize: int) =
    let root = TestData.tempFolder "refused"
    let folder = Path.Combine(root, "run")
    try
        use data = TestData.barsData 16 4
        let s = { Experiment.defaults modelId with ModelSettings = settings; BatchSize = batchSize; Device = Cpu; RunFolder = Some folder }
        let e =
            TestData.raises<ArgumentException> (fun () ->
                let model = ((Catalog.find modelId).Configure settings).Build torch.CPU
                Experiment.fitModel s model data quiet CancellationToken.None |> ignore)
        Expect.isFalse (Directory.Exists folder) "no run folder is made"
        e
    finally Directory.Delete(root, true)

[<Tests>]
let tests =
    testList "Runs.SizeChecks" [
        test "a model too large for this machine's memory is refused before its layers are allocated, naming its settings" {
            let entry = Catalog.find "ae-linear"
            let configured = entry.Configure [ "encoder-widths", "100000000" ]
            let e = TestData.raises<ArgumentException> (fun () -> configured.Build torch.CPU |> ignore)
            Expect.equal e.ParamName "model" "ParamName"
            Expect.stringContains e.Message "156,900,000,784" "counts the elements"
            Expect.stringContains e.Message "encoder-widths=100000000" "names the setting that differs from the defaults"
            Expect.stringContains e.Message "TB" "says how much it needs"
        }

        test "bf16 training is budgeted for its bfloat16 working copy too" {
            Expect.equal (ModelSpec.trainingBytes 1000L TrainingPrecision.Float32) 16000.0 "4 float32 copies"
            Expect.equal (ModelSpec.trainingBytes 1000L TrainingPrecision.BFloat16) 20000.0 "and bf16 weights and gradients"
            let e =
                TestData.raises<ArgumentException> (fun () ->
                    ((Catalog.find "ae-linear").Configure [ "encoder-widths", "100000000"; "precision", "bf16" ]).Build torch.CPU |> ignore)
            Expect.stringContains e.Message "bfloat16 weights and gradients" "the refusal says what it counted"
        }

        testTheory "counting a model's elements on the meta device gives the real model's count" buildable <| fun id ->
            let configured = (Catalog.find id).Configure []
            let spec (device: torch.Device) = (configured.Build device).Trainer.Modules |> List.map snd
            let counted = Device.elementsOf spec
            Device.seed 1L
            let real = configured.Build torch.CPU
            Expect.equal counted (elementsOf real) "same count"
            Expect.isGreaterThan counted 0L "something counted"

        test "the memory check leaves libtorch's generator as it was, so the weights depend on the seed only" {
            // A GAN draws its fixed noise from the global generator while it is built, on the meta device too.
            let spec = GanEntries.model "gan-mlp" "test" Gan.mlpA Gan.settings
            let weights (m: RunModel) = m.Trainer |> TestData.weightsOf
            Device.seed 3L
            let checked' = (ModelSpec.configured spec Gan.mlpA).Build torch.CPU
            Device.seed 3L
            let direct = spec.Build torch.CPU Gan.mlpA
            Expect.equal (weights checked') (weights direct) "same initial weights with and without the check"
        }

        test "a sample or reconstruction too large for memory is refused naming the count" {
            let e = TestData.raises<ArgumentException> (fun () -> Experiment.ensureImageCountFits "n" "dcgan" [] 100_000_000L)
            Expect.equal e.ParamName "n" "ParamName"
            Expect.stringContains e.Message "100000000 images" "names the count"
            Expect.equal (TestData.raises<ArgumentException> (fun () -> Experiment.ensureImageCountFits "n" "dcgan" [] 0L)).ParamName "n" "0 images"
            Experiment.ensureImageCountFits "n" "dcgan" [] 10_000L
        }

        test "images of another shape than the model's are refused naming input-shape, before a run folder is made" {
            let e = refusedRun "ae-linear" [ "input-shape", "1,32,32" ] 8
            Expect.equal e.ParamName "input-shape" "ParamName"
            Expect.stringContains e.Message "1x32x32" "the model's shape"
            Expect.stringContains e.Message "1x28x28" "the data's shape"
        }

        test "a batch larger than the training set is refused naming the batch size, before a run folder is made" {
            let e = refusedRun "ae-linear" [] 17
            Expect.equal e.ParamName "batchSize" "ParamName"
            Expect.stringContains e.Message "16 training images" "says how many there are"
        }
    ]
