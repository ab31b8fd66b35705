/// The `generative` command's handling of bad usage, run as a process (the built CLI next to this test project's
/// build, which `./test.sh` makes first): exit code 2, one line naming the problem, no stack trace.
module Generative.Tests.CliTests

open System
open System.Diagnostics
open System.IO
open Expecto
open Generative.Tests
open Generative

/// Runs the CLI with `args` and the environment variables `env` in an empty folder; returns (exit code, standard error,
/// number of entries it left in that folder).
let private runWith (env: (string * string) list) (args: string list) =
    let folder = Path.Combine(Path.GetTempPath(), "generative-cli-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory folder |> ignore
    try
        let code, _, err = TestData.runCliIn folder env args
        code, err, Directory.GetFileSystemEntries(folder).Length
    finally Directory.Delete(folder, true)
/// libc's kill(2): .NET's Process.Kill sends SIGKILL, and a scheduler's SIGTERM is what is tested here.
[<System.Runtime.InteropServices.DllImport("libc", SetLastError = true)>]
extern int private kill(int pid, int signal)

/// The CLI as a process in `folder`, standard output and error collected line by line as they come.
let private start (folder: string) (args: string list) =
    let psi = ProcessStartInfo("dotnet", RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                               WorkingDirectory = folder)
    psi.ArgumentList.Add(TestData.cliDll ())
    args |> List.iter psi.ArgumentList.Add
    let out = Collections.Concurrent.ConcurrentQueue<string>()
    let p = new Process(StartInfo = psi)
    p.OutputDataReceived.Add(fun e -> if not (isNull e.Data) then out.Enqueue e.Data)
    p.ErrorDataReceived.Add(fun e -> if not (isNull e.Data) then out.Enqueue e.Data)
    p.Start() |> ignore
    p.BeginOutputReadLine()
    p.BeginErrorReadLine()
    p, out

[<Tests>]
let signals =
    testList "Cli.Signals" [
        // What Slurm and Kubernetes send before they preempt a job: the run must save a checkpoint and say where.
        test "SIGTERM during training saves a checkpoint, writes the report and exits 143" {
            if OperatingSystem.IsWindows() then skiptest "SIGTERM is a POSIX signal"
            let folder = Path.Combine(Path.GetTempPath(), "generative-cli-sigterm-" + Guid.NewGuid().ToString("N"))
            Directory.CreateDirectory folder |> ignore
            try
                // Any text trains a language model, while image runs need a verified copy of MNIST.
                File.WriteAllText(Path.Combine(folder, "text.txt"), String.replicate 200 "to be or not to be\nthat is the question\n")
                let p, out =
                    start folder [ "train"; "char-lstm"; "--text"; "text.txt"; "--epochs"; "500"; "--run-folder"; "run"; "--batch-size"; "4"
                                   "--set"; "hidden=16"; "--set"; "embedding=8"; "--set"; "sequence-length=20"; "--checkpoint-minutes"; "0" ]
                use _ = p
                // The first epoch's end shows training is under way (its progress line is rewritten in place).
                let started = Stopwatch.StartNew()
                while not (out |> Seq.exists (fun l -> l.Contains "epoch 1/500")) && not p.HasExited && started.Elapsed.TotalSeconds < 120.0 do
                    Threading.Thread.Sleep 50
                Expect.isFalse p.HasExited (sprintf "still training (output: %s)" (String.Join("\n", out)))
                Expect.equal (kill(p.Id, 15)) 0 "SIGTERM sent"
                let signalled = Stopwatch.StartNew()
                Expect.isTrue (p.WaitForExit 60000) "exits within a minute of SIGTERM"
                p.WaitForExit()
                let log = String.Join("\n", out)
                Expect.equal p.ExitCode 143 (sprintf "exit code 143 = 128 + SIGTERM (output: %s)" log)
                Expect.stringContains log "interrupted at epoch" "says where it stopped"
                Expect.stringContains log "Resume with: generative train --resume run" "says how to continue"
                let checkpoint = Checkpoint.latest (Path.Combine(folder, "run", "checkpoints"))
                Expect.isSome checkpoint "a checkpoint exists"
                let saved = Checkpoint.readInfo checkpoint.Value
                Expect.stringContains log (sprintf "step %d;" saved.Position.Step) "the checkpoint is the one at the step it stopped"
                Expect.isTrue (File.Exists(Path.Combine(folder, "run", "report.html"))) "the report is written"
                Expect.isLessThan signalled.Elapsed.TotalSeconds 60.0 "stopped promptly"
            finally Directory.Delete(folder, true)
        }
    ]

/// Runs the CLI with `args` in an empty folder; returns (exit code, standard error, entries left in the folder).
let private run (args: string list) = runWith [] args

/// A temporary cache root for `GENERATIVE_DATA`, deleted after `f`; downloads are off (`GENERATIVE_OFFLINE`).
let private withCache (f: string -> (string * string) list -> 'a) =
    let root = Path.Combine(Path.GetTempPath(), "generative-cli-cache-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory root |> ignore
    try f root [ "GENERATIVE_DATA", root; "GENERATIVE_OFFLINE", "1" ]
    finally Directory.Delete(root, true)

[<Tests>]
let tests =
    testList "Cli" [
        for args, named in
            [ [ "train"; "ae-linear"; "--set"; "loss=mse"; "--set"; "loss=bogus" ], "loss: expected each setting once"
              [ "train"; "ae-linear"; "--set"; "encoder-width=3" ], "unknown setting 'encoder-width'"
              [ "train"; "vae"; "--set"; "latent-dim=0" ], "latent-dim: expected a positive dimension"
              [ "train"; "gan-mlp"; "--set"; "g-optimizer=adam:lr=fast" ], "g-optimizer: expected a number for lr"
              [ "train"; "ae-linear"; "--epochs"; "0" ], "epochs: expected at least 1"
              [ "train"; "ae-linear"; "--steps"; "0" ], "--steps expects a positive number of steps, but got 0"
              [ "train"; "ae-linear"; "--epochs"; "2"; "--steps"; "5" ], "--epochs and --steps both say how long to train: give one"
              [ "train"; "ae-linear"; "--epoch-test"; "-1" ], "epochTestImages: expected 0 (none) or a number of test images"
              [ "train"; "--resume"; "nowhere"; "--epoch-test"; "5" ], "--epoch-test: a resumed run keeps the per-epoch test metrics it started with"
              [ "train"; "--resume"; "nowhere"; "--precision"; "bf16" ], "--precision: a resumed run keeps the precision it started with"
              [ "train"; "dcgan"; "--precision"; "bf16"; "--set"; "precision=fp32" ], "--precision and --set precision=... name the same setting"
              [ "train"; "dcgan"; "--precision"; "fp8" ], "precision: expected one of fp32, bf16"
              [ "train"; "char-lstm"; "--dataset"; "mnist" ], "dataset: expected a text corpus"
              [ "train"; "ae-linear"; "--corpus"; "tiny-shakespeare" ], "dataset: expected a data set of images"
              [ "train"; "ae-linear"; "--text"; "book.txt" ], "text: expected no text file"
              [ "train"; "char-lstm"; "--text"; "book.txt"; "--corpus"; "jargon" ], "give either --text or --corpus"
              [ "train"; "word-lstm"; "--set"; "tie-weights=true"; "--set"; "embedding=128" ], "tie-weights: expected embedding = hidden"
              [ "generate"; "nowhere"; "--temperature"; "-1" ], "temperature: expected a finite temperature >= 0"
              [ "generate"; "nowhere"; "--top-p"; "0" ], "top-p: expected a probability in (0, 1]"
              [ "style"; "nowhere"; "--kind"; "sideways" ], "--kind expects traversal or transfer, but got 'sideways'"
              [ "style"; "nowhere"; "--n"; "0" ], "--n expects at least 1, but got 0"
              [ "reconstruct"; "nowhere"; "--n"; "-3" ], "--n expects at least 1 image, but got -3"
              [ "sample"; "nowhere"; "--n"; "-3" ], "--n expects a number of images (or of a language model's tokens) >= 0, but got -3" ] do
            test (sprintf "'%s' is a usage error naming the setting" (String.Join(" ", args))) {
                let code, err, written = run args
                Expect.equal code 2 (sprintf "exit code 2 (stderr: %s)" err)
                Expect.stringContains err named "names the problem"
                Expect.isFalse (err.Contains "   at ") "no stack trace"
                Expect.isFalse (err.Contains "(Parameter '") "no .NET parameter suffix"
                Expect.equal written 0 "nothing written (no run folder)"
            }

        // `data fetch --from`: a folder the user names is installed or rejected; the cache never stands in for it.
        test "'data fetch mnist --from' a missing folder exits 1 naming the folder" {
            withCache (fun root env ->
                let missing = Path.Combine(root, "no-such-folder")
                let code, err, _ = runWith env [ "data"; "fetch"; "mnist"; "--from"; missing ]
                Expect.equal code 1 (sprintf "exit code 1 (stderr: %s)" err)
                Expect.stringStarts err (sprintf "missing file: %s: data folder not found" missing) "names the folder and the problem"
                Expect.isFalse (err.Contains "   at ") "no stack trace")
        }

        test "'data fetch mnist --from' a folder holding a wrong file exits 1 naming the file" {
            withCache (fun root env ->
                let folder = Path.Combine(root, "from")
                Directory.CreateDirectory folder |> ignore
                for name in Datasets.standardFileNames do
                    let dims = if name.Contains "labels" then [| 2 |] else [| 2; 28; 28 |]
                    Idx.write (Path.Combine(folder, name)) { Dims = dims; Data = Array.zeroCreate (Array.fold (*) 1 dims) } false
                let code, err, _ = runWith env [ "data"; "fetch"; "mnist"; "--from"; folder ]
                Expect.equal code 1 (sprintf "exit code 1 (stderr: %s)" err)
                Expect.stringStarts err "bad file: " "a bad file"
                Expect.stringContains err (Path.Combine(folder, "train-images-idx3-ubyte") + ": wrong checksum") "names the file and the problem"
                Expect.isFalse (File.Exists(Path.Combine(root, "mnist", "train-images-idx3-ubyte"))) "nothing installed")
        }

        test "'data fetch --from' a missing folder exits 1 even when the cache holds the data set" {
            // The one known data set small enough to keep a real copy of: tiny-shakespeare (1 MB), when present.
            let shared = "/work/shared/data/tinyshakespeare.txt"
            if not (File.Exists shared) then skiptestf "no local copy of tiny-shakespeare at %s" shared
            withCache (fun root env ->
                let cached = Path.Combine(root, "tiny-shakespeare")
                Directory.CreateDirectory cached |> ignore
                File.Copy(shared, Path.Combine(cached, "tinyshakespeare.txt"))
                let code, err, _ = runWith env [ "data"; "fetch"; "tiny-shakespeare" ]
                Expect.equal code 0 (sprintf "the cache holds it (stderr: %s)" err)
                let missing = Path.Combine(root, "no-such-folder")
                let code, err, _ = runWith env [ "data"; "fetch"; "tiny-shakespeare"; "--from"; missing ]
                Expect.equal code 1 (sprintf "exit code 1 (stderr: %s)" err)
                Expect.stringContains err (missing + ": data folder not found") "names the folder and the problem")
        }

        // `style` on a model file that is not AAE-S: the error says what the file holds and what the grids need.
        for modelId, settings, holds in
            [ "ae-linear", [ "encoder-widths", "8" ], "ae-linear (not an adversarial autoencoder)"
              "aae", [ "hidden-width", "8"; "discriminator-width", "8"; "code-size", "2" ], "aae (an unsupervised adversarial autoencoder)" ] do
            test (sprintf "'style' on a model file of %s is a usage error naming what it holds" modelId) {
                let path = Path.Combine(Path.GetTempPath(), sprintf "generative-cli-%s-%s.safetensors" modelId (Guid.NewGuid().ToString "N"))
                let configured = (Catalog.find modelId).Configure settings
                let model = configured.Build TorchSharp.torch.CPU
                Experiment.saveModel path modelId configured.Settings "zero-one" model
                try
                    let code, err, written = run [ "style"; path; "--kind"; "transfer" ]
                    Expect.equal code 2 (sprintf "exit code 2 (stderr: %s)" err)
                    Expect.stringContains err (sprintf "%s holds %s: style grids need a supervised adversarial autoencoder (aae-s)" path holds) "names the problem"
                    Expect.isFalse (err.Contains "   at ") "no stack trace"
                    Expect.equal written 0 "nothing written"
                finally File.Delete path
            }
    ]
