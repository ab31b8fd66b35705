module Generative.Tests.Runs.DamagedRunTests

open System
open System.IO
open Expecto
open Generative
open Generative.Tests

// Damage in a run folder's history must not cost what does not need it (sampling, reconstructing, evaluating need
// only the weights), and where a history is needed, the error names the file, the line and the fix.

/// A copy of the v1 ae-linear run fixture (see Fixtures/README.md) in a fresh temporary folder.
let private runCopy () =
    let source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "v1", "ae-linear")
    let target = TestData.tempFolder "damaged-run"
    for dir in Directory.GetDirectories(source, "*", SearchOption.AllDirectories) do
        Directory.CreateDirectory(Path.Combine(target, Path.GetRelativePath(source, dir))) |> ignore
    for file in Directory.GetFiles(source, "*", SearchOption.AllDirectories) do
        File.Copy(file, Path.Combine(target, Path.GetRelativePath(source, file)))
    target

[<Tests>]
let tests =
    testList "Runs.DamagedFiles" [
        test "a run whose checkpoint history.csv is garbage still loads for sampling, reconstructing and evaluating" {
            let folder = runCopy ()
            let ck = (Checkpoint.latest (RunFolder.checkpointsFolder folder)).Value
            File.WriteAllText(Path.Combine(ck, "history.csv"), "step,1,\n\u0001garbage")
            let s, model = Experiment.load folder Cpu
            Expect.equal s.ModelId "ae-linear" "the run's model"
            Expect.isSome model.Reconstruct "ready to reconstruct"
            Directory.Delete(folder, true)
        }

        test "eval on a run with a damaged metrics.csv names the file, the line and the fix before measuring anything" {
            let folder = runCopy ()
            let metrics = RunFolder.metricsPath folder
            let lines = File.ReadAllLines metrics
            lines.[2] <- "step,1,2"
            File.WriteAllText(metrics, String.Join("\n", lines) + "\n")
            let e = TestData.raises<InvalidDataException> (fun () -> Experiment.evaluate folder Cpu |> ignore)
            Expect.stringContains e.Message (metrics + ", line 3: 3 fields where the header has 5") "names the file, the line and what is wrong"
            Expect.stringContains e.Message "history.csv over it" "says how to repair it from the newest checkpoint"
            Expect.stringContains e.Message "or delete it" "or how to do without it"
            Expect.isFalse (File.Exists(Path.Combine(folder, "report.html"))) "nothing measured, no report written"
            Directory.Delete(folder, true)
        }
    ]
