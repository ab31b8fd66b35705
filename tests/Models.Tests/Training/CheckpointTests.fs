module Generative.Tests.Training.CheckpointTests

open System
open System.IO
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

let private config = { Autoencoder.linear with EncoderWidths = [ 16 ] }
let private options = { Loop.defaults with Epochs = 3; BatchSize = 32; Seed = 11L }
let private info pos = { ModelId = "ae-linear"; Settings = SettingsTable.print Autoencoder.settings config; Position = pos; CreatedUtc = DateTime.UtcNow }

/// A fresh run: seed, create, trainer (the order every run uses, so initial weights are reproducible).
let private fresh () =
    Device.seed 5L
    let m = Autoencoder.create config
    m, Autoencoder.trainer m

/// Noise in every step (a corrupting transform drawn from the global generator), so the RNG state matters.
let private noisy = { options with Transform = fun b -> { b with Inputs = b.Inputs + torch.randn_like(b.Inputs) * 0.05f } }

[<Tests>]
let tests =
    testList "Training.Checkpoint" [
        test "save then restore gives identical weights and outputs" {
            let data = TestData.bars 64 2L
            let m, trainer = fresh ()
            let r = Loop.fit options Loop.noHooks CancellationToken.None trainer data (Loop.start, History.empty)
            let folder = TestData.tempFolder "ckpt"
            let saved = Checkpoint.save folder 3 trainer r.History (info r.Position)
            let m2, trainer2 = fresh ()
            let info2, history2 = Checkpoint.restore saved false trainer2
            Expect.equal (TestData.weightsOf trainer2) (TestData.weightsOf trainer) "weights identical"
            use x = data.Images.narrow(0L, 0L, 8L)
            use y1 = Autoencoder.reconstruct m x
            use y2 = Autoencoder.reconstruct m2 x
            Expect.isTrue (y1.Equals y2) "outputs identical"
            Expect.equal info2.Position r.Position "position restored"
            Expect.equal history2.Steps.Length r.History.Steps.Length "history restored"
            Expect.equal (Checkpoint.latest folder) (Some saved) "latest points at it"
            Directory.Delete(folder, true)
        }

        test "an interrupted and resumed run ends with the same weights as an uninterrupted one" {
            let data = TestData.bars 100 4L
            let _, straight = fresh ()
            let full = Loop.fit noisy Loop.noHooks CancellationToken.None straight data (Loop.start, History.empty)
            // Interrupt mid-epoch 2, save, throw everything away, rebuild, restore, continue.
            let folder = TestData.tempFolder "resume"
            let _, first = fresh ()
            use cts = new CancellationTokenSource()
            let hooks = { Loop.noHooks with OnStep = fun p -> if p.Step = 6L then cts.Cancel() }
            let part = Loop.fit noisy hooks cts.Token first data (Loop.start, History.empty)
            Expect.equal part.Outcome Cancelled "interrupted"
            let ck = Checkpoint.save folder 2 first part.History (info part.Position)
            let _, second = fresh ()
            let restored, history = Checkpoint.restore ck false second
            let rest = Loop.fit noisy Loop.noHooks CancellationToken.None second data (restored.Position, history)
            Expect.equal (TestData.weightsOf second) (TestData.weightsOf straight) "same final weights"
            Expect.equal (rest.History.Steps |> List.map (fun s -> s.Terms)) (full.History.Steps |> List.map (fun s -> s.Terms)) "same loss at every step"
            Directory.Delete(folder, true)
        }

        test "a run stopped by its step budget mid-epoch and resumed with a larger one equals an uninterrupted run" {
            let data = TestData.bars 100 4L
            let _, straight = fresh ()
            let full = Loop.fit noisy Loop.noHooks CancellationToken.None straight data (Loop.start, History.empty)
            let folder = TestData.tempFolder "budget"
            let _, first = fresh ()
            // 4 steps per epoch: a budget of 6 stops half-way through epoch 2.
            let part = Loop.fit { noisy with MaxSteps = Some 6L } Loop.noHooks CancellationToken.None first data (Loop.start, History.empty)
            Expect.equal part.Outcome StepBudgetReached "the budget ended the run"
            Expect.equal part.Position { Epoch = 2; StepInEpoch = 2; Step = 6L } "stopped after step 6, mid-epoch 2"
            Expect.equal (part.History.Epochs |> List.map (fun e -> e.Epoch)) [ 1 ] "the cut epoch has no record"
            let ck = Checkpoint.save folder 2 first part.History (info part.Position)
            let _, second = fresh ()
            let restored, history = Checkpoint.restore ck false second
            let rest = Loop.fit { noisy with MaxSteps = Some 12L } Loop.noHooks CancellationToken.None second data (restored.Position, history)
            Expect.equal rest.Outcome Completed "the larger budget (12 = 3 epochs) lets every epoch run"
            Expect.equal (TestData.weightsOf second) (TestData.weightsOf straight) "same final weights"
            Expect.equal (rest.History.Steps |> List.map (fun s -> s.Terms)) (full.History.Steps |> List.map (fun s -> s.Terms)) "same loss at every step"
            Expect.equal (rest.History.Epochs |> List.map (fun e -> e.Terms)) (full.History.Epochs |> List.map (fun e -> e.Terms)) "same epoch means"
            Directory.Delete(folder, true)
        }

        test "only the newest checkpoints are kept and a half-written one is ignored" {
            let folder = TestData.tempFolder "keep"
            let _, trainer = fresh ()
            for s in 1L .. 4L do
                Checkpoint.save folder 2 trainer History.empty (info { Epoch = 1; StepInEpoch = int s; Step = s }) |> ignore
            let kept = Directory.GetDirectories(folder, "step-*") |> Array.map Path.GetFileName |> Array.sort
            Expect.equal kept [| "step-000000003"; "step-000000004" |] "two newest kept"
            // A crash between the folder rename and the pointer update: the pointer is stale, the folder complete.
            File.WriteAllText(Path.Combine(folder, "latest"), "step-000000001")
            Expect.equal (Checkpoint.latest folder |> Option.map Path.GetFileName) (Some "step-000000004") "falls back to the newest complete"
            // A temporary folder left by a crash mid-save is never picked.
            Directory.CreateDirectory(Path.Combine(folder, ".tmp-step-000000009-x")) |> ignore
            Expect.equal (Checkpoint.latest folder |> Option.map Path.GetFileName) (Some "step-000000004") "ignores temp folders"
            Directory.Delete(folder, true)
        }

        test "restoring into a different model names the mismatched tensor" {
            let folder = TestData.tempFolder "mismatch"
            let _, trainer = fresh ()
            let ck = Checkpoint.save folder 1 trainer History.empty (info Loop.start)
            let other = Autoencoder.trainer (Autoencoder.create { config with EncoderWidths = [ 8 ] })
            let ex = Expect.throwsT<InvalidDataException> (fun () -> Checkpoint.restore ck true other |> ignore)
            try Checkpoint.restore ck true other |> ignore
            with :? InvalidDataException as e ->
                Expect.stringContains e.Message "encoder.0.weight" "names the tensor"
                Expect.stringContains e.Message "weights.safetensors" "names the file"
            ex |> ignore
            Directory.Delete(folder, true)
        }
    ]
