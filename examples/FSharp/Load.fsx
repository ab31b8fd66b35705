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

open Generative

/// The folder the scripts write their pictures and pages into (examples/FSharp/output).
let output = Path.Combine(__SOURCE_DIRECTORY__, "output")
Directory.CreateDirectory output |> ignore

/// A data set of the local cache ("mnist" or "fashion-mnist") read by `read` (Datasets.mnist or
/// Datasets.fashionMnist) with `normalization`; when it is not there, fails with the command that fetches it.
let cachedDataset (name: string) (read: string -> Normalization -> ImageDataset) (normalization: Normalization) : ImageDataset =
    match Fetch.locate name None with
    | Some folder -> read folder normalization
    | None -> failwith (Fetch.missingMessage name)
