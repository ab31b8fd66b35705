module Generative.Tests.Runs.RunMetricsTests

open System
open System.IO
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

// metrics.json: every run ends with one (completed, stopped or diverged), `generative eval` rewrites it, and
// `generative runs` and `compare` read it back.

/// A one-weight stand-in whose step adds 1 to its weight; its test metrics are the weight (an accuracy) and a loss.
let private counterModel () : RunModel =
    let m = torch.nn.Linear(1L, 1L, hasBias = false)
    (use _ = torch.no_grad() in m.weight.zero_() |> ignore)
    let weight () = float (m.weight.ToSingle())
    TestData.stubModel m
        (fun () -> (use _ = torch.no_grad() in m.weight.add_(torch.ones(1L, 1L)) |> ignore); Map [ "loss", 10.0 - weight () ])
        (fun () -> [ "test accuracy", weight () / 100.0, "the counter's weight / 100"; "test loss", 1.0 / (1.0 + weight ()), "1 / (1 + weight)" ])

/// 18 training images in batches of 9: 2 steps an epoch.
let private dataset () = TestData.barsData 18 4

let private quiet = { OnStep = ignore; Log = ignore; OnWork = ignore }

/// Trains the counter for `epochs` into `folder`, cancelling after `stopAfter` steps when given.
let private train (folder: string) (epochs: int) (stopAfter: int64 option) =
    use data = dataset ()
    use cts = new CancellationTokenSource()
    let events = { quiet with OnStep = fun p -> if Some p.Step = stopAfter then cts.Cancel() }
    let s = { Experiment.defaults "cls-mlp" with Epochs = epochs; BatchSize = 9; Device = Cpu; RunFolder = Some folder; PictureCount = 4 }
    Experiment.fitModel s (counterModel ()) data events cts.Token

[<Tests>]
let tests =
    testList "Runs.Metrics" [
        test "a completed run writes metrics.json with its status, epochs, steps, timings and test metrics" {
            let root = TestData.tempFolder "metrics-json"
            try
                let folder = Path.Combine(root, "run")
                let r = train folder 3 None
                let m = (RunMetricsFile.tryRead folder).Value
                Expect.equal m.Status RunStatus.Completed "completed"
                Expect.isTrue m.Evaluated "evaluated"
                Expect.equal (m.EpochsTrained, m.EpochsPlanned, m.Steps) (3, 3, 6L) "3 epochs of 2 steps"
                Expect.equal [ for x in m.Metrics -> x.Name, x.Value, x.How ] r.Metrics "the run's metrics"
                Expect.equal [ for x in m.Metrics -> x.Direction ] [ MetricDirection.HigherIsBetter; MetricDirection.LowerIsBetter ] "directions"
                Expect.allEqual [ for x in m.Metrics -> x.Split, x.Examples ] ("test", 4L) "measured on the 4 test images"
                Expect.floatClose Accuracy.veryHigh m.TrainingSeconds (r.History.Epochs |> List.sumBy (fun e -> e.Seconds)) "epoch durations"
                Expect.isSome m.EvaluationSeconds "evaluation timed"
            finally Directory.Delete(root, true)
        }

        test "an interrupted run's metrics.json says so, without metrics" {
            let root = TestData.tempFolder "metrics-json-stop"
            try
                let folder = Path.Combine(root, "run")
                train folder 3 (Some 3L) |> ignore
                let m = (RunMetricsFile.tryRead folder).Value
                Expect.equal m.Status RunStatus.Interrupted "interrupted"
                Expect.isFalse m.Evaluated "the evaluation was skipped"
                Expect.isEmpty m.Metrics "no metrics"
                Expect.equal (m.EpochsTrained, m.Steps) (1, 3L) "one whole epoch, three steps"
            finally Directory.Delete(root, true)
        }

        test "metrics.json round-trips, NaN included, and a damaged one is an error naming the file" {
            let root = TestData.tempFolder "metrics-json-read"
            try
                let m =
                    { Format = RunMetricsFile.format; ModelId = "gan-mlp"; Dataset = "MNIST"; Status = RunStatus.StepBudgetReached
                      Evaluated = true; EpochsTrained = 0; EpochsPlanned = 1; Steps = 400L; KeptEpoch = Some 2
                      TrainingSeconds = 12.5; EvaluationSeconds = Some 1.25
                      Metrics = [ { Name = "Frechet distance"; Value = nan; How = "not measured"; Split = "test"; Examples = 10000L
                                    Direction = MetricDirection.LowerIsBetter } ]
                      WrittenUtc = DateTime(2026, 12, 2, 13, 0, 0, DateTimeKind.Utc) }
                RunMetricsFile.write root m
                let back = (RunMetricsFile.tryRead root).Value
                Expect.equal { back with Metrics = [] } { m with Metrics = [] } "every field"
                Expect.isTrue (Double.IsNaN back.Metrics.Head.Value) "NaN survives"
                Expect.equal { back.Metrics.Head with Value = 0.0 } { m.Metrics.Head with Value = 0.0 } "the metric's fields"
                File.WriteAllText(RunMetricsFile.path root, "{ \"format\": 1, \"model\": 3 }")
                let e = TestData.raises<InvalidDataException> (fun () -> RunMetricsFile.tryRead root |> ignore)
                Expect.stringContains e.Message (RunMetricsFile.path root) "names the file"
            finally Directory.Delete(root, true)
        }

        test "the metric directions of the library's own metrics" {
            for name in [ "test accuracy"; "inception score"; "5-NN accuracy of test codes" ] do
                Expect.equal (RunMetricsFile.directionOf name) MetricDirection.HigherIsBetter name
            for name in [ "test MSE per pixel"; "Frechet distance"; "test negative ELBO (nats)"; "bits per character"; "perplexity"; "largest predicted-class share" ] do
                Expect.equal (RunMetricsFile.directionOf name) MetricDirection.LowerIsBetter name
            for name in [ "unigram baseline, bits per character"; "test D(code)" ] do
                Expect.equal (RunMetricsFile.directionOf name) MetricDirection.Unranked name
        }

        test "runs are listed and compared: the best value of each metric is marked and only differing settings shown" {
            let root = TestData.tempFolder "compare"
            try
                let a = Path.Combine(root, "a")
                let b = Path.Combine(root, "b")
                train a 3 None |> ignore
                train b 1 None |> ignore
                File.WriteAllText(Path.Combine(Directory.CreateDirectory(Path.Combine(root, "broken")).FullName, "run.json"), "{")
                let found, damaged = RunIndex.under root
                Expect.equal [ for r in found -> Path.GetFileName r.Folder ] [ "a"; "b" ] "both runs, oldest first"
                Expect.equal (damaged |> List.map (fst >> Path.GetFileName)) [ "broken" ] "the damaged folder is reported"
                let table = RunComparison.metricsTable found
                let best name = table |> List.pick (fun (n, _, b) -> if n = name then Some b else None)
                Expect.equal (best "test accuracy") (Some 0) "run a trained longer: higher accuracy"
                Expect.equal (best "test loss") (Some 0) "and lower loss"
                Expect.equal (RunComparison.differingSettings found) [ "epochs", [ "3"; "1" ] ] "only the epochs differ"
                let page = File.ReadAllText(RunComparison.write (Path.Combine(root, "compare.html")) [ a; b ])
                Expect.stringContains page "<td class=\"num best\">0.06</td>" "the best accuracy is marked"
                Expect.stringContains page "\"title\":\"loss (per step)\"" "one chart per term"
                Expect.stringContains page "\"runs\":[\"a\",\"b\"]" "the runs in table order, for their colours"
                Expect.stringContains page "id=\"smoothing\"" "a smoothing slider"
            finally Directory.Delete(root, true)
        }

        test "long histories are averaged to at most maxPointsPerCurve points" {
            let points = [ for i in 1 .. 10_000 -> float i, float (i % 2) ]
            let reduced = RunComparison.downsample points
            Expect.isLessThanOrEqual reduced.Length RunComparison.maxPointsPerCurve "bounded"
            Expect.floatClose Accuracy.high (List.averageBy snd reduced) 0.5 "means kept"
            Expect.equal (RunComparison.downsample [ 1.0, 2.0 ]) [ 1.0, 2.0 ] "short ones unchanged"
        }
    ]
