// Writes the compatibility fixtures in Fixtures/v1: tiny run folders and one model file made by the library as it
// is built in this checkout, each with an `.expected.json` measured on the trained model still in memory.
// Runs/CompatibilityTests.fs checks that later versions still load, resume and use them. See README.md: do NOT
// re-run this to make a failing compatibility test pass (a failing test means old runs no longer work); run it only
// to add a new fixture version (v2, ...) after a deliberate format change, keeping v1.
//
// From the repository root, after `dotnet build Generative.sln -c Release` (the script uses the CLI's build
// output, like examples/FSharp):
//     dotnet fsi tests/Models.Tests/Fixtures/make-fixtures.fsx
#load "../../../examples/FSharp/Load.fsx"
#load "Probes.fs"

open System.IO
open System.Threading
open TorchSharp
open Generative
open Generative.Tests.Fixtures

// One thread, as the tests run: the recorded values then come from the same kernels the tests use.
torch.set_num_threads 1

let root = Path.Combine(__SOURCE_DIRECTORY__, "v1")

/// (fixture folder, catalog id, model settings): each network shrunk through its settings where the model allows,
/// so the fixtures stay small (the checkpoints hold weights and Adam's two moments).
let runs =
    [ "ae-linear", "ae-linear", [ "encoder-widths", "8" ]
      // AE-DENOISE offers no width setting: its conv preset (AE-CONV's 1-16-8 channels) is the small network.
      "ae-denoise", "ae-denoise", [ "network", "conv" ]
      "vae", "vae", [ "hidden-width", "8"; "latent-dim", "2"; "iwae-samples", "4" ]
      "gan-mlp", "gan-mlp", [ "variant", "b"; "hidden-width", "8"; "latent-size", "4" ]
      // A validation split with early stopping, so the run also has checkpoints/best.safetensors.
      "cls-mlp", "cls-mlp", [ "architecture", "mlp:8"; "validation", "0.25"; "patience", "2" ] ]

/// The run settings of a fixture: 1 epoch, batch 8, seed 42, CPU, one checkpoint kept, 8 pictures.
let settingsOf folder modelId modelSettings =
    { Experiment.defaults modelId with
        ModelSettings = modelSettings; Epochs = 1; BatchSize = 8; Seed = 42L; Device = Cpu
        RunFolder = Some folder; KeepCheckpoints = 1; PictureCount = 8 }

/// The latent width a model without an encoder is probed with (its "latent-size" setting), else 0.
let latentSizeOf (operations: string[]) (modelSettings: (string * string) list) =
    if Array.contains "encode" operations then 0
    else modelSettings |> List.tryFind (fun (k, _) -> k = "latent-size") |> Option.map (snd >> int) |> Option.defaultValue 0

let events = { OnStep = ignore; Log = (fun line -> printfn "  %s" line); OnWork = ignore }

if Directory.Exists root then Directory.Delete(root, true)
Directory.CreateDirectory root |> ignore

for (name, modelId, modelSettings) in runs do
    printfn "%s" name
    let folder = Path.Combine(root, name)
    let s = settingsOf folder modelId modelSettings
    let model = Experiment.buildModel s
    use data = Probes.dataset modelId
    let r = Experiment.fitModel s model data events CancellationToken.None
    // The report inlines plotly (about 3.6 MB); no test reads it, and resuming writes a new one.
    File.Delete r.Report
    let operations = Probes.operationsOf model
    Probes.measure modelId operations (latentSizeOf operations modelSettings) r.History.Epochs.Length model
    |> Probes.save (Path.Combine(root, name + ".expected.json"))
    // The model file: the ae-linear run's model, saved as `generative` and the C# facade save a trained model.
    if name = "ae-linear" then
        let saved = Experiment.readSettings folder
        let dir = Path.Combine(root, "model-file")
        Directory.CreateDirectory dir |> ignore
        Experiment.saveModel (Path.Combine(dir, "ae-linear.safetensors")) modelId saved.ModelSettings "zero-one" model
        Probes.measure modelId operations 0 0 model |> Probes.save (Path.Combine(root, "model-file.expected.json"))

for f in Directory.GetFiles(root, "*", SearchOption.AllDirectories) |> Array.sort do
    printfn "%8d  %s" (FileInfo(f).Length) (Path.GetRelativePath(root, f))
