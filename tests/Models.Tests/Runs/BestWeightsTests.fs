module Generative.Tests.Runs.BestWeightsTests

open System
open System.IO
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

// Early stopping across an interruption: a run reaches its best epoch, is stopped after a later, worse epoch,
// then resumed in a new model (as `generative train --resume` does) and stopped early; it must end with the best
// epoch's weights, which only the run folder still holds.

/// Validation accuracy of the counter model below by the epoch its weight says it has trained (2 steps an
/// epoch): best at epoch 2, never beaten later.
let private accuracyAfterEpoch = Map [ 1, 0.5; 2, 0.9; 3, 0.6; 4, 0.7; 5, 0.8; 6, 0.85 ]

/// A one-weight classifier stand-in whose step adds 1 to the weight (so the weight counts the steps taken, and
/// tells which epoch's weights the model holds) and whose validation accuracy is a function of that weight.
let private counterModel () : RunModel =
    let m = torch.nn.Linear(1L, 1L, hasBias = false)
    (use _ = torch.no_grad() in m.weight.zero_() |> ignore)
    let weight () = float (m.weight.ToSingle())
    { Trainer =
        { Modules = [ "m", m :> torch.nn.Module ]
          Optimizers = []
          Step = fun _ -> (use _ = torch.no_grad() in m.weight.add_(torch.ones(1L, 1L)) |> ignore); Map [ "loss", 1.0 ]
          Carried = None }
      Pictures = fun _ -> []
      ComparedTerms = []
      Passages = RunModel.noPassages
      Generate = None
      Evaluate = fun _ _ -> [ "weight", weight (), "the counter's weight: steps its weights have trained" ]
      Reconstruct = None; Encode = None; Decode = None; Sample = None; Classify = None
      Extras = RunModel.noExtras
      EpochTest = None
      Training =
        ShuffledImages
          { Validation =
              Some { Fraction = 0.1
                     Measure = fun _ -> Map [ "accuracy", accuracyAfterEpoch.[int (weight ()) / 2] ]
                     EarlyStopping = Some { Monitor = "val accuracy"; Maximize = true; Patience = 3; RestoreBest = true } }
            Inputs = None } }

/// 20 training images: 18 trained on in batches of 9 (2 steps an epoch), 2 held out.
let private dataset () : RunData = TestData.barsData 20 8

let private settings folder =
    { Experiment.defaults "cls-mlp" with Epochs = 10; BatchSize = 9; Device = Cpu; RunFolder = Some folder; PictureCount = 4 }

/// Trains into `folder` and cancels after step 7 (mid epoch 4, after the worse epoch 3); returns the log lines.
let private interruptedRun folder data =
    use cts = new CancellationTokenSource()
    let log = ResizeArray<string>()
    let events = { OnStep = (fun p -> if p.Step = 7L then cts.Cancel()); Log = log.Add; OnWork = ignore }
    let r = Experiment.fitModel (settings folder) (counterModel ()) data events cts.Token
    Expect.equal r.Outcome Cancelled "interrupted"
    Expect.equal (r.History.Epochs |> List.map (fun e -> e.Epoch)) [ 1; 2; 3 ] "three epochs completed"
    Expect.isNone r.KeptEpoch "a cancelled run keeps its last weights to resume from"

/// Resumes the run in a fresh model; returns the result, the log and the model.
let private resumedRun folder data =
    let log = ResizeArray<string>()
    let model = counterModel ()
    let r = Experiment.resumeModel folder None Cpu model data { OnStep = ignore; Log = log.Add; OnWork = ignore } CancellationToken.None
    r, List.ofSeq log, model

let private metric name (r: RunResult) = r.Metrics |> List.pick (fun (n, v, _) -> if n = name then Some v else None)

[<Tests>]
let tests =
    testList "Runs.BestWeights" [
        test "a run interrupted after its best epoch and resumed ends with the best epoch's weights" {
            let folder = TestData.tempFolder "best-resume"
            use data = dataset ()
            interruptedRun folder data
            let best = Checkpoint.bestPath (Path.Combine(folder, "checkpoints"))
            Expect.isTrue (File.Exists best) "the best epoch's weights are on disk"
            let r, log, model = resumedRun folder data
            Expect.equal r.Outcome StoppedEarly "no epoch after 2 beats it within the patience of 3"
            Expect.equal (r.History.Epochs |> List.map (fun e -> e.Epoch)) [ 1; 2; 3; 4; 5 ] "epochs 4 and 5 trained after the resume"
            Expect.equal r.KeptEpoch (Some 2) "epoch 2 was kept"
            // Epoch 2 ends after step 4: its weight is 4 (the last epoch's would be 10).
            Expect.equal (metric "weight" r) 4.0 "the test metrics measure epoch 2's weights"
            Expect.equal (model.Trainer.Modules.Head |> snd |> fun m -> m.parameters() |> Seq.head |> fun p -> p.ToSingle()) 4.0f "the model holds them"
            Expect.isTrue (log |> List.exists (fun l -> l.Contains "kept the weights of epoch 2")) "the log says which epoch was kept"
            Expect.stringContains (File.ReadAllText r.Report) "put back the weights of epoch 2" "the report says which epoch was kept"
            // Loading the run afterwards gives the best weights too (the last checkpoint was overwritten with them).
            // (`Experiment.load` would build the catalog's cls-mlp; restore into the counter as it does.)
            let loaded = counterModel ()
            Checkpoint.restore (Checkpoint.latest (Path.Combine(folder, "checkpoints"))).Value true loaded.Trainer |> ignore
            Expect.equal (TestData.weightsOf loaded.Trainer) [ "m.weight", [| 4.0f |] ] "the run's newest checkpoint holds epoch 2's weights"
            // What a rebuilt report (`generative eval`) checks to say which epoch the loaded weights are.
            Expect.equal (Checkpoint.heldBestEpoch (Path.Combine(folder, "checkpoints")) loaded.Trainer) (Some 2) "they are the best file's"
            Directory.Delete(folder, true)
        }

        test "a missing or damaged best file: the resumed run keeps its last weights and says so" {
            // A failure only at the very end, once training is done, should not cost the run its checkpoint,
            // metrics and report: it keeps the last weights (what its last checkpoint holds) and says so.
            for damage, expected in
                [ (fun (path: string) -> File.Delete path), "no best weights saved"
                  (fun path -> File.WriteAllBytes(path, [| 1uy; 2uy; 3uy |])), "not a valid safetensors file"
                  (fun path -> File.WriteAllBytes(path, SafeTensors.toBytesWithMetadata [ "generative.epoch", "3" ] [ "m.weight", torch.ones(1L, 1L) ])),
                  "holds the weights of epoch 3, but the best epoch in the run's history is 2" ] do
                let folder = TestData.tempFolder "best-damaged"
                use data = dataset ()
                interruptedRun folder data
                damage (Checkpoint.bestPath (Path.Combine(folder, "checkpoints")))
                let r, log, _ = resumedRun folder data
                Expect.equal r.Outcome StoppedEarly "training ran to the early stop"
                Expect.isNone r.KeptEpoch "no earlier epoch put back"
                Expect.equal (metric "weight" r) 10.0 "the last epoch's weights (step 10), unchanged by the failed restore"
                let last = counterModel ()
                Checkpoint.restore (Checkpoint.latest (Path.Combine(folder, "checkpoints"))).Value true last.Trainer |> ignore
                Expect.isNone (Checkpoint.heldBestEpoch (Path.Combine(folder, "checkpoints")) last.Trainer) "the saved weights are not taken for the best's"
                let warning = log |> List.tryFind (fun l -> l.Contains "could not put back the weights of the best epoch (2)")
                Expect.isSome warning "a warning names the best epoch"
                Expect.stringContains warning.Value expected "and the reason"
                Expect.stringContains warning.Value "keeps the weights of its last epoch" "and what the run does instead"
                Expect.stringContains (File.ReadAllText r.Report) "weights of its last epoch (5)" "the report says which epoch the model holds"
                Directory.Delete(folder, true)
        }
    ]
