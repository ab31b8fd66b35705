/// PyTorch interop (docs/pytorch.md): state dicts (.pth) read through TorchSharp.PyBridge into catalog models and the
/// MobileNetV2 backbone, checked by name and shape; with Debian's python3-torch, outputs compared with PyTorch's in
/// both directions (import of a .pth, export of a library model file).
module Generative.Tests.Interop.PyTorchWeightsTests

open System
open System.Collections
open System.Diagnostics
open System.IO
open Expecto
open TorchSharp
open TorchSharp.PyBridge
open Generative
open Generative.Tests

/// Writes `entries` (name -> tensor or any value PyBridge's pickler takes) as a PyTorch state dict file.
let private writePth (path: string) (entries: (string * obj) list) =
    let table = Hashtable()
    for (k, v) in entries do table.[k] <- v
    use stream = File.Create path
    PyTorchPickler.PickleStateDict(stream, table, false)

let private tensors (state: (string * Tensor) list) = state |> List.map (fun (k, t) -> k, box t)

/// A seeded catalog model with default settings, on the CPU.
let private build (modelId: string) (seed: int64) =
    Device.seed seed
    let model = ((Catalog.find modelId).Configure []).Build torch.CPU
    Trainer.eval model.Trainer
    model

let private inTempFolder (prefix: string) (f: string -> unit) =
    let folder = TestData.tempFolder prefix
    try f folder finally Directory.Delete(folder, true)

let private maxAbsDiff (a: Tensor) (b: Tensor) =
    use d = (a.reshape(a.shape.[0], -1L) - b.reshape(b.shape.[0], -1L)).abs().max()
    d.ToSingle() |> float

/// The interpreter with Debian's python3-torch (the pyenv `python3` on PATH has no torch); GENERATIVE_PYTHON names
/// another (e.g. one without torch, to see the tests skipped).
let private python =
    match Environment.GetEnvironmentVariable "GENERATIVE_PYTHON" with
    | null | "" -> "/usr/bin/python3"
    | other -> other

let private torchAvailable =
    lazy (
        File.Exists python
        && (try
                use p = Process.Start(ProcessStartInfo(python, "-c \"import torch\"", RedirectStandardError = true, UseShellExecute = false))
                p.StandardError.ReadToEnd() |> ignore
                p.WaitForExit()
                p.ExitCode = 0
            with :? ComponentModel.Win32Exception -> false))

let private skipWithoutTorch () =
    if not torchAvailable.Value then
        skiptest (sprintf "needs PyTorch under %s: apt-get install -y python3-torch libopenblas0-openmp" python)

/// Runs tests/Models.Tests/Fixtures/pytorch/interop.py (copied beside the tests) with `args`; fails with its output.
let private runScript (args: string list) =
    let script = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch", "interop.py")
    let psi = ProcessStartInfo(python, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    psi.ArgumentList.Add script
    args |> List.iter psi.ArgumentList.Add
    use p = Process.Start psi
    let err = p.StandardError.ReadToEndAsync()
    let out = p.StandardOutput.ReadToEnd()
    p.WaitForExit()
    if p.ExitCode <> 0 then failtestf "interop.py %A failed (%d):\n%s\n%s" args p.ExitCode out err.Result

/// The tensor `name` of a state dict file (its other tensors are disposed).
let private entryOf (path: string) (name: string) =
    let all = PyTorchWeights.read path
    for (k, t) in all do if k <> name then t.Dispose()
    all |> List.find (fst >> (=) name) |> snd

let private forward (model: RunModel) (moduleName: string) (x: Tensor) =
    let m = model.Trainer.Modules |> List.find (fst >> (=) moduleName) |> snd
    (m :?> torch.nn.Module<Tensor, Tensor>).forward x

/// Runs the built CLI with `args` in the current folder: (exit code, stderr).
let private runCli (args: string list) =
    let code, _, err = TestData.runCliIn Environment.CurrentDirectory [] args
    code, err

[<Tests>]
let tests =
    testList "Interop.PyTorchWeights" [
        test "a state dict written by PyBridge imports into ae-linear and gives the source's outputs" {
            inTempFolder "pth-import" (fun folder ->
                let source = build "ae-linear" 1L
                let path = Path.Combine(folder, "ae.pth")
                writePth path (tensors (Checkpoint.stateOf source.Trainer))
                let imported = Experiment.importPyTorch "ae-linear" [] path [] Cpu
                use _ = torch.NewDisposeScope()
                use _ = torch.no_grad()
                let x = torch.rand(4L, 1L, 28L, 28L)
                Expect.equal (maxAbsDiff (source.Reconstruct.Value x) (imported.Reconstruct.Value x)) 0.0 "same reconstructions")
        }

        test "generative import writes a model file that Experiment.loadModel reads, and names a bad entry" {
            inTempFolder "pth-cli" (fun folder ->
                let source = build "ae-linear" 1L
                let path = Path.Combine(folder, "ae.pth")
                writePth path (tensors (Checkpoint.stateOf source.Trainer |> List.map (fun (k, t) -> k.Replace("encoder.", "e."), t)))
                let out = Path.Combine(folder, "ae.safetensors")
                let code, err = runCli [ "import"; "ae-linear"; path; "--out"; out; "--rename"; "e.=encoder." ]
                Expect.equal code 0 ("imported: " + err)
                let modelId, _, normalization, loaded = Experiment.loadModel out Cpu
                Expect.equal (modelId, normalization) ("ae-linear", "zero-one") "the model file's metadata"
                use _ = torch.no_grad()
                use x = torch.rand(2L, 1L, 28L, 28L)
                Expect.equal (maxAbsDiff (source.Reconstruct.Value x) (loaded.Reconstruct.Value x)) 0.0 "the .pth's weights"
                let code, err = runCli [ "import"; "ae-linear"; path; "--out"; Path.Combine(folder, "bad.safetensors") ]
                Expect.equal code 1 "a bad file fails"
                Expect.stringContains err "encoder.0.weight" "naming the missing tensor"
                Expect.isFalse (File.Exists(Path.Combine(folder, "bad.safetensors"))) "and writes nothing")
        }

        test "prefix rules rename a file's tensors to the model's names" {
            inTempFolder "pth-rename" (fun folder ->
                let source = build "ae-linear" 1L
                let path = Path.Combine(folder, "ae.pth")
                let renamed = Checkpoint.stateOf source.Trainer |> List.map (fun (k, t) -> k.Replace("encoder.", "enc.").Replace("decoder.", "dec."), t)
                writePth path (tensors renamed)
                let e = TestData.raises<InvalidDataException> (fun () -> Experiment.importPyTorch "ae-linear" [] path [] Cpu |> ignore)
                Expect.stringContains e.Message "encoder.0." "without rules, a library name is missing"
                let imported = Experiment.importPyTorch "ae-linear" [] path [ "enc.", "encoder."; "dec.", "decoder." ] Cpu
                use _ = torch.no_grad()
                use x = torch.rand(2L, 1L, 28L, 28L)
                Expect.equal (maxAbsDiff (source.Reconstruct.Value x) (imported.Reconstruct.Value x)) 0.0 "same reconstructions")
        }

        testTheory "a renamed, reshaped or extra entry is refused, naming it and the file"
            [ "renamed", "decoder.0.bias"; "reshaped", "encoder.0.weight"; "extra", "decoder.1.weight" ] <| fun (edit, name) ->
            inTempFolder "pth-bad" (fun folder ->
                let source = build "ae-linear" 1L
                let state = Checkpoint.stateOf source.Trainer
                let edited =
                    match edit with
                    | "renamed" -> state |> List.map (fun (k, t) -> (if k = name then "decoder.0.b" else k), t)
                    | "reshaped" -> state |> List.map (fun (k, t) -> k, (if k = name then t.t().contiguous() else t))
                    | _ -> state @ [ name, torch.zeros(3L) ]
                let path = Path.Combine(folder, edit + ".pth")
                writePth path (tensors edited)
                let target = build "ae-linear" 2L
                let before = TestData.weightsOf target.Trainer
                let e = TestData.raises<InvalidDataException> (fun () -> Checkpoint.loadWeights path target.Trainer (PyTorchWeights.read path))
                Expect.stringContains e.Message name "names the entry"
                Expect.stringContains e.Message path "names the file"
                Expect.equal (TestData.weightsOf target.Trainer) before "nothing was copied"
                let e = TestData.raises<InvalidDataException> (fun () -> Experiment.importPyTorch "ae-linear" [] path [] Cpu |> ignore)
                Expect.stringContains e.Message name "the import names it too")

        test "a file that is not a dictionary of tensors is refused, naming the file and why" {
            inTempFolder "pth-not" (fun folder ->
                let checkpoint = Path.Combine(folder, "checkpoint.pth")
                writePth checkpoint [ "epoch", box 3; "encoder.0.bias", box (torch.zeros(128L)) ]
                let e = TestData.raises<InvalidDataException> (fun () -> PyTorchWeights.read checkpoint |> ignore)
                Expect.stringContains e.Message "'epoch'" "names the entry that is not a tensor"
                Expect.stringContains e.Message checkpoint "names the file"
                let safetensors = Path.Combine(folder, "model.safetensors")
                SafeTensors.save safetensors [ "w", torch.zeros(2L) ]
                let e = TestData.raises<InvalidDataException> (fun () -> PyTorchWeights.read safetensors |> ignore)
                Expect.stringContains e.Message "not a PyTorch state dict" "says what it is not"
                let damaged = Path.Combine(folder, "damaged.pth")
                File.WriteAllBytes(damaged, Array.append [| 0x50uy; 0x4Buy; 0x03uy; 0x04uy |] (Array.zeroCreate 64))
                let e = TestData.raises<InvalidDataException> (fun () -> PyTorchWeights.read damaged |> ignore)
                Expect.stringContains e.Message damaged "a damaged archive names the file"
                Expect.throwsT<FileNotFoundException> (fun () -> PyTorchWeights.read (Path.Combine(folder, "none.pth")) |> ignore) "no file")
        }

        test "MobileNetV2 takes torchvision's checkpoint format (.pth, by content) and refuses a mis-shaped entry" {
            inTempFolder "pth-mobilenet" (fun folder ->
                Device.seed 1L
                let source = MobileNetV2.backbone ()
                let state =
                    [ for KeyValue (k, t) in source.state_dict() -> "features." + k, t ]
                    @ [ "classifier.1.weight", torch.zeros(1000L, 1280L); "classifier.1.bias", torch.zeros(1000L) ]
                // Named like torchvision's download, and once without a PyTorch extension: the content decides.
                for name in [ "mobilenet_v2-b0353104.pth"; "weights.bin" ] do
                    let path = Path.Combine(folder, name)
                    writePth path (tensors state)
                    Device.seed 2L
                    let target = MobileNetV2.backbone ()
                    MobileNetV2.loadImageNet path target
                    source.eval()
                    target.eval()
                    use _ = torch.NewDisposeScope()
                    use _ = torch.no_grad()
                    let x = torch.randn(1L, 3L, 64L, 64L)
                    Expect.equal (maxAbsDiff (source.forward x) (target.forward x)) 0.0 (name + ": same features")
                let bad = Path.Combine(folder, "bad.pth")
                writePth bad (tensors (state |> List.map (fun (k, t) -> k, (if k = "features.18.1.running_var" then torch.ones(7L) else t))))
                let e = TestData.raises<InvalidDataException> (fun () -> MobileNetV2.loadImageNet bad (MobileNetV2.backbone ()))
                Expect.stringContains e.Message "features.18.1.running_var" "names the mis-shaped tensor")
        }

        test "with PyTorch: imported AE-LIN and GAN-MLP-A give PyTorch's outputs (1e-5)" {
            skipWithoutTorch ()
            inTempFolder "pth-python" (fun folder ->
                runScript [ "import"; folder ]
                let file name = Path.Combine(folder, name)
                use _ = torch.NewDisposeScope()
                use _ = torch.no_grad()
                let ae = Experiment.importPyTorch "ae-linear" [] (file "ae-linear.pth") [] Cpu
                let aeDiff = maxAbsDiff (ae.Reconstruct.Value (entryOf (file "ae-linear-io.pth") "x")) (entryOf (file "ae-linear-io.pth") "y")
                let gan = Experiment.importPyTorch "gan-mlp" [] (file "gan-mlp.pth") [] Cpu
                let io = file "gan-mlp-io.pth"
                let gDiff = maxAbsDiff (forward gan "generator" (entryOf io "z")) (entryOf io "g")
                let dDiff = maxAbsDiff (forward gan "discriminator" (entryOf io "x")) (entryOf io "d")
                printfn "library vs PyTorch, max abs difference: AE-LIN %.3g, GAN-MLP-A generator %.3g, discriminator %.3g" aeDiff gDiff dDiff
                Expect.isLessThanOrEqual aeDiff 1e-5 "AE-LIN reconstructions"
                Expect.isLessThanOrEqual gDiff 1e-5 "GAN-MLP-A generator"
                Expect.isLessThanOrEqual dDiff 1e-5 "GAN-MLP-A discriminator")
        }

        test "with torchvision: its MobileNetV2 state dict loads into the backbone, which gives its features (1e-4 of the largest)" {
            skipWithoutTorch ()
            inTempFolder "pth-torchvision" (fun folder ->
                let code =
                    use p = Process.Start(ProcessStartInfo(python, "-c \"import torchvision\"", RedirectStandardError = true, UseShellExecute = false))
                    p.StandardError.ReadToEnd() |> ignore
                    p.WaitForExit()
                    p.ExitCode
                if code <> 0 then skiptest (sprintf "needs torchvision under %s: apt-get install -y python3-torchvision" python)
                runScript [ "mobilenet"; folder ]
                let backbone = MobileNetV2.backbone ()
                MobileNetV2.loadImageNet (Path.Combine(folder, "mobilenet_v2.pth")) backbone
                backbone.eval()
                use _ = torch.NewDisposeScope()
                use _ = torch.no_grad()
                let io = Path.Combine(folder, "mobilenet_v2-io.pth")
                let expected = entryOf io "y"
                let diff = maxAbsDiff (backbone.forward (entryOf io "x")) expected
                let scale = expected.abs().max().ToSingle() |> float
                printfn "MobileNetV2 features, library vs torchvision: max abs difference %.3g (largest feature %.3g)" diff scale
                // 52 float32 convolutions, MKL against OpenBLAS: 6e-5 measured on features up to 6, so relative.
                Expect.isLessThanOrEqual diff (1e-4 * max 1.0 scale) "torchvision's features")
        }

        test "with PyTorch: a library model file loads into PyTorch with docs/pytorch.md's lines (1e-5)" {
            skipWithoutTorch ()
            inTempFolder "pth-export" (fun folder ->
                let model = build "ae-linear" 3L
                let modelFile = Path.Combine(folder, "ae.safetensors")
                Experiment.saveModel modelFile "ae-linear" [] "zero-one" model
                use _ = torch.NewDisposeScope()
                use _ = torch.no_grad()
                let x = torch.rand(6L, 1L, 28L, 28L)
                let inputs = Path.Combine(folder, "x.pth")
                writePth inputs [ "x", box x ]
                let outputs = Path.Combine(folder, "y.pth")
                runScript [ "export"; modelFile; inputs; outputs ]
                let diff = maxAbsDiff (model.Reconstruct.Value x) (entryOf outputs "y")
                printfn "library model file in PyTorch, max abs difference: %.3g" diff
                Expect.isLessThanOrEqual diff 1e-5 "PyTorch's reconstructions are the library's")
        }
    ]
