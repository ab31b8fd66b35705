module Generative.Tests.Runs.DivergenceTests

open System.IO
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

// A run whose loss stops being finite ends with an error that says which checkpoint exists: resuming would repeat
// the same steps, so the newest checkpoint is what is left of the run.

/// A one-weight stand-in whose loss becomes NaN at step `badStep`.
let private divergingModel (badStep: int64) : RunModel =
    let mutable step = 0L
    TestData.stubModel (torch.nn.Linear(1L, 1L, hasBias = false)) (fun () -> step <- step + 1L; Map [ "loss", (if step = badStep then nan else 1.0) ]) (fun () -> [])

let private diverge (badStep: int64) =
    let folder = TestData.tempFolder "diverged"
    use data = TestData.barsData 18 4
    let s = { Experiment.defaults "cls-mlp" with Epochs = 3; BatchSize = 9; Device = Cpu; RunFolder = Some folder; PictureCount = 4 }
    let quiet = { OnStep = ignore; Log = ignore; OnWork = ignore }
    let e = TestData.raises<NonFiniteLossException> (fun () -> Experiment.fitModel s (divergingModel badStep) data quiet CancellationToken.None |> ignore)
    folder, e

[<Tests>]
let tests =
    testList "Runs.Divergence" [
        test "a run that diverges before its first checkpoint says none exists" {
            let folder, e = diverge 2L
            try
                Expect.equal e.Step 2L "the step"
                Expect.isNone e.LastCheckpoint "no checkpoint"
                Expect.stringContains e.Message "No checkpoint" "says there is none"
                Expect.isFalse (e.Message.Contains "intact") "promises nothing"
                Expect.isNone (Checkpoint.latest (Path.Combine(folder, "checkpoints"))) "and indeed there is none"
            finally Directory.Delete(folder, true)
        }

        test "a run that diverges after a checkpoint names it, and it loads" {
            let folder, e = diverge 4L
            try
                let newest = Checkpoint.latest (Path.Combine(folder, "checkpoints"))
                Expect.isSome newest "epoch 1's checkpoint exists"
                Expect.equal e.LastCheckpoint newest "the exception names it"
                Expect.stringContains e.Message newest.Value "the message names it"
                Expect.equal (Checkpoint.readInfo newest.Value).Position.Step 2L "written after step 2, before the divergence at step 4"
                let m = (RunMetricsFile.tryRead folder).Value
                Expect.equal (m.Status, m.Steps, m.EpochsTrained, m.Evaluated) (RunStatus.Diverged, 3L, 1, false) "metrics.json says it diverged after 3 good steps"
            finally Directory.Delete(folder, true)
        }
    ]
