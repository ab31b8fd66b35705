module Generative.Tests.Training.EarlyStoppingTests

open System
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// A one-weight "model" whose step adds 1 to the weight, so the weight says how many steps were taken.

/// Runs `f`, expecting an exception of type 'E, and returns it.
let private raises<'E when 'E :> exn> (f: unit -> unit) : 'E =
    try
        f ()
        failtestf "expected %s" typeof<'E>.Name
    with :? 'E as e -> e

let private counter () =
    let m = torch.nn.Linear(1L, 1L, hasBias = false)
    use _ = torch.no_grad()
    m.weight.zero_() |> ignore
    { Modules = [ "m", m :> torch.nn.Module ]
      Optimizers = []
      Step = fun _ -> (use _ = torch.no_grad() in m.weight.add_(torch.ones(1L, 1L)) |> ignore); Map [ "loss", 1.0 ] },
    m

/// A validation function returning the scripted values, one per epoch.
let private scripted (values: float list) =
    let mutable epoch = 0
    fun () ->
        let v = values.[min epoch (values.Length - 1)]
        epoch <- epoch + 1
        Map [ "loss", v ]

[<Tests>]
let tests =
    testList "Training.EarlyStopping" [
        test "validation terms join the epoch records as 'val <term>'" {
            let trainer, _ = counter ()
            let options = { Loop.defaults with Epochs = 3; BatchSize = 10; Validate = Some (scripted [ 3.0; 2.0; 1.0 ]) }
            let r = Loop.fit options Loop.noHooks CancellationToken.None trainer (TestData.bars 20 1L) (Loop.start, History.empty)
            Expect.equal (r.History.Epochs |> List.map (fun e -> e.Terms.["val loss"])) [ 3.0; 2.0; 1.0 ] "one value per epoch"
            Expect.equal r.Outcome Completed "all epochs ran"
            Expect.isNone r.RestoredEpoch "nothing to restore without early stopping"
        }

        test "training stops after `patience` epochs without improvement and keeps the best weights" {
            let trainer, m = counter ()
            let stopping = { Monitor = "val loss"; Maximize = false; Patience = 2; RestoreBest = true }
            let options =
                { Loop.defaults with
                    Epochs = 10; BatchSize = 10
                    Validate = Some (scripted [ 3.0; 1.0; 2.0; 1.5; 0.5 ]); EarlyStopping = Some stopping }
            // 20 images in batches of 10: 2 steps per epoch.
            let r = Loop.fit options Loop.noHooks CancellationToken.None trainer (TestData.bars 20 1L) (Loop.start, History.empty)
            Expect.equal r.Outcome StoppedEarly "stopped"
            Expect.equal r.History.Epochs.Length 4 "best at epoch 2, no better value in epochs 3 and 4"
            Expect.equal r.RestoredEpoch (Some 2) "epoch 2's weights restored"
            Expect.floatClose Accuracy.veryHigh (m.weight.ToSingle() |> float) 4.0 "the weight after epoch 2's four steps"
        }

        test "maximising a term and a missing term" {
            let trainer, _ = counter ()
            let stopping = { Monitor = "val loss"; Maximize = true; Patience = 1; RestoreBest = false }
            let options = { Loop.defaults with Epochs = 5; BatchSize = 10; Validate = Some (scripted [ 1.0; 2.0; 1.0 ]); EarlyStopping = Some stopping }
            let r = Loop.fit options Loop.noHooks CancellationToken.None trainer (TestData.bars 20 1L) (Loop.start, History.empty)
            Expect.equal r.History.Epochs.Length 3 "best 2.0 at epoch 2; epoch 3 is worse"
            Expect.isNone r.RestoredEpoch "RestoreBest off"
            let missing = { options with Validate = None }
            let e = raises<InvalidOperationException> (fun () ->
                        Loop.fit missing Loop.noHooks CancellationToken.None trainer (TestData.bars 20 1L) (Loop.start, History.empty) |> ignore)
            Expect.stringContains e.Message "val loss" "names the watched term"
        }

        test "the held-out split comes from the end of the training split" {
            let data = TestData.bars 50 3L
            let plan = { Validation = Some { Fraction = 0.2; Measure = (fun _ -> Map.empty); EarlyStopping = None }; Inputs = None }
            let train, held = Experiment.splitForTraining plan data
            Expect.equal train.Count 40L "80% trained on"
            Expect.equal held.Value.Count 10L "20% held out"
            Expect.isTrue (torch.allclose(held.Value.Images, data.Images.narrow(0L, 40L, 10L))) "the last images"
            let e = raises<ArgumentException> (fun () ->
                        Experiment.splitForTraining { plan with Validation = Some { plan.Validation.Value with Fraction = 1.0 } } data |> ignore)
            Expect.equal e.ParamName "Fraction" "names the fraction"
        }
    ]
