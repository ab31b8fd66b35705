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

        test "restoring into a different model names the mismatched tensor and leaves the model untouched" {
            let folder = TestData.tempFolder "mismatch"
            let _, trainer = fresh ()
            let ck = Checkpoint.save folder 1 trainer History.empty (info Loop.start)
            let other = Autoencoder.trainer (Autoencoder.create { config with EncoderWidths = [ 8 ] })
            let before = TestData.weightsOf other
            let e = TestData.raises<InvalidDataException> (fun () -> Checkpoint.restore ck true other |> ignore)
            Expect.stringContains e.Message "encoder.0.weight" "names the tensor"
            Expect.stringContains e.Message "weights.safetensors" "names the file"
            Expect.stringContains e.Message "has shape [|16L; 784L|] but the model expects [|8L; 784L|]" "says what differs"
            Expect.equal (TestData.weightsOf other) before "the model is untouched"
            Directory.Delete(folder, true)
        }

        test "weights of another dtype are refused naming the tensor, not converted" {
            let _, trainer = fresh ()
            let _, target = fresh ()
            let saved = Checkpoint.stateOf trainer |> List.map (fun (n, t) -> n, (if n = "decoder.0.bias" then t.to_type(torch.float64) else t))
            let e = TestData.raises<InvalidDataException> (fun () -> Checkpoint.loadWeights "w.safetensors" target saved)
            Expect.stringContains e.Message "w.safetensors: tensor 'decoder.0.bias' has dtype Float64 but the model expects Float32" "names file, tensor and dtypes"
        }

        test "NaN or infinite weights are refused naming the tensor and the file, and the model is left as it was" {
            for bad in [ nan; infinity; -infinity ] do
                let folder = TestData.tempFolder "nan"
                let _, trainer = fresh ()
                do
                    use _ = torch.no_grad()
                    let _, w = Checkpoint.stateOf trainer |> List.find (fun (n, _) -> n = "decoder.0.weight")
                    w.[3L, 5L] <- torch.tensor(bad, dtype = torch.float32)
                let ck = Checkpoint.save folder 1 trainer History.empty (info Loop.start)
                let _, target = fresh ()
                do
                    use _ = torch.no_grad()
                    for (_, t) in Checkpoint.stateOf target do t.fill_(0.5f) |> ignore
                let before = TestData.weightsOf target
                let e = TestData.raises<InvalidDataException> (fun () -> Checkpoint.restore ck true target |> ignore)
                Expect.stringContains e.Message "weights.safetensors: tensor 'decoder.0.weight' holds NaN or infinite values" (sprintf "%g: names the file and the tensor" bad)
                Expect.equal (TestData.weightsOf target) before "the model is untouched"
                // A model file is refused the same way.
                let modelFile = Path.Combine(folder, "model.safetensors")
                ModelFile.save modelFile "ae-linear" (SettingsTable.print Autoencoder.settings config) "zero-one" [] trainer
                let e = TestData.raises<InvalidDataException> (fun () -> Experiment.loadModel modelFile Cpu |> ignore)
                Expect.stringContains e.Message "model.safetensors: tensor 'decoder.0.weight' holds NaN or infinite values" "a model file too"
                Directory.Delete(folder, true)
        }

        test "a changed byte in any file of a checkpoint is a sha256 mismatch naming the file" {
            let changes =
                [ // A byte of tensor data, of optimiser state, of generator state, of carried state.
                  "weights.safetensors", (fun (b: byte[]) -> b.[b.Length - 3] <- b.[b.Length - 3] ^^^ 1uy)
                  "optimizer-optimizer.bin", (fun b -> b.[b.Length - 3] <- b.[b.Length - 3] ^^^ 1uy)
                  "rng.safetensors", (fun b -> b.[b.Length - 3] <- b.[b.Length - 3] ^^^ 1uy)
                  "carried.safetensors", (fun b -> b.[b.Length - 3] <- b.[b.Length - 3] ^^^ 1uy)
                  // The last digit of the last number: a history that still parses, one loss slightly different.
                  "history.csv", (fun b -> b.[b.Length - 2] <- b.[b.Length - 2] ^^^ 1uy) ]
            for (file, change) in changes do
                let folder = TestData.tempFolder "sha"
                let data = TestData.bars 64 2L
                let _, trainer = fresh ()
                let r = Loop.fit { options with Epochs = 1 } Loop.noHooks CancellationToken.None trainer data (Loop.start, History.empty)
                let trainer, _ = TestData.withCarried trainer
                let ck = Checkpoint.save folder 1 trainer r.History (info r.Position)
                let path = Path.Combine(ck, file)
                let bytes = File.ReadAllBytes path
                change bytes
                File.WriteAllBytes(path, bytes)
                let target, _ = TestData.withCarried (snd (fresh ()))
                let before = TestData.weightsOf target
                let e = TestData.raises<InvalidDataException> (fun () -> Checkpoint.restore ck false target |> ignore)
                Expect.stringContains e.Message path (sprintf "%s: the error names the file" file)
                Expect.stringContains e.Message "sha256 mismatch: the file was changed or damaged after it was written" (sprintf "%s: and says what happened" file)
                Expect.equal (TestData.weightsOf target) before (sprintf "%s: nothing was loaded" file)
                Directory.Delete(folder, true)
            // The manifest checks itself: a changed step is no less a damage than a changed weight.
            let folder = TestData.tempFolder "sha-manifest"
            let _, trainer = fresh ()
            let ck = Checkpoint.save folder 1 trainer History.empty (info { Epoch = 2; StepInEpoch = 1; Step = 5L })
            let manifest = Path.Combine(ck, "manifest.json")
            File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"step\": 5", "\"step\": 6"))
            let e = TestData.raises<InvalidDataException> (fun () -> Checkpoint.restore ck true (snd (fresh ())) |> ignore)
            Expect.stringContains e.Message (manifest + ": sha256 mismatch") "the manifest names itself"
            Directory.Delete(folder, true)
        }

        test "a checkpoint written before the manifest had hashes still restores, and its damage is still named" {
            let folder = TestData.tempFolder "legacy"
            let data = TestData.bars 64 2L
            let _, trainer = fresh ()
            let r = Loop.fit { options with Epochs = 1 } Loop.noHooks CancellationToken.None trainer data (Loop.start, History.empty)
            let ck = Checkpoint.save folder 1 trainer r.History (info r.Position)
            TestData.withoutHashes ck
            let _, restored = fresh ()
            let back, history = Checkpoint.restore ck false restored
            Expect.equal (TestData.weightsOf restored) (TestData.weightsOf trainer) "the weights"
            Expect.equal back.Position r.Position "the position"
            Expect.equal history.Steps.Length r.History.Steps.Length "the history"
            // A truncated optimiser state: TorchSharp says only "Attempted to read past the end of the stream".
            let optimizer = Path.Combine(ck, "optimizer-optimizer.bin")
            let bytes = File.ReadAllBytes optimizer
            File.WriteAllBytes(optimizer, bytes.[.. bytes.Length / 2])
            let e = TestData.raises<InvalidDataException> (fun () -> Checkpoint.restore ck false (snd (fresh ())) |> ignore)
            Expect.stringContains e.Message (optimizer + ": damaged optimiser state") "names the file"
            // Bytes after the state are damage too.
            File.WriteAllBytes(optimizer, Array.append bytes [| 0uy |])
            let e = TestData.raises<InvalidDataException> (fun () -> Checkpoint.restore ck false (snd (fresh ())) |> ignore)
            Expect.stringContains e.Message (optimizer + ": damaged optimiser state") "names the file"
            Expect.stringContains e.Message "1 bytes after the end of the state" "and what is wrong"
            Directory.Delete(folder, true)
        }

        test "a weights-only restore does not read history.csv; a full one names a damaged history" {
            let folder = TestData.tempFolder "weights-only"
            let data = TestData.bars 64 2L
            let _, trainer = fresh ()
            let r = Loop.fit { options with Epochs = 1 } Loop.noHooks CancellationToken.None trainer data (Loop.start, History.empty)
            let ck = Checkpoint.save folder 1 trainer r.History (info r.Position)
            let history = Path.Combine(ck, "history.csv")
            for hashed in [ true; false ] do
                if not hashed then TestData.withoutHashes ck
                File.WriteAllText(history, "kind,epoch\ngarbage,,,\n\u0000")
                let _, restored = fresh ()
                let _, h = Checkpoint.restore ck true restored
                Expect.equal (TestData.weightsOf restored) (TestData.weightsOf trainer) "the weights load"
                Expect.equal h History.empty "no history is returned"
                let e = TestData.raises<InvalidDataException> (fun () -> Checkpoint.restore ck false (snd (fresh ())) |> ignore)
                Expect.stringContains e.Message history "a full restore names the history"
                File.Delete history
                Checkpoint.restore ck true (snd (fresh ())) |> ignore
            Directory.Delete(folder, true)
        }

        test "every optimiser's state restores exactly, and an optimiser file with an impossible count is refused without allocating it" {
            let serialized (opt: Modules.OptimizerHelper) =
                use ms = new MemoryStream()
                use w = new BinaryWriter(ms)
                opt.save_state_dict w
                w.Flush()
                ms.ToArray()
            for spec in [ Optim.adam 1e-3; Optim.sgd 0.01 0.9; Sgd(0.01, 0.9, true, 1e-4); Optim.rmsProp 1e-3; RmsProp(1e-3, 0.9, 0.5, 1e-4) ] do
                let folder = TestData.tempFolder "optimizers"
                let make () =
                    Device.seed 5L
                    Autoencoder.trainer (Autoencoder.create { config with Optimizer = spec })
                let trainer = make ()
                let r = Loop.fit { options with Epochs = 1 } Loop.noHooks CancellationToken.None trainer (TestData.bars 64 2L) (Loop.start, History.empty)
                let ck = Checkpoint.save folder 1 trainer r.History (info r.Position)
                let restored = make ()
                Checkpoint.restore ck false restored |> ignore
                Expect.equal (serialized (snd restored.Optimizers.Head)) (serialized (snd trainer.Optimizers.Head)) (sprintf "%A: the same state" spec)
                Directory.Delete(folder, true)
            // The first tensor's dimension count (after the name, two counts, the options and the step) made huge:
            // TorchSharp would allocate an array of that many dimensions before reading them.
            let folder = TestData.tempFolder "optimizer-count"
            let _, trainer = fresh ()
            let ck = Checkpoint.save folder 1 trainer History.empty (info Loop.start)
            TestData.withoutHashes ck
            let path = Path.Combine(ck, "optimizer-optimizer.bin")
            let bytes = File.ReadAllBytes path
            let name = 1 + "Adam".Length
            // Name, option and state counts (1 byte each), Adam's options (lr, initial lr, beta1, beta2, eps, decay:
            // 6 doubles; amsgrad, maximize: 2 booleans), the first state's step (8 bytes), its exp_avg's dtype code.
            let dims = name + 2 + 6 * 8 + 2 + 8 + 1
            Expect.equal bytes.[dims] 2uy "the first tensor (encoder.0.weight's exp_avg) has 2 dimensions"
            let damaged = Array.concat [ bytes.[.. dims - 1]; [| 0xFFuy; 0xFFuy; 0xFFuy; 0x3Fuy |]; bytes.[dims + 1 ..] ]
            File.WriteAllBytes(path, damaged)
            let before = GC.GetAllocatedBytesForCurrentThread()
            let e = TestData.raises<InvalidDataException> (fun () -> Checkpoint.restore ck false (snd (fresh ())) |> ignore)
            Expect.isLessThan (GC.GetAllocatedBytesForCurrentThread() - before) (16L <<< 20) "not the 1 GB array of 134 million dimensions"
            Expect.stringContains e.Message (path + ": damaged optimiser state") "names the file"
            Expect.stringContains e.Message "a count or length of 134217727" "and the impossible count"
            Directory.Delete(folder, true)
        }

        test "a save that fails removes its temporary folder; leftovers of interrupted saves are removed" {
            let folder = TestData.tempFolder "leftovers"
            let _, trainer = fresh ()
            Checkpoint.save folder 2 trainer History.empty (info { Epoch = 1; StepInEpoch = 1; Step = 1L }) |> ignore
            // A failure after the weights, optimiser and RNG files are written: a full disk, say.
            let failing = { trainer with Carried = Some { Save = (fun () -> raise (IOException "No space left on device")); Restore = ignore; Reset = ignore } }
            let e = TestData.raises<IOException> (fun () -> Checkpoint.save folder 2 failing History.empty (info { Epoch = 1; StepInEpoch = 2; Step = 2L }) |> ignore)
            Expect.equal e.Message "No space left on device" "the save's own error is rethrown"
            let entries () = Directory.GetFileSystemEntries folder |> Array.map Path.GetFileName |> Array.sort |> List.ofArray
            Expect.equal (entries ()) [ "latest"; "step-000000001" ] "no temporary folder is left"
            // What a crash (no exception to clean up after) leaves: a temporary folder and an atomic write's file.
            let crashed = Path.Combine(folder, ".tmp-step-000000009-0123")
            Directory.CreateDirectory crashed |> ignore
            File.WriteAllText(Path.Combine(crashed, "weights.safetensors"), "half")
            File.WriteAllText(Path.Combine(folder, "latest.1a2b3c4d.tmp"), "step-")
            Checkpoint.removeLeftovers folder
            Expect.equal (entries ()) [ "latest"; "step-000000001" ] "removeLeftovers deletes them and nothing else"
            Directory.CreateDirectory crashed |> ignore
            Checkpoint.save folder 2 trainer History.empty (info { Epoch = 1; StepInEpoch = 3; Step = 3L }) |> ignore
            Expect.equal (entries ()) [ "latest"; "step-000000001"; "step-000000003" ] "a save removes them first"
            Checkpoint.removeLeftovers (Path.Combine(folder, "none"))
            Directory.Delete(folder, true)
        }
    ]
