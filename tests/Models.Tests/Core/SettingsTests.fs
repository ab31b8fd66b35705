module Generative.Tests.Core.SettingsTests

open System
open Expecto
open Generative
open Generative.Tests

/// Every catalog entry's settings as text, defaults included.
let private defaultsOf (entry: CatalogEntry) = (entry.Configure []).Settings

[<Tests>]
let tests =
    testList "Core.Settings" [
        test "an unknown key is rejected naming it and listing the model's keys" {
            let e = TestData.raises<ArgumentException> (fun () -> (Catalog.find "ae-linear").Configure [ "encoder-width", "64" ] |> ignore)
            Expect.equal e.ParamName "encoder-width" "ParamName is the key"
            Expect.stringContains e.Message "encoder-widths" "lists the keys there are"
        }

        test "a key given twice is rejected even when both values parse" {
            for values in [ [ "mse"; "bogus" ]; [ "mse"; "mse" ] ] do
                let pairs = values |> List.map (fun v -> "loss", v)
                let e = TestData.raises<ArgumentException> (fun () -> (Catalog.find "ae-linear").Configure pairs |> ignore)
                Expect.equal e.ParamName "loss" "ParamName is the key"
                Expect.stringContains e.Message "2 values" "says it was given twice"
        }

        test "a value that does not parse is rejected under its setting's key, whatever the parser calls it" {
            for id, key, text in [ "ae-linear", "hidden-activation", "swish"; "vae", "latent-dim", "twenty"
                                   "gan-mlp", "g-optimizer", "adam:lr=fast"; "ae-denoise", "noise", "gaussian:-1"
                                   "cls-mlp", "flip", "maybe" ] do
                let e = TestData.raises<ArgumentException> (fun () -> (Catalog.find id).Configure [ key, text ] |> ignore)
                Expect.equal e.ParamName key (sprintf "%s %s=%s" id key text)
        }

        test "a value out of range is rejected by the config's validation, naming the setting" {
            for id, key, text in [ "vae", "latent-dim", "0"; "ae-conv", "code-channels", "-1"; "gan-mlp", "d-steps", "0"
                                   "cls-mlp", "patience", "-2"; "cls-lenet", "dropout", "1.5" ] do
                let e = TestData.raises<ArgumentException> (fun () -> (Catalog.find id).Configure [ key, text ] |> ignore)
                Expect.equal e.ParamName key (sprintf "%s %s=%s" id key text)
        }

        test "every entry's defaults print and read back to the same settings" {
            for entry in Catalog.all do
                let printed = defaultsOf entry
                Expect.equal (entry.Configure printed).Settings printed entry.Id
                Expect.equal (printed |> List.map fst) (entry.Settings |> List.map (fun s -> s.Key)) (sprintf "%s: every key, in table order" entry.Id)
                Expect.equal (printed |> List.map snd) (entry.Settings |> List.map (fun s -> s.Default)) (sprintf "%s: defaults" entry.Id)
        }

        test "a preset-picking setting applies first whatever the order given" {
            let gan = Catalog.find "gan-mlp"
            let expected = (gan.Configure [ "variant", "b"; "latent-size", "7" ]).Settings
            Expect.equal (gan.Configure [ "latent-size", "7"; "variant", "b" ]).Settings expected "variant after latent-size"
            Expect.contains expected ("latent-size", "7") "the later setting refines the preset"
            Expect.contains expected ("hidden-width", "256") "variant b's own hidden width"
            let dae = Catalog.find "ae-denoise"
            let settings = (dae.Configure [ "optimizer", "adam:lr=0.01"; "network", "conv" ]).Settings
            Expect.contains settings ("network", "conv") "network"
            Expect.contains settings ("optimizer", Optim.describe (Optim.adam 0.01)) "the optimiser given applies to the chosen network"
        }

        test "settings lifted into a bigger config read and print through it" {
            let table = ClassifierEntries.settings
            let config = SettingsTable.read table ClassifierEntries.mlp.Defaults [ "dropout", "0.25"; "validation", "0.2" ]
            Expect.equal config.Model.Dropout 0.25 "the classifier's own setting"
            Expect.equal config.Validation 0.2 "the run's setting"
            Expect.contains (SettingsTable.print table config) ("dropout", "0.25") "printed through the lift"
        }
    ]
