/// Small synthetic data for fast tests (no files, no network).
module Generative.Tests.TestData

open Expecto
open TorchSharp
open Generative

/// Points the process's temporary directory (TMPDIR, which `Path.GetTempPath()` reads at every call and child
/// processes inherit) at a new folder of its own for as long as the result is held, then deletes that folder with
/// whatever tests and the processes they started left in it, and restores TMPDIR. Without it every run left hundreds
/// of run folders, model files and data folders in /tmp.
let isolatedTempDirectory () : System.IDisposable =
    let before = System.Environment.GetEnvironmentVariable "TMPDIR"
    let folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), sprintf "generative-tests-%d-%s" System.Environment.ProcessId (System.Guid.NewGuid().ToString("N")))
    System.IO.Directory.CreateDirectory folder |> ignore
    System.Environment.SetEnvironmentVariable("TMPDIR", folder)
    { new System.IDisposable with
        member _.Dispose() =
            System.Environment.SetEnvironmentVariable("TMPDIR", before)
            try System.IO.Directory.Delete(folder, true)
            with :? System.IO.IOException | :? System.UnauthorizedAccessException as e ->
                eprintfn "tests: could not delete their temporary folder %s: %s" folder e.Message }

/// Runs `f`, expecting an exception of type 'E, and returns it (fails the test when `f` returns or throws another).
let raises<'E when 'E :> exn> (f: unit -> unit) : 'E =
    try
        f ()
        failtestf "expected %s" typeof<'E>.Name
    with :? 'E as e -> e

/// `n` structured 1x28x28 images in [0,1]: a bright horizontal bar whose row depends on the label.
let bars (n: int) (seed: int64) : Split =
    use g = new torch.Generator(uint64 seed)
    let labels = torch.randint(10L, [| int64 n |], generator = g, dtype = torch.int64)
    let images = torch.zeros([| int64 n; 1L; 28L; 28L |])
    let rows = labels.data<int64>().ToArray()
    for i in 0 .. n - 1 do
        let r = 2L + rows.[i] * 2L
        images.[int64 i, 0L].narrow(0L, r, 3L).fill_(1.0f) |> ignore
    use noise = torch.rand([| int64 n; 1L; 28L; 28L |], generator = g)
    images.add_(noise * 0.1f).clamp_(0.0f.ToScalar(), 1.0f.ToScalar()) |> ignore
    { Images = images; Labels = labels }

/// A fresh temporary folder.
let tempFolder (prefix: string) =
    let d = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + "-" + System.Guid.NewGuid().ToString("N"))
    System.IO.Directory.CreateDirectory d |> ignore
    d

/// Every parameter and buffer of the trainer's modules as float arrays, by name.
let weightsOf (t: Trainer) =
    Checkpoint.stateOf t |> List.map (fun (n, w) -> n, w.detach().cpu().to_type(torch.float32).data<float32>().ToArray())

/// A split as the run data of an image model's `Evaluate` and `Extras` (train and test are the same split; no
/// class names). Not disposed through the result: the caller owns the split.
let imagesOf (split: Split) : RunData =
    ImageData { Name = "test images"; Train = split; Test = split; Normalization = ZeroOne; Classes = []; Files = [] }

/// The trainer with a carried state (as a language model has): one tensor, kept in the returned cell.
let withCarried (trainer: Trainer) : Trainer * (string * torch.Tensor) list ref =
    let state = ref [ "hidden", torch.arange(4, dtype = torch.float32) * 0.25f ]
    { trainer with
        Carried = Some { Save = (fun () -> state.Value); Restore = (fun s -> state.Value <- s); Reset = (fun () -> state.Value <- []) } },
    state

/// Rewrites a checkpoint's manifest as the versions before integrity hashes wrote it (format 1, no `files`, no
/// `manifestSha256`).
let withoutHashes (checkpoint: string) =
    let path = System.IO.Path.Combine(checkpoint, "manifest.json")
    let o = System.Text.Json.Nodes.JsonNode.Parse(System.IO.File.ReadAllText path).AsObject()
    o.Remove "files" |> ignore
    o.Remove "manifestSha256" |> ignore
    o["format"] <- System.Text.Json.Nodes.JsonValue.Create 1
    System.IO.File.WriteAllText(path, o.ToJsonString())

/// A run model around one module, for tests of the run layer that need no real network: `step` gives each training
/// step's loss terms and `evaluate` the test metrics; no pictures, no validation.
let stubModel (m: torch.nn.Module) (step: unit -> Map<string, float>) (evaluate: unit -> (string * float * string) list) : RunModel =
    { Trainer = { Modules = [ "m", m ]; Optimizers = []; Step = (fun _ -> step ()); Carried = None }
      Pictures = fun _ -> []
      ComparedTerms = []
      Passages = RunModel.noPassages
      Generate = None
      Evaluate = fun _ _ -> evaluate ()
      Reconstruct = None; Encode = None; Decode = None; Sample = None; Classify = None
      Extras = RunModel.noExtras
      Training = ShuffledImages { Validation = None; Inputs = None }
      EpochTest = None }

/// Run data of `train` training and `test` test bar images (1x28x28, 10 classes).
let barsData (train: int) (test: int) : RunData =
    ImageData
        { Name = "bars"; Train = bars train 1L; Test = bars test 2L; Normalization = ZeroOne
          Classes = [ for d in 0 .. 9 -> string d ]; Files = [] }

/// The built command line (src/Cli/bin/Release), found from the repository root above this test's output folder.
let cliDll () =
    let rec root (dir: System.IO.DirectoryInfo) =
        if isNull dir then failtest "the repository root (Generative.sln) is not above the test's output folder"
        elif System.IO.File.Exists(System.IO.Path.Combine(dir.FullName, "Generative.sln")) then dir.FullName
        else root dir.Parent
    let dll =
        System.IO.Path.Combine(root (System.IO.DirectoryInfo System.AppContext.BaseDirectory), "src", "Cli", "bin", "Release", "net10.0", "Generative.Cli.dll")
    if not (System.IO.File.Exists dll) then failtestf "%s is missing: build the solution in Release first (./test.sh does)" dll
    dll

/// Runs the built CLI with `args` in `folder`, with the environment variables `env` added; returns (exit code,
/// standard output, standard error).
let runCliIn (folder: string) (env: (string * string) list) (args: string list) : int * string * string =
    let psi = System.Diagnostics.ProcessStartInfo("dotnet", RedirectStandardOutput = true, RedirectStandardError = true,
                                                  UseShellExecute = false, WorkingDirectory = folder)
    for name, value in env do psi.Environment.[name] <- value
    psi.ArgumentList.Add(cliDll ())
    args |> List.iter psi.ArgumentList.Add
    use p = System.Diagnostics.Process.Start psi
    let err = p.StandardError.ReadToEndAsync()
    let out = p.StandardOutput.ReadToEnd()
    p.WaitForExit()
    p.ExitCode, out, err.Result

/// Runs `f` with an empty data cache (GENERATIVE_DATA): a GAN's end-of-run evaluation then reports "not measured"
/// instead of scoring 10000 samples with whatever feature classifier the machine happens to have saved, so the tests
/// are fast and the same everywhere.
let withEmptyCache (f: unit -> unit) =
    let before = System.Environment.GetEnvironmentVariable "GENERATIVE_DATA"
    let empty = tempFolder "empty-cache"
    System.Environment.SetEnvironmentVariable("GENERATIVE_DATA", empty)
    try f ()
    finally
        System.Environment.SetEnvironmentVariable("GENERATIVE_DATA", before)
        System.IO.Directory.Delete(empty, true)

/// A tiny feature network for sample-quality tests: a fixed random linear map of the pixels to 6 features, whose first
/// 3 are the class scores.
let tinyFeatureNetwork () : FeatureNetwork =
    use g = new torch.Generator(17UL)
    let w = torch.randn([| 784L; 6L |], generator = g)
    { Description = "tiny random test network"; Classes = [ "a"; "b"; "c" ]
      Features = fun x -> x.flatten(1L).matmul(w)
      Probabilities = fun x -> x.flatten(1L).matmul(w).narrow(1L, 0L, 3L).softmax(1L) }

/// The largest absolute difference between two tensors, relative to the largest magnitude in `expected` (NaN when
/// either holds NaN, which the ordering checks of `SafeExpect` refuse).
let largestRelativeDifference (actual: torch.Tensor) (expected: torch.Tensor) : float =
    use difference = (actual - expected).abs().max()
    use scale = expected.abs().max()
    difference.ToDouble() / scale.ToDouble()

/// Expects `ours` and `libtorch` to draw the same tensor from libtorch's default generator and to leave it in the same
/// state: each runs after seeding it with `seed` and drawing `offset` float uniforms (one 32-bit word each, so an odd
/// offset starts between the two words of a pair); the next five uniforms must then agree too. Returns ours.
let drawsLikeLibtorch (seed: int64) (offset: int) (ours: unit -> torch.Tensor) (libtorch: unit -> torch.Tensor) : torch.Tensor =
    let drawn (f: unit -> torch.Tensor) =
        torch.manual_seed seed |> ignore
        if offset > 0 then torch.rand([| int64 offset |]).Dispose()
        let result = f ()
        result, torch.rand([| 5L |])
    let mine, mineAfter = drawn ours
    let theirs, theirsAfter = drawn libtorch
    Expect.equal mine.shape theirs.shape "the same shape"
    Expect.isTrue (mine.Equals theirs) "the same values, to the bit"
    Expect.isTrue (mineAfter.Equals theirsAfter) "the same numbers drawn next"
    mine
