/// Long training checks on real data: run with `./test.sh long`. Each is skipped when its data is not cached.
module Generative.Tests.LongTests

open System.IO
open System.Threading
open Expecto
open Generative.Tests
open Generative

/// The cached folder of a data set, or skips the test with the command that fetches it.
let cachedData (name: string) : string =
    match Fetch.locate name None with
    | Some folder -> folder
    | None -> skiptestf "%s" (Fetch.missingMessage name)

/// The value of a named test metric of a run.
let metric (name: string) (result: RunResult) : float =
    match result.Metrics |> List.tryFind (fun (n, _, _) -> n = name) with
    | Some (_, v, _) -> v
    | None -> failtestf "the run reported no metric '%s' (it has: %A)" name (result.Metrics |> List.map (fun (n, _, _) -> n))

let private quiet = { Experiment.consoleEvents with Log = ignore }

/// AE-LIN end to end on MNIST through the same path as `generative train`, then `--resume` for a second epoch.
let aeLinear =
    test "AE-LIN trains on MNIST to test MSE < 0.013 in 1 epoch, and a resumed second epoch improves it" {
        let data = cachedData "mnist"
        let folder = TestData.tempFolder "long-ae-linear"
        try
            let settings = { Experiment.defaults "ae-linear" with DataFolder = Some data; RunFolder = Some(Path.Combine(folder, "run")) }
            let first = Experiment.train settings quiet CancellationToken.None
            let mse1 = metric "test MSE per pixel" first
            eprintfn "ae-linear: test MSE per pixel %.5f after 1 epoch" mse1
            Expect.isLessThan mse1 0.013 "one epoch of AE-LIN (the CLI's defaults) reaches a test MSE per pixel below 0.013"
            Expect.isTrue (File.Exists first.Report) "report.html is written"
            let second = Experiment.resume first.Folder (Some (TrainingBudget.Epochs 2)) Cpu quiet CancellationToken.None
            let mse2 = metric "test MSE per pixel" second
            eprintfn "ae-linear: test MSE per pixel %.5f after the resumed second epoch" mse2
            Expect.isLessThan mse2 mse1 "the resumed second epoch lowers the test error"
            Expect.equal second.History.Epochs.Length 2 "the history holds both epochs"
        finally Directory.Delete(folder, true)
    }

/// A classifier trained on Fashion-MNIST through the same path as `generative train` (seed 42, 10% validation
/// split, early stopping) reaches at least `floor` test accuracy: the source's figure (docs/models.md) or our goal.
let private classifierFloor (id: string) (epochs: int) (batchSize: int) (floor: float) =
    test (sprintf "%s reaches %.1f%% test accuracy on Fashion-MNIST (%d epochs at most, batch %d)" id (100.0 * floor) epochs batchSize) {
        let data = cachedData "fashion-mnist"
        let folder = TestData.tempFolder ("long-" + id)
        try
            let settings =
                { Experiment.defaults id with
                    Dataset = "fashion-mnist"; DataFolder = Some data; Epochs = epochs; BatchSize = batchSize
                    RunFolder = Some(Path.Combine(folder, "run")) }
            let result = Experiment.train settings quiet CancellationToken.None
            let accuracy = metric "test accuracy" result
            // Printed so a passing run still shows the figure it measured.
            eprintfn "%s: test accuracy %.4f after %d epochs" id accuracy result.History.Epochs.Length
            Expect.isGreaterThanOrEqual accuracy floor (sprintf "%s's test accuracy meets its floor" id)
        finally Directory.Delete(folder, true)
    }

/// The classifiers' floors, with the epochs and batch sizes the documented runs use (docs/classifiers.md):
/// about 1, 1, 3 and 25 minutes on two otherwise idle cores (the whole long suite: 30 minutes).
let classifiers : Test list =
    [ classifierFloor "cls-mlp" 50 32 0.886
      classifierFloor "cls-pyr" 50 32 0.840
      classifierFloor "cls-lenet" 50 32 0.891
      classifierFloor "cls-cnn" 16 64 0.93 ]

/// Every long check.
let all : Test list = aeLinear :: classifiers
