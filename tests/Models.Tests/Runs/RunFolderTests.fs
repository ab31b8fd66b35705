module Generative.Tests.Runs.RunFolderTests

open System.IO
open Expecto
open Generative
open Generative.Tests

/// A run.json as every version so far writes it (indented, keys in this order, normalisation resolved); run
/// folders made by earlier versions hold exactly this text and must keep loading.
let private savedRunJson (normalization: string) =
    String.concat "\n"
        [ "{"
          "  \"model\": \"ae-linear\","
          "  \"modelSettings\": {"
          "    \"loss\": \"mse\","
          "    \"optimizer\": \"adam:lr=0.001,beta1=0.9,beta2=0.999,wd=0\""
          "  },"
          "  \"dataset\": \"fashion-mnist\","
          sprintf "  \"normalization\": \"%s\"," normalization
          "  \"epochs\": 3,"
          "  \"batchSize\": 16,"
          "  \"seed\": 7,"
          "  \"checkpointEverySteps\": 5,"
          "  \"keepCheckpoints\": 4,"
          "  \"pictureCount\": 8"
          "}" ]

let private modelSettings = [ "loss", "mse"; "optimizer", "adam:lr=0.001,beta1=0.9,beta2=0.999,wd=0" ]

let private settings folder =
    { RunSettings.defaults "ae-linear" with
        ModelSettings = modelSettings; Dataset = "fashion-mnist"; Epochs = 3; BatchSize = 16; Seed = 7L
        CheckpointEverySteps = 5; KeepCheckpoints = 4; PictureCount = 8; EpochTestImages = 0; RunFolder = Some folder }

[<Tests>]
let tests =
    testList "Runs.RunFolder" [
        test "run.json is written byte for byte as earlier versions wrote it, with the entry's normalisation by default" {
            let folder = TestData.tempFolder "run-folder"
            let entry = Catalog.find "ae-linear"
            RunFolder.writeSettings folder entry { settings folder with Normalization = None } modelSettings
            Expect.equal (File.ReadAllText(RunFolder.settingsPath folder)) (savedRunJson entry.Normalization) "same text"
            Expect.equal (Directory.GetFiles folder |> Array.map Path.GetFileName) [| "run.json" |] "only run.json"
        }

        test "a run.json written by an earlier version reads back as the settings it was written from" {
            let folder = TestData.tempFolder "run-folder"
            File.WriteAllText(Path.Combine(folder, "run.json"), savedRunJson "mean-std")
            let read = RunFolder.readSettings folder
            Expect.equal read { settings folder with Normalization = Some "mean-std" } "every stored setting; the device and roots are the defaults"
        }

        test "a TensorBoard log is stored as \"tensorboard\": true after the other settings, and reads back" {
            let folder = TestData.tempFolder "run-folder"
            let entry = Catalog.find "ae-linear"
            let logged = { settings folder with Normalization = Some "zero-one"; TensorBoard = true }
            RunFolder.writeSettings folder entry logged modelSettings
            let expected = (savedRunJson "zero-one").Replace("\"pictureCount\": 8\n}", "\"pictureCount\": 8,\n  \"tensorboard\": true\n}")
            Expect.equal (File.ReadAllText(RunFolder.settingsPath folder)) expected "one more key"
            Expect.equal (RunFolder.readSettings folder) logged "read back"
        }

        test "per-epoch test images are stored as \"epochTestImages\" after the picture count and read back; a run.json without them has none" {
            let folder = TestData.tempFolder "run-folder"
            let entry = Catalog.find "ae-linear"
            let measured = { settings folder with Normalization = Some "zero-one"; EpochTestImages = 500 }
            RunFolder.writeSettings folder entry measured modelSettings
            let expected = (savedRunJson "zero-one").Replace("\"pictureCount\": 8\n}", "\"pictureCount\": 8,\n  \"epochTestImages\": 500\n}")
            Expect.equal (File.ReadAllText(RunFolder.settingsPath folder)) expected "one more key"
            Expect.equal (RunFolder.readSettings folder) measured "read back"
            File.WriteAllText(Path.Combine(folder, "run.json"), savedRunJson "zero-one")
            Expect.equal (RunFolder.readSettings folder).EpochTestImages 0 "none in earlier runs, as they were trained"
            Expect.equal (RunSettings.defaults "ae-linear").EpochTestImages RunSettings.defaultEpochTestImages "new runs measure them by default"
        }

        test "a step budget round-trips through run.json, and a run.json without one has none" {
            let folder = TestData.tempFolder "run-folder"
            let entry = Catalog.find "ae-linear"
            let budgeted = { settings folder with Normalization = Some "zero-one"; MaxSteps = Some 2000L }
            RunFolder.writeSettings folder entry budgeted modelSettings
            Expect.equal (RunFolder.readSettings folder) budgeted "maxSteps read back"
            Expect.equal (RunSettings.withStepsPerEpoch 938 budgeted).Epochs 3 "2000 steps at 938 per epoch take 3 epochs"
            Expect.equal (RunSettings.withBudget (TrainingBudget.Epochs 5) budgeted).MaxSteps None "an epoch count replaces the budget"
            File.WriteAllText(Path.Combine(folder, "run.json"), savedRunJson "zero-one")
            Expect.isNone (RunFolder.readSettings folder).MaxSteps "no budget in earlier runs"
        }
    ]
