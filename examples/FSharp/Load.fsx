// Loads the built Generative library into F# Interactive; the other scripts start with `#load "Load.fsx"`.
//
// The scripts use the CLI's Release build output, which holds the library, TorchSharp and the native libtorch
// (already patched for Debian 12 by the build). Build it once from the repository root:
//     ./generative models          (or: dotnet build -c Release src/Cli)
// then run a script:
//     dotnet fsi examples/FSharp/ae-linear.fsx

#r "../../src/Cli/bin/Release/net10.0/TorchSharp.dll"
#r "../../src/Cli/bin/Release/net10.0/Plotly.NET.dll"
#r "../../src/Cli/bin/Release/net10.0/Generative.dll"

open System.IO
open System.Runtime.InteropServices

/// The folder of the built binaries the scripts run against.
let binaries = Path.GetFullPath(Path.Combine(__SOURCE_DIRECTORY__, "../../src/Cli/bin/Release/net10.0"))

// F# Interactive does not read the app's native dependency list, so TorchSharp's native bridge (and with it
// libtorch) is loaded explicitly from the build output before the first tensor is made.
let private nativeBridge = Path.Combine(binaries, "runtimes/linux-x64/native/libLibTorchSharp.so")
if not (File.Exists nativeBridge) then
    failwithf "%s not found: build first with ./generative models (or dotnet build -c Release src/Cli)" nativeBridge
NativeLibrary.Load nativeBridge |> ignore

open TorchSharp
open Generative

// Loads libtorch as every library run does, before the script's first matrix product: glibc's heap set to keep freed
// tensors, and on AMD processors the MKL vendor gate (docs/torchsharp.md, "MKL on AMD processors"). MKL keeps the
// answer of its first product, so a script that multiplied before anything resolved a device took its slower kernels.
Device.ensureNativeLoaded ()

// GENERATIVE_EXAMPLE_SMOKE=1 (set by `./test.sh examples`) makes every script run in seconds without the network:
// data sets become small generated stand-ins of the same shapes, texts a short generated one, so one epoch is a few
// steps. It is read here only, so the scripts themselves show the real thing.
/// True when the scripts run as a smoke test on generated data (GENERATIVE_EXAMPLE_SMOKE=1).
let smoke = System.Environment.GetEnvironmentVariable "GENERATIVE_EXAMPLE_SMOKE" = "1"

/// The folder the scripts write their pictures and pages into: examples/FSharp/output, or a new temporary folder in a
/// smoke run (so it never replaces a real run's pictures).
let output =
    if smoke then Directory.CreateTempSubdirectory("generative-example-").FullName
    else Path.Combine(__SOURCE_DIRECTORY__, "output")
Directory.CreateDirectory output |> ignore

/// `n` MNIST-shaped images ([n,1,28,28], pixels in [0,1] then normalised) whose label k is a bright bar at row 2 + 2k.
let private generatedSplit (normalization: Normalization) (n: int) (seed: uint64) : Split =
    use g = new torch.Generator(seed)
    let labels = torch.randint(10L, [| int64 n |], generator = g, dtype = torch.int64)
    let images = torch.rand([| int64 n; 1L; 28L; 28L |], generator = g) * 0.1f
    labels.data<int64>().ToArray() |> Array.iteri (fun i k -> images.[int64 i, 0L].narrow(0L, 2L + 2L * k, 3L).fill_(1.0f.ToScalar()) |> ignore)
    Transforms.normalizeInPlace normalization images
    { Images = images; Labels = labels }

/// A data set of the local cache ("mnist" or "fashion-mnist") read by `read` (Datasets.mnist or
/// Datasets.fashionMnist) with `normalization`; when it is not there, fails with the command that fetches it.
/// In a smoke run: 512 generated training and 256 test images instead, with no file read.
let cachedDataset (name: string) (read: string -> Normalization -> ImageDataset) (normalization: Normalization) : ImageDataset =
    if smoke then
        { Name = name + " (generated stand-in)"; Train = generatedSplit normalization 512 1UL; Test = generatedSplit normalization 256 2UL
          Normalization = normalization; Classes = [ for k in 0 .. 9 -> string k ]; Files = [] }
    else
        match Fetch.locate name None with
        | Some folder -> read folder normalization
        | None -> failwith (Fetch.missingMessage name)

/// The text in `path` (TextCorpus.readFile); in a smoke run, a short generated text instead.
let textFile (path: string) : TextSource =
    if smoke then
        let lines = [ for i in 0 .. 199 -> sprintf "Line %d: the quick brown fox jumps over the lazy dog %d times." i (i % 7) ]
        { Name = "generated text"; Text = String.concat "\n" lines + "\n"; Files = [] }
    else TextCorpus.readFile path
