module Generative.Tests.Training.EarlyStoppingTests

open System
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// A one-weight "model" whose step adds 1 to the weight, so the weight says how many steps were taken.
let private counter () =
    let m = torch.nn.Linear(1L, 1L, hasBias = false)
    use _ = torch.no_grad()
    m.weight.zero_() |> ignore
    { Modules = [ "m", m :> torch.nn.Module ]
      Optimizers = []
      Step = fun _ -> (use _ = torch.no_grad() in m.weight.add_(torch.ones(1L, 1L)) |> ignore); Map [ "loss", 1.0 ]
      Carried = None },
    m

let private setWeight (m: Modules.Linear) (value: float32) =
    use _ = torch.no_grad()
    m.weight.fill_(value) |> ignore

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

        test "a resumed run whose best epoch predates the resume asks the hooks for its weights" {
            // First process: epochs 1-3, best at epoch 2 (saved through OnNewBest), interrupted after epoch 3.
            let trainer, m = counter ()
            let stopping = { Monitor = "val loss"; Maximize = false; Patience = 2; RestoreBest = true }
            let options = { Loop.defaults with Epochs = 10; BatchSize = 10; EarlyStopping = Some stopping }
            let saved = ResizeArray<int * float32>()
            use cts = new CancellationTokenSource()
            let first =
                { Loop.noHooks with
                    OnNewBest = fun r -> saved.Add(r.Epoch, m.weight.ToSingle())
                    OnEpochEnd = fun r _ _ -> if r.Epoch = 3 then cts.Cancel() }
            let part =
                Loop.fit { options with Validate = Some (scripted [ 3.0; 1.0; 2.0 ]) } first cts.Token trainer (TestData.bars 20 1L)
                    (Loop.start, History.empty)
            Expect.equal part.Outcome Cancelled "interrupted"
            Expect.equal (List.ofSeq saved) [ 1, 2.0f; 2, 4.0f ] "each new best reached OnNewBest with its weights in the modules"
            Expect.isNone part.RestoredEpoch "a cancelled run keeps its last weights"
            // Second process (the weight carries on from 6, as a restored checkpoint would): epoch 4 is worse, stop.
            let asked = ResizeArray<int>()
            let restoreFrom (available: bool) =
                { Loop.noHooks with
                    RestoreEarlierBest =
                        fun epoch ->
                            asked.Add epoch
                            if available then setWeight m (snd saved.[1])
                            available }
            let resumed = { options with Validate = Some (scripted [ 1.5 ]) }
            let r = Loop.fit resumed (restoreFrom true) CancellationToken.None trainer (TestData.bars 20 1L) (part.Position, part.History)
            Expect.equal r.Outcome StoppedEarly "epochs 3 and 4 did not beat epoch 2"
            Expect.equal (List.ofSeq asked) [ 2 ] "asked once, for epoch 2"
            Expect.equal r.RestoredEpoch (Some 2) "epoch 2 reported as restored"
            Expect.equal (m.weight.ToSingle()) 4.0f "epoch 2's weights"
            // When the hook cannot restore them, the run keeps its last weights and reports no restored epoch.
            setWeight m 6.0f
            let r2 = Loop.fit resumed (restoreFrom false) CancellationToken.None trainer (TestData.bars 20 1L) (part.Position, part.History)
            Expect.isNone r2.RestoredEpoch "nothing restored"
            Expect.equal (m.weight.ToSingle()) 8.0f "the last epoch's weights"
        }

        test "maximising a term and a missing term" {
            let trainer, _ = counter ()
            let stopping = { Monitor = "val loss"; Maximize = true; Patience = 1; RestoreBest = false }
            let options = { Loop.defaults with Epochs = 5; BatchSize = 10; Validate = Some (scripted [ 1.0; 2.0; 1.0 ]); EarlyStopping = Some stopping }
            let r = Loop.fit options Loop.noHooks CancellationToken.None trainer (TestData.bars 20 1L) (Loop.start, History.empty)
            Expect.equal r.History.Epochs.Length 3 "best 2.0 at epoch 2; epoch 3 is worse"
            Expect.isNone r.RestoredEpoch "RestoreBest off"
            let missing = { options with Validate = None }
            let e = TestData.raises<InvalidOperationException> (fun () ->
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
            let e = TestData.raises<ArgumentException> (fun () ->
                        Experiment.splitForTraining { plan with Validation = Some { plan.Validation.Value with Fraction = 1.0 } } data |> ignore)
            Expect.equal e.ParamName "validation" "names the validation setting"
        }
    ]
