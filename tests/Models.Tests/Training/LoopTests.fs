module Generative.Tests.Training.LoopTests

open System
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

let private smallAe () =
    Device.seed 1L
    Autoencoder.create { Autoencoder.linear with EncoderWidths = [ 16 ] }

let private options = { Loop.defaults with Epochs = 2; BatchSize = 32; Seed = 7L }

[<Tests>]
let tests =
    testList "Training.Loop" [
        test "progress is reported once per step and epochs close with means" {
            let data = TestData.bars 100 1L
            let trainer = Autoencoder.trainer (smallAe ())
            let progress = ResizeArray<StepProgress>()
            let epochEnds = ResizeArray<EpochRecord>()
            let hooks = { Loop.noHooks with OnStep = progress.Add; OnEpochEnd = fun e _ _ -> epochEnds.Add e }
            let r = Loop.fit options hooks CancellationToken.None trainer data (Loop.start, History.empty)
            // 100 examples in batches of 32: 4 steps per epoch (the last has 4 examples).
            Expect.equal progress.Count 8 "one progress event per step"
            Expect.equal (progress |> Seq.map (fun p -> p.Step) |> List.ofSeq) [ 1L .. 8L ] "steps count up"
            Expect.equal progress.[7].TotalSteps 8L "total steps known"
            Expect.equal epochEnds.Count 2 "one event per epoch"
            Expect.equal r.History.Steps.Length 8 "history keeps every step"
            let firstEpochMean = r.History.Steps |> List.take 4 |> List.averageBy (fun s -> s.Terms.["loss"])
            Expect.floatClose Accuracy.high r.History.Epochs.[0].Terms.["loss"] firstEpochMean "epoch term is the mean of its steps"
            Expect.equal r.Outcome Completed "completed"
            Expect.equal r.Position { Epoch = 3; StepInEpoch = 0; Step = 8L } "position after the last epoch"
        }

        test "per-epoch test terms join each epoch's record as \"test <name>\", measured in evaluation mode without gradients and outside the epoch's time" {
            let data = TestData.bars 100 1L
            let trainer = Autoencoder.trainer (smallAe ())
            let seen = ResizeArray<bool * bool>()
            let measure () =
                seen.Add((trainer.Modules |> List.forall (fun (_, m) -> not m.training)), torch.is_grad_enabled ())
                Thread.Sleep 300
                Map [ "MSE per pixel", float seen.Count ]
            let o = { options with Validate = Some (fun () -> Map [ "loss", 1.0 ]); Test = Some measure }
            let r = Loop.fit o Loop.noHooks CancellationToken.None trainer data (Loop.start, History.empty)
            Expect.equal [ for e in r.History.Epochs -> e.Terms.TryFind "test MSE per pixel" ] [ Some 1.0; Some 2.0 ] "measured after each epoch, prefixed"
            Expect.equal [ for e in r.History.Epochs -> e.Terms.TryFind "val loss" ] [ Some 1.0; Some 1.0 ] "validation keeps its own prefix"
            Expect.equal (List.ofSeq seen) [ true, false; true, false ] "evaluation mode, no gradients"
            Expect.all r.History.Epochs (fun e -> e.Seconds < 0.3) "its 0.3 s are not the epoch's time"
            Expect.isTrue (trainer.Modules |> List.forall (fun (_, m) -> m.training)) "training mode again afterwards"
        }

        test "a step budget stops the run after that many steps, at an epoch's end too, and progress counts it" {
            let data = TestData.bars 100 1L
            let trainer = Autoencoder.trainer (smallAe ())
            let progress = ResizeArray<StepProgress>()
            let hooks = { Loop.noHooks with OnStep = progress.Add }
            let r = Loop.fit { options with Epochs = 5; MaxSteps = Some 3L } hooks CancellationToken.None trainer data (Loop.start, History.empty)
            Expect.equal r.Outcome StepBudgetReached "the budget ended it"
            Expect.equal progress.Count 3 "three steps"
            Expect.equal progress.[0].TotalSteps 3L "total steps is the budget"
            Expect.equal r.Position { Epoch = 1; StepInEpoch = 3; Step = 3L } "mid-epoch 1"
            Expect.isEmpty r.History.Epochs "no epoch finished"
            Expect.isGreaterThan r.PartialEpochSeconds 0.0 "the time of the unfinished epoch is kept"
            let atEnd = Loop.fit { options with Epochs = 5; MaxSteps = Some 4L } Loop.noHooks CancellationToken.None trainer data (Loop.start, History.empty)
            Expect.equal atEnd.Outcome StepBudgetReached "a budget spent at an epoch's end stops before the next epoch"
            Expect.equal atEnd.Position { Epoch = 2; StepInEpoch = 0; Step = 4L } "after epoch 1"
            Expect.equal atEnd.History.Epochs.Length 1 "epoch 1 recorded"
            Expect.equal atEnd.PartialEpochSeconds 0.0 "no unfinished epoch: its time is in the epoch record"
        }

        test "cancellation stops between steps and reports where" {
            let data = TestData.bars 100 1L
            let trainer = Autoencoder.trainer (smallAe ())
            use cts = new CancellationTokenSource()
            let hooks = { Loop.noHooks with OnStep = fun p -> if p.Step = 3L then cts.Cancel() }
            let r = Loop.fit options hooks cts.Token trainer data (Loop.start, History.empty)
            Expect.equal r.Outcome Cancelled "cancelled"
            Expect.equal r.Position { Epoch = 1; StepInEpoch = 3; Step = 3L } "stopped right after step 3"
            Expect.equal r.History.Steps.Length 3 "three steps recorded"
        }

        testTheory "a non-finite loss stops training with the step and term named" [ nan; infinity; -infinity ] <| fun bad ->
            let data = TestData.bars 64 1L
            let mutable calls = 0
            let trainer =
                { Modules = []; Optimizers = []
                  Step = (fun _ -> calls <- calls + 1; Map [ "recon", 1.0; "kl", (if calls = 3 then bad else 0.5) ])
                  Carried = None }
            let ex =
                TestData.raises<NonFiniteLossException> (fun () ->
                    Loop.fit { options with BatchSize = 16 } Loop.noHooks CancellationToken.None trainer data (Loop.start, History.empty) |> ignore)
            Expect.equal ex.Step 3L "the third step"
            Expect.equal ex.Term "kl" "names the term"
            Expect.stringContains ex.Message "'kl'" "message names the term"
            Expect.stringContains ex.Message "step 3" "message names the step"
            Expect.equal calls 3 "no step after the bad one"

        test "a checkpoint interval calls OnCheckpoint inside an epoch once that much time has passed" {
            let data = TestData.bars 64 1L
            let trainer =
                { Modules = []; Optimizers = []; Carried = None
                  Step = fun _ -> Thread.Sleep 30; Map [ "loss", 1.0 ] }
            let checkpoints = ResizeArray<TrainingPosition * TimeSpan>()
            let clock = Diagnostics.Stopwatch.StartNew()
            let hooks = { Loop.noHooks with OnCheckpoint = fun _ pos -> checkpoints.Add((pos, clock.Elapsed)) }
            // 8 steps an epoch of at least 30 ms each and a 50 ms interval: a checkpoint every second step or so (every
            // step on a busy machine), never at an epoch's end, whose own hook restarts the interval.
            let interval = TimeSpan.FromMilliseconds 50.0
            Loop.fit { options with BatchSize = 8; CheckpointInterval = Some interval } hooks
                CancellationToken.None trainer data (Loop.start, History.empty) |> ignore
            let positions = [ for (p, _) in checkpoints -> p ]
            Expect.isTrue (positions |> List.exists (fun p -> p.Epoch = 1)) "a checkpoint inside epoch 1"
            Expect.isTrue (positions |> List.exists (fun p -> p.Epoch = 2)) "and inside epoch 2"
            Expect.isTrue (positions |> List.forall (fun p -> p.StepInEpoch > 0 && p.StepInEpoch < 8)) "never at an epoch's end"
            // Never sooner than the interval after the previous one (the first needs two 30-ms steps at least).
            for ((_, before), (_, after)) in List.pairwise (List.ofSeq checkpoints) do
                Expect.isGreaterThanOrEqual (after - before) (TimeSpan.FromMilliseconds 30.0) "spaced by a step at least"
            let untimed = ResizeArray<TrainingPosition>()
            Loop.fit { options with BatchSize = 8 } { hooks with OnCheckpoint = fun _ pos -> untimed.Add pos }
                CancellationToken.None trainer data (Loop.start, History.empty) |> ignore
            Expect.isEmpty untimed "none without an interval"
        }

        testTheory "invalid options are rejected with the field named" [ "Epochs"; "BatchSize"; "MaxSteps"; "CheckpointEverySteps"; "CheckpointInterval" ] <| fun field ->
            let spoilt =
                match field with
                | "Epochs" -> { options with Epochs = 0 }
                | "BatchSize" -> { options with BatchSize = 0 }
                | "MaxSteps" -> { options with MaxSteps = Some 0L }
                | "CheckpointInterval" -> { options with CheckpointInterval = Some TimeSpan.Zero }
                | _ -> { options with CheckpointEverySteps = -1 }
            let data = TestData.bars 8 1L
            let trainer = Autoencoder.trainer (smallAe ())
            let ex =
                TestData.raises<ArgumentException> (fun () ->
                    Loop.fit spoilt Loop.noHooks CancellationToken.None trainer data (Loop.start, History.empty) |> ignore)
            Expect.equal ex.ParamName field "the field is named"

        test "the autoencoder learns: loss falls below half its start on a small structured batch" {
            let data = TestData.bars 256 3L
            let trainer = Autoencoder.trainer (smallAe ())
            let r = Loop.fit { options with Epochs = 30; BatchSize = 64 } Loop.noHooks CancellationToken.None trainer data (Loop.start, History.empty)
            let first = r.History.Steps.Head.Terms.["loss"]
            let last = (List.last r.History.Epochs).Terms.["loss"]
            Expect.isLessThan last (first / 2.0) (sprintf "loss fell from %g to %g" first last)
        }
    ]
