module Generative.Tests.Runs.CompatibilityTests

open System
open System.IO
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests
open Generative.Tests.Fixtures

// Run folders and model files written by an earlier version of the library (Fixtures/v1, see Fixtures/README.md)
// must still load, resume, sample, reconstruct and evaluate. A failure here means runs users already have no longer
// work: fix the code (or add a migration), never the fixtures.

/// The fixtures of version 1, copied beside the test assembly by the project file.
let private fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "v1")

/// The run fixtures and the model settings each was made with (some of what run.json must give back).
let private runs =
    [ "ae-linear", [ "encoder-widths", "8" ]
      "ae-denoise", [ "network", "conv" ]
      "vae", [ "hidden-width", "8"; "latent-dim", "2" ]
      "gan-mlp", [ "variant", "b"; "hidden-width", "8"; "latent-size", "4" ]
      "cls-mlp", [ "architecture", "mlp:8"; "validation", "0.25"; "patience", "2" ] ]

/// A copy of a fixture in a fresh temporary folder: loading and resuming write into a run folder (a resume adds
/// checkpoints, a report), and the fixtures themselves must stay as the old version wrote them.
let private copyOf (name: string) =
    let source = Path.Combine(fixtures, name)
    Expect.isTrue (Directory.Exists source) (sprintf "fixture %s is copied to the test output" source)
    let target = TestData.tempFolder ("compat-" + name)
    for dir in Directory.GetDirectories(source, "*", SearchOption.AllDirectories) do
        Directory.CreateDirectory(Path.Combine(target, Path.GetRelativePath(source, dir))) |> ignore
    for file in Directory.GetFiles(source, "*", SearchOption.AllDirectories) do
        File.Copy(file, Path.Combine(target, Path.GetRelativePath(source, file)))
    target

let private expectation (name: string) = Probes.load (Path.Combine(fixtures, name + ".expected.json"))

/// Same to a tight tolerance: the fixtures were measured on the CPU with one thread, as the tests run; only
/// summation order may differ between machines.
let private expectClose (actual: float) (expected: float) (what: string) =
    Expect.isTrue (abs (actual - expected) <= 1e-5 * (1.0 + abs expected)) (sprintf "%s: %.9g, recorded %.9g" what actual expected)

/// The model reproduces the fixture's recorded outputs and weight totals.
let private expectReproduces (expected: Probes.Expectation) (model: RunModel) =
    let actual = Probes.measure expected.Model expected.Operations expected.LatentSize expected.Epochs model
    Expect.equal actual.WeightCount expected.WeightCount "as many weights as the recorded model"
    expectClose actual.WeightSum expected.WeightSum "sum of the weights"
    expectClose actual.WeightAbsSum expected.WeightAbsSum "sum of the weights' absolute values"
    Expect.equal actual.Count expected.Count (sprintf "as many output values from %s" (String.Join(", ", expected.Operations)))
    expectClose actual.Mean expected.Mean "mean output"
    expectClose actual.MeanSquare expected.MeanSquare "mean square output"
    for i, (a, e) in Array.indexed (Array.zip actual.Values expected.Values) do
        expectClose a e (sprintf "output value %d" (i * expected.Stride))

let private isFinite (t: torch.Tensor) = t.isfinite().all().ToBoolean()

/// Finite test metrics, with two NaNs the library means: a GAN's sample-quality metric that says why it was not
/// measured (no feature classifier in the empty cache), and the precision of a class the barely trained classifier
/// never predicts (0 of 0 images).
let private expectFiniteMetrics (metrics: (string * float * string) list) =
    let undefined (name: string, value, how: string) =
        Double.IsNaN value && (how.StartsWith "not measured" || name.StartsWith "precision of ")
    Expect.isNonEmpty metrics "the model measures something"
    for (name, value, how) in metrics do
        if not (undefined (name, value, how)) then
            Expect.isTrue (Double.IsFinite value) (sprintf "metric %s is finite (%g)" name value)

let private loads (name: string) (modelSettings: (string * string) list) =
    test (sprintf "%s: the run loads with its settings and reproduces its recorded outputs" name) {
        let folder = copyOf name
        let expected = expectation name
        let s, model = Experiment.load folder Cpu
        Expect.equal s.ModelId expected.Model "the model id"
        Expect.equal (s.Epochs, s.BatchSize, s.Seed, s.KeepCheckpoints, s.PictureCount) (1, 8, 42L, 1, 8)
            "epochs, batch size, seed, checkpoints kept and picture count"
        for (k, v) in modelSettings do
            Expect.contains s.ModelSettings (k, v) (sprintf "model setting %s" k)
        expectReproduces expected model
        if name = "cls-mlp" then
            // Early stopping's best file: a resume or `generative eval` compares the loaded weights with it.
            Expect.equal (Checkpoint.heldBestEpoch (Path.Combine(folder, "checkpoints")) model.Trainer) (Some 1)
                "checkpoints/best.safetensors holds epoch 1's weights, the ones loaded"
        Directory.Delete(folder, true)
    }

let private resumes (name: string) =
    test (sprintf "%s: the run resumes for one more epoch" name) {
        TestData.withEmptyCache (fun () ->
            let folder = copyOf name
            let checkpoints = Path.Combine(folder, "checkpoints")
            let before = Checkpoint.latest checkpoints
            Expect.isSome before "the fixture has a checkpoint"
            let s = { Experiment.readSettings folder with Device = Cpu }
            let model = Experiment.buildModel s
            use data = Probes.dataset s.ModelId
            let log = ResizeArray<string>()
            let r = Experiment.resumeModel folder (Some (TrainingBudget.Epochs 2)) Cpu model (ImageData data) { OnStep = ignore; Log = log.Add; OnWork = ignore } CancellationToken.None
            Expect.equal r.Outcome Completed "the resumed run completes"
            Expect.equal (r.History.Epochs |> List.map (fun e -> e.Epoch)) [ 1; 2 ] "epoch 1 from the fixture's history, epoch 2 trained now"
            Expect.isTrue (log |> Seq.exists (fun l -> l.Contains "resumed from")) "it resumed from the fixture's checkpoint"
            let after = Checkpoint.latest checkpoints
            Expect.isSome after "a checkpoint after the resume"
            Expect.isGreaterThan (Path.GetFileName after.Value) (Path.GetFileName before.Value) "a new checkpoint, at a later step"
            Expect.equal (Experiment.readSettings folder).Epochs 2 "run.json now says 2 epochs"
            Expect.isTrue (File.Exists r.Report) "a new report"
            expectFiniteMetrics r.Metrics
            Directory.Delete(folder, true))
    }

let private operates (name: string) =
    test (sprintf "%s: the loaded model samples, reconstructs, classifies and evaluates" name) {
        TestData.withEmptyCache (fun () ->
            let folder = copyOf name
            let s, model = Experiment.load folder Cpu
            use data = Probes.dataset s.ModelId
            use _ = torch.no_grad()
            let x = data.Test.Images.narrow(0L, 0L, 4L)
            match name with
            | "vae" | "gan-mlp" ->
                Expect.isSome model.Sample "it samples"
                use samples = model.Sample.Value (new torch.Generator(3UL)) 3
                Expect.equal samples.shape [| 3L; 1L; 28L; 28L |] "3 images"
                Expect.isTrue (isFinite samples) "finite samples"
            | _ -> ()
            match name with
            | "ae-linear" | "ae-denoise" | "vae" ->
                Expect.isSome model.Reconstruct "it reconstructs"
                use r = model.Reconstruct.Value x
                Expect.equal r.shape x.shape "a reconstruction per image"
                Expect.isTrue (isFinite r) "finite reconstructions"
            | "cls-mlp" ->
                Expect.isSome model.Classify "it classifies"
                use p = model.Classify.Value x
                Expect.equal p.shape [| 4L; 10L |] "10 class probabilities per image"
                Expect.isTrue (isFinite p) "finite probabilities"
                expectClose (p.sum().ToDouble()) 4.0 "each image's probabilities sum to 1"
            | _ -> ()
            expectFiniteMetrics (model.Evaluate Work.none (ImageData data))
            Directory.Delete(folder, true))
    }

[<Tests>]
let tests =
    testList "Runs.Compatibility" [
        for (name, modelSettings) in runs do
            loads name modelSettings
            resumes name
            operates name

        test "model-file: Experiment.loadModel reads a saved model and it reproduces its recorded outputs" {
            let folder = copyOf "model-file"
            let expected = expectation "model-file"
            let modelId, settings, normalization, model = Experiment.loadModel (Path.Combine(folder, "ae-linear.safetensors")) Cpu
            Expect.equal modelId "ae-linear" "the model id"
            Expect.contains settings ("encoder-widths", "8") "its settings"
            Expect.equal normalization "zero-one" "its normalisation"
            expectReproduces expected model
            Directory.Delete(folder, true)
        }
    ]
