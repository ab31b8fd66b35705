module Generative.Tests.Runs.EvaluationCancelTests

open System
open System.Diagnostics
open System.IO
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

// A cancellation must reach the long loops of a run's end (evaluation, report), not only training: a user who stops a
// run waited tens of seconds for a Frechet distance before. These tests give a real model a deliberately slow
// evaluation (a unit of work every 50 ms, 10 s in all) and time how long a cancellation takes to surface.

let private slowUnits = 200
let private unitTime = TimeSpan.FromMilliseconds 50.0

/// An evaluation that takes `slowUnits` units of `unitTime`, counting the units it runs in `ran`.
let private slowEvaluation (ran: int ref) (work: Work) (_: RunData) : (string * float * string) list =
    for i in 0 .. slowUnits - 1 do
        Work.step work "slow metric" i slowUnits
        ran.Value <- ran.Value + 1
        Thread.Sleep unitTime
    [ "slow metric", 1.0, "a test's stand-in for a long measurement" ]

let private data () : RunData = TestData.barsData 64 16

let private settings folder =
    { Experiment.defaults "ae-linear" with
        Epochs = 1; BatchSize = 32; Device = Cpu; RunFolder = Some folder; PictureCount = 4 }

/// ae-linear with the slow evaluation.
let private slowModel (s: RunSettings) (ran: int ref) : RunModel =
    { Experiment.buildModel s with Evaluate = slowEvaluation ran }

let private hasCheckpoint folder = (Checkpoint.latest (RunFolder.checkpointsFolder folder)).IsSome

[<Tests>]
let tests =
    testSequenced <| testList "Runs.EvaluationCancel" [
        test "a token cancelled during the evaluation skips it within a second, keeps the checkpoint and says so in the report" {
            let folder = TestData.tempFolder "cancel-eval"
            let s = settings folder
            use data = data ()
            let ran = ref 0
            use cts = new CancellationTokenSource()
            let clock = Stopwatch()
            // Cancelled at the evaluation's third unit: training is over, its checkpoint saved.
            let onWork (p: WorkProgress) = if p.Done = 2 && not cts.IsCancellationRequested then clock.Start(); cts.Cancel()
            let events = { OnStep = ignore; Log = ignore; OnWork = onWork }
            let r = Experiment.fitModel s (slowModel s ran) data events cts.Token
            let surfaced = clock.Elapsed
            Expect.isLessThan surfaced (TimeSpan.FromSeconds 3.0) (sprintf "the run returned %.2f s after the cancellation (the evaluation alone takes %.0f s)" surfaced.TotalSeconds (float slowUnits * unitTime.TotalSeconds))
            Expect.equal r.Outcome Completed "training itself completed"
            Expect.equal r.Evaluation Skipped "the evaluation is reported as skipped"
            Expect.isEmpty r.Metrics "no metrics from a skipped evaluation"
            Expect.isLessThan ran.Value 5 "the evaluation stopped within a unit of the cancellation"
            Expect.isTrue (hasCheckpoint folder) "the run keeps its checkpoint"
            let report = File.ReadAllText r.Report
            // isTrue rather than stringContains: a failure would print the whole page (megabytes of plotly.js).
            Expect.isTrue (report.Contains "evaluation (test metrics and end-of-run pictures) was skipped") "the report says the evaluation was skipped"
            Expect.isTrue (report.Contains(sprintf "generative eval %s" folder)) "the report says how to measure it"
        }

        test "a token cancelled during training stops it, saves a checkpoint and never starts the evaluation" {
            let folder = TestData.tempFolder "cancel-train"
            let s = { settings folder with Epochs = 3 }
            use data = data ()
            let ran = ref 0
            use cts = new CancellationTokenSource()
            let events = { OnStep = (fun p -> if p.Step = 1L then cts.Cancel()); Log = ignore; OnWork = ignore }
            let r = Experiment.fitModel s (slowModel s ran) data events cts.Token
            Expect.equal r.Outcome Cancelled "training stopped"
            Expect.equal r.Evaluation Skipped "the evaluation is skipped"
            Expect.equal ran.Value 0 "no unit of the evaluation ran"
            Expect.isTrue (hasCheckpoint folder) "the run keeps its checkpoint"
            Expect.isTrue ((File.ReadAllText r.Report).Contains "was skipped") "the report says so"
        }

        test "stopping training alone (the command line's first Ctrl+C) still evaluates the run" {
            let folder = TestData.tempFolder "cancel-train-only"
            Directory.CreateDirectory folder |> ignore
            let s = { settings folder with Epochs = 3 }
            use data = data ()
            let ran = ref 0
            use training = new CancellationTokenSource()
            let model = { Experiment.buildModel s with Evaluate = fun work _ -> ran.Value <- ran.Value + 1; Work.check work; [ "quick", 1.0, "a stand-in" ] }
            let events = { OnStep = (fun p -> if p.Step = 1L then training.Cancel()); Log = ignore; OnWork = ignore }
            let stop = { Training = training.Token; Evaluation = CancellationToken.None }
            let r = RunTraining.run (Catalog.find "ae-linear") s folder None model data events stop
            Expect.equal r.Outcome Cancelled "training stopped"
            Expect.isTrue (match r.Evaluation with Measured _ -> true | Skipped -> false) "the evaluation ran"
            Expect.equal r.Metrics [ "quick", 1.0, "a stand-in" ] "with its metrics"
        }

        test "RunModel.meanOver stops at the batch after its token is cancelled" {
            use cts = new CancellationTokenSource()
            let split = TestData.bars 40 3L
            let mutable batches = 0
            let work = { Token = cts.Token; Report = fun p -> if p.Done = 2 then cts.Cancel() }
            Expect.throwsT<OperationCanceledException>
                (fun () -> RunModel.meanOver work "test" torch.CPU 4 split (fun _ -> batches <- batches + 1; torch.tensor(1.0f)) |> ignore)
                "cancelled"
            Expect.equal batches 2 "no batch after the cancellation (of 10)"
        }

        test "t-SNE stops at the iteration after its token is cancelled, with libtorch's thread count restored" {
            use cts = new CancellationTokenSource()
            let threads = torch.get_num_threads ()
            use points = torch.randn(60L, 5L)
            let mutable seen = 0
            let work = { Token = cts.Token; Report = fun p -> seen <- p.Done; if p.Done = 3 then cts.Cancel() }
            Expect.throwsT<OperationCanceledException>
                (fun () -> Tsne.embedIn work { Tsne.defaults with Perplexity = 10.0; Iterations = 1000 } points |> ignore)
                "cancelled"
            Expect.equal seen 3 "no iteration after the cancellation (of 1000)"
            Expect.equal (torch.get_num_threads ()) threads "thread count restored"
        }

        test "k-NN votes stop at the block after their token is cancelled" {
            use cts = new CancellationTokenSource()
            cts.Cancel()
            use reference = torch.randn(50L, 3L)
            use labels = torch.zeros([| 50L |], dtype = torch.int64)
            Expect.throwsT<OperationCanceledException>
                (fun () -> Knn.accuracyIn (Work.ofToken cts.Token) 3 reference labels reference labels |> ignore)
                "cancelled"
        }

        test "a cancelled re-evaluation (generative eval) stops within a unit and leaves the run's report as it was" {
            let folder = TestData.tempFolder "cancel-reeval"
            let text = Path.Combine(folder, "text.txt")
            File.WriteAllText(text, String.replicate 150 "to be or not to be\nthat is the question\n")
            let run = Path.Combine(folder, "run")
            let s =
                { Experiment.defaults "char-lstm" with
                    TextFile = Some text; Epochs = 1; BatchSize = 4; Device = Cpu; RunFolder = Some run
                    ModelSettings = [ "hidden", "16"; "embedding", "8"; "sequence-length", "20" ] }
            let r = Experiment.train s { OnStep = ignore; Log = ignore; OnWork = ignore } CancellationToken.None
            let before = File.ReadAllBytes r.Report
            use cts = new CancellationTokenSource()
            let mutable units = 0
            let work = { Token = cts.Token; Report = fun _ -> units <- units + 1; if units = 2 then cts.Cancel() }
            Expect.throwsT<OperationCanceledException> (fun () -> Experiment.evaluateIn work run Cpu |> ignore) "cancelled"
            Expect.equal units 2 "no unit of work after the cancellation"
            Expect.equal (File.ReadAllBytes r.Report) before "the report is unchanged"
        }

        test "a classifier's test probabilities stop at the batch after their token is cancelled" {
            use cts = new CancellationTokenSource()
            Device.seed 1L
            let m = Classifier.create Classifier.mlp
            Classifier.eval m
            let split = TestData.bars 40 3L
            let mutable seen = 0
            let work = { Token = cts.Token; Report = fun p -> seen <- p.Done + 1; if p.Done = 2 then cts.Cancel() }
            // 40 images in batches of 4: ten batches; the third unit's report cancels, so no fourth batch starts.
            Expect.throwsT<OperationCanceledException>
                (fun () -> Classifier.probabilitiesOf work m 4 split.Images torch.CPU |> ignore)
                "cancelled"
            Expect.equal seen 3 "no batch after the cancellation (of 10)"
        }

        test "a language model's test cross-entropy stops at the chunk after its token is cancelled" {
            use cts = new CancellationTokenSource()
            let text = String.replicate 40 "the quick brown fox jumps over the lazy dog. "
            let c = { LanguageModel.characters with Embedding = 8; Hidden = 8; Layers = 1; Dropout = 0.0; SequenceLength = 10 }
            let m = LanguageModel.create torch.CPU { c with Vocabulary = Some (LanguageModel.vocabularyOf c text) }
            use tokens = Vocabulary.encode m.Vocabulary text
            let mutable seen = 0
            let work = { Token = cts.Token; Report = fun p -> seen <- p.Done + 1; if p.Done = 2 then cts.Cancel() }
            // 1,800 characters in 16 rows of chunks of 10: eleven chunks; the third one's report cancels.
            Expect.throwsT<OperationCanceledException>
                (fun () -> LanguageModel.meanCrossEntropyIn work m tokens |> ignore)
                "cancelled"
            Expect.equal seen 3 "no chunk after the cancellation (of 11)"
        }
    ]
