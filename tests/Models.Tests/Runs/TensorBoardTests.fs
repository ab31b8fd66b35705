module Generative.Tests.Runs.TensorBoardTests

open System
open System.IO
open System.Text
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

// A run with TensorBoard on writes event files that TensorBoard reads. TensorBoard is not installed here, so the
// tests read the files back with a reader of their own, written from the formats' definitions and sharing nothing
// with the library's writer: TFRecord framing (uint64 length, masked CRC-32C of the length, data, masked CRC-32C of
// the data) and the few fields of TensorFlow's Event, Summary, Image and TensorProto messages the tests look at.

/// Reading TensorBoard event files.
module private EventReader =
    /// CRC-32C (Castagnoli; reflected polynomial 0x82F63B78), bit by bit.
    let crc32c (data: byte[]) (offset: int) (count: int) =
        let mutable crc = 0xFFFFFFFFu
        for i in offset .. offset + count - 1 do
            crc <- crc ^^^ uint32 data.[i]
            for _ in 1 .. 8 do
                crc <- if crc &&& 1u <> 0u then (crc >>> 1) ^^^ 0x82F63B78u else crc >>> 1
        ~~~crc

    /// TensorFlow's mask of a CRC stored in a record.
    let masked (crc: uint32) = ((crc >>> 15) ||| (crc <<< 17)) + 0xa282ead8u

    /// The records of an event file's bytes, or what is wrong with them (a cut record, a CRC that does not match).
    let readRecords (bytes: byte[]) : Result<byte[] list, string> =
        let records = ResizeArray<byte[]>()
        let rec go (pos: int) =
            if pos = bytes.Length then Ok (List.ofSeq records)
            elif bytes.Length - pos < 12 then Error (sprintf "a record header cut at byte %d" pos)
            elif masked (crc32c bytes pos 8) <> BitConverter.ToUInt32(bytes, pos + 8) then Error (sprintf "the length CRC of the record at byte %d does not match" pos)
            else
                let length = BitConverter.ToUInt64(bytes, pos)
                let start = pos + 12
                if uint64 (bytes.Length - start) < length + 4UL then Error (sprintf "the record at byte %d is cut" pos)
                else
                    let n = int length
                    if masked (crc32c bytes start n) <> BitConverter.ToUInt32(bytes, start + n) then
                        Error (sprintf "the data CRC of the record at byte %d does not match" pos)
                    else
                        records.Add bytes.[start .. start + n - 1]
                        go (start + n + 4)
        go 0

    /// A protocol buffer field's value, by wire type.
    type Field =
        | Varint of uint64
        | Fixed64 of uint64
        | Bytes of byte[]
        | Fixed32 of uint32

    /// The fields of a protocol buffer message as (number, value), in order.
    let fields (data: byte[]) : (int * Field) list =
        let mutable pos = 0
        let varint () =
            let mutable result = 0UL
            let mutable shift = 0
            let mutable more = true
            while more do
                let b = data.[pos]
                pos <- pos + 1
                result <- result ||| (uint64 (b &&& 0x7Fuy) <<< shift)
                shift <- shift + 7
                more <- b &&& 0x80uy <> 0uy
            result
        [ while pos < data.Length do
            let key = varint ()
            let number = int (key >>> 3)
            match int (key &&& 7UL) with
            | 0 -> yield number, Varint (varint ())
            | 1 ->
                let v = BitConverter.ToUInt64(data, pos)
                pos <- pos + 8
                yield number, Fixed64 v
            | 2 ->
                let n = int (varint ())
                let b = data.[pos .. pos + n - 1]
                pos <- pos + n
                yield number, Bytes b
            | 5 ->
                let v = BitConverter.ToUInt32(data, pos)
                pos <- pos + 4
                yield number, Fixed32 v
            | wire -> failtestf "unknown wire type %d" wire ]

    let private bytesOf number (fs: (int * Field) list) = fs |> List.choose (function n, Bytes b when n = number -> Some b | _ -> None)
    let private text (b: byte[]) = Encoding.UTF8.GetString b

    /// One Summary.Value: its tag and what it holds.
    type Value =
        { Tag: string
          /// simple_value (field 2).
          Scalar: float32 option
          /// image (4): (width, height, encoded image).
          Image: (int * int * byte[]) option
          /// tensor (8) string_val (8): a text summary's text.
          Text: string option
          /// metadata (9) plugin_data (1): (plugin_name (1), content (2)).
          Plugin: (string * byte[]) option }

    /// One Event: wall_time (1), step (2), file_version (3), summary (5) values.
    type Event = { WallTime: float; Step: int64; FileVersion: string option; Values: Value list }

    let private value (data: byte[]) : Value =
        let fs = fields data
        { Tag = bytesOf 1 fs |> List.tryHead |> Option.map text |> Option.defaultValue ""
          Scalar = fs |> List.tryPick (function 2, Fixed32 v -> Some (BitConverter.Int32BitsToSingle(int v)) | _ -> None)
          Image =
            bytesOf 4 fs |> List.tryHead |> Option.map (fun image ->
                let ifs = fields image
                let number n = ifs |> List.tryPick (function k, Varint v when k = n -> Some (int v) | _ -> None) |> Option.defaultValue 0
                number 2, number 1, (bytesOf 4 ifs |> List.head))
          Text = bytesOf 8 fs |> List.tryHead |> Option.bind (fun tensor -> bytesOf 8 (fields tensor) |> List.tryHead |> Option.map text)
          Plugin =
            bytesOf 9 fs |> List.tryHead |> Option.bind (fun metadata -> bytesOf 1 (fields metadata) |> List.tryHead)
            |> Option.map (fun plugin -> let pfs = fields plugin in text (List.head (bytesOf 1 pfs)), (bytesOf 2 pfs |> List.tryHead |> Option.defaultValue [||])) }

    /// The hparams of an hparams plugin's content: HParamsPluginData session_start_info (3) hparams (1), a map of
    /// google.protobuf.Value (number_value 2, string_value 3), as (name, Choice1Of2 number | Choice2Of2 text).
    let hparams (content: byte[]) =
        [ for info in bytesOf 3 (fields content) do
            for entry in bytesOf 1 (fields info) do
                let efs = fields entry
                let key = text (List.head (bytesOf 1 efs))
                let vfs = fields (List.head (bytesOf 2 efs))
                match vfs with
                | [ 2, Fixed64 bits ] -> yield key, Choice1Of2 (BitConverter.Int64BitsToDouble(int64 bits))
                | [ 3, Bytes b ] -> yield key, Choice2Of2 (text b)
                | other -> failtestf "hparam %s: unexpected value %A" key other ]

    let event (data: byte[]) : Event =
        let fs = fields data
        { WallTime = fs |> List.pick (function 1, Fixed64 v -> Some (BitConverter.Int64BitsToDouble(int64 v)) | _ -> None)
          Step = fs |> List.tryPick (function 2, Varint v -> Some (int64 v) | _ -> None) |> Option.defaultValue 0L
          FileVersion = bytesOf 3 fs |> List.tryHead |> Option.map text
          Values = bytesOf 5 fs |> List.collect (fun summary -> bytesOf 1 (fields summary) |> List.map value) }

    /// The event files of a folder in the order TensorBoard reads them (by name), each as its events; a file whose
    /// records do not check out fails the test.
    let read (folder: string) : (string * Event list) list =
        [ for file in Directory.GetFiles(folder) |> Array.sort ->
            match readRecords (File.ReadAllBytes file) with
            | Ok records -> Path.GetFileName file, records |> List.map event
            | Error why -> failtestf "%s: %s" file why ]

    /// Every scalar as (tag, step, value), in file order.
    let scalars (events: Event list) =
        [ for e in events do for v in e.Values do match v.Scalar with Some x -> yield v.Tag, e.Step, x | None -> () ]

/// 64 training and 16 test images in batches of 32: 2 steps an epoch.
let private data () : RunData = TestData.barsData 64 16

let private settings folder =
    { Experiment.defaults "ae-linear" with
        Epochs = 2; BatchSize = 32; Device = Cpu; RunFolder = Some folder; PictureCount = 4; TensorBoard = true }

let private quiet = { OnStep = ignore; Log = ignore; OnWork = ignore }

/// The scalars a run's metrics.csv says the log must hold: each step's terms (`step/<term>`) and each epoch's
/// (`epoch/<term>`) at their global steps, as 32-bit floats, as TensorBoard stores them.
let private expectedScalars (folder: string) =
    let path = RunFolder.metricsPath folder
    let h = History.ofCsv path (File.ReadAllText path)
    [ for s in h.Steps do for KeyValue (k, v) in s.Terms -> "step/" + k, s.Step, float32 v
      for e in h.Epochs do for KeyValue (k, v) in e.Terms -> "epoch/" + k, e.Step, float32 v ]

/// Runs the built CLI with `args` in `folder`: (exit code, standard output and error).
let private runCli (folder: string) (args: string list) =
    let code, out, err = TestData.runCliIn folder [] args
    code, out + err

[<Tests>]
let tests =
    testSequenced <| testList "Runs.TensorBoard" [
        test "a run logs each step's and epoch's terms, the epoch pictures, the settings and the test metrics in event files whose CRCs check out" {
            let folder = TestData.tempFolder "tensorboard"
            try
                let s = settings folder
                use data = data ()
                let r = Experiment.fitModel s (Experiment.buildModel s) data quiet CancellationToken.None
                let files = EventReader.read (RunFolder.tensorBoardFolder folder)
                Expect.equal files.Length 1 "one event file"
                Expect.stringStarts (fst files.[0]) "events.out.tfevents." "named as TensorBoard looks for them"
                let events = snd files.[0]
                Expect.equal events.Head.FileVersion (Some "brain.Event:2") "the first event is the file version"
                let now = float (DateTimeOffset.UtcNow.ToUnixTimeSeconds())
                for e in events do Expect.isTrue (e.WallTime > now - 3600.0 && e.WallTime <= now + 1.0) (sprintf "wall time %f is seconds since 1970" e.WallTime)
                let lastStep = r.History.Steps |> List.last |> fun st -> st.Step
                Expect.equal lastStep 4L "2 epochs of 2 steps"
                let scalars = EventReader.scalars events
                let expected = expectedScalars folder @ [ for (name, value, _) in r.Metrics -> "test/" + name, lastStep, float32 value ]
                Expect.isNonEmpty r.Metrics "the evaluation ran"
                Expect.equal (List.sort scalars) (List.sort expected) "every step's and epoch's terms of metrics.csv and the test metrics, at their steps, once each"
                // The pictures: each series of samples/ at epochs 0, 1 and 2 (steps 0, 2 and 4), the same PNG bytes.
                let samples = RunFolder.picturesFolder folder
                let titles = Directory.GetFiles(samples, "*.title") |> Array.map (fun f -> Path.GetFileNameWithoutExtension f, File.ReadAllText f) |> List.ofArray
                Expect.isNonEmpty titles "ae-linear draws picture series"
                let images =
                    [ for e in events do for v in e.Values do match v.Image with Some (w, h, png) -> yield v.Tag, e.Step, (w, h, png) | None -> () ]
                    |> List.filter (fun (tag, _, _) -> tag.StartsWith "pictures/")
                Expect.equal (images |> List.map (fun (tag, step, _) -> tag, step) |> List.sort)
                    (List.sort [ for (_, title) in titles do for step in [ 0L; 2L; 4L ] -> "pictures/" + title, step ]) "each series at each epoch's end, and before training"
                for (stem, title) in titles do
                    for (epoch, step) in [ 0, 0L; 1, 2L; 2, 4L ] do
                        let png = File.ReadAllBytes(Path.Combine(samples, sprintf "%s-epoch-%03d.png" stem epoch))
                        let _, _, (w, h, logged) = images |> List.find (fun (tag, st, _) -> tag = "pictures/" + title && st = step)
                        Expect.equal logged png (sprintf "%s at epoch %d: the PNG of samples/" title epoch)
                        Expect.isTrue (w > 0 && h > 0) "with its size"
                let texts = [ for e in events do for v in e.Values do match v.Text with Some t -> yield v.Tag, e.Step, t | None -> () ]
                match texts |> List.filter (fun (tag, _, _) -> tag = "settings/text_summary") with
                | [ _, step, table ] ->
                    Expect.equal step 0L "at step 0"
                    Expect.stringContains table "| model | ae-linear |" "the model"
                    Expect.stringContains table "| batch size | 32 |" "the batch size"
                    Expect.stringContains table "| loss | mse |" "and the model's settings"
                | other -> failtestf "expected the settings once, got %A" other
                // The HParams tab's session: the same settings, numbers as numbers.
                match [ for e in events do for v in e.Values do match v.Plugin with Some (name, content) when v.Tag = "_hparams_/session_start_info" -> yield e.Step, name, content | _ -> () ] with
                | [ step, plugin, content ] ->
                    Expect.equal (step, plugin) (0L, "hparams") "the hparams plugin's session start, at step 0"
                    let hp = EventReader.hparams content |> Map.ofList
                    Expect.equal hp.["model"] (Choice2Of2 "ae-linear") "the model"
                    Expect.equal hp.["batch size"] (Choice1Of2 32.0) "the batch size, a number"
                    Expect.equal hp.["epochs"] (Choice1Of2 2.0) "the epochs"
                    Expect.equal hp.["loss"] (Choice2Of2 "mse") "the model's settings"
                | other -> failtestf "expected one hparams session, got %A" other
                // The reader's CRC checks are live: one flipped bit in the data, or in a length, is refused.
                let bytes = File.ReadAllBytes(Path.Combine(RunFolder.tensorBoardFolder folder, fst files.[0]))
                let flipped (at: int) = let b = Array.copy bytes in b.[at] <- b.[at] ^^^ 1uy; b
                Expect.isOk (EventReader.readRecords bytes) "the file as written"
                Expect.isError (EventReader.readRecords (flipped (bytes.Length / 2))) "a bit flipped in the middle"
                Expect.isError (EventReader.readRecords (flipped 0)) "a bit flipped in the first length"
            finally Directory.Delete(folder, true)
        }

        test "a stopped run resumed from its checkpoint continues the log in a new file, from the checkpoint's step, repeating none" {
            let folder = TestData.tempFolder "tensorboard-resume"
            try
                let s = settings folder
                use data = data ()
                use cts = new CancellationTokenSource()
                // Stopped after step 3, in the middle of epoch 2 (its checkpoint is saved then).
                let stopped = Experiment.fitModel s (Experiment.buildModel s) data { quiet with OnStep = fun p -> if p.Step = 3L then cts.Cancel() } cts.Token
                Expect.equal stopped.Outcome Cancelled "stopped"
                Expect.equal (EventReader.read (RunFolder.tensorBoardFolder folder)).Length 1 "one file so far"
                let resumed = Experiment.resumeModel folder None Cpu (Experiment.buildModel s) data quiet CancellationToken.None
                Expect.equal resumed.Outcome Completed "finished"
                let files = EventReader.read (RunFolder.tensorBoardFolder folder)
                Expect.equal files.Length 2 "the resumed part in a second file"
                let stepsOf (events: EventReader.Event list) =
                    EventReader.scalars events |> List.filter (fun (tag, _, _) -> tag = "step/loss") |> List.map (fun (_, step, _) -> step)
                Expect.equal (stepsOf (snd files.[0])) [ 1L; 2L; 3L ] "the first part, up to its checkpoint"
                Expect.equal (stepsOf (snd files.[1])) [ 4L ] "the resumed part from the checkpoint's step"
                let all = files |> List.collect (snd >> EventReader.scalars) |> List.filter (fun (tag, _, _) -> not (tag.StartsWith "test/"))
                Expect.equal (List.sort all) (List.sort (expectedScalars folder)) "together, metrics.csv of the whole run, once each"
                let settingsTables = files |> List.collect snd |> List.collect (fun e -> e.Values) |> List.filter (fun v -> v.Tag = "settings/text_summary")
                Expect.equal settingsTables.Length 1 "the settings once"
            finally Directory.Delete(folder, true)
        }

        test "a language model's run logs the passages of each epoch as text" {
            let folder = TestData.tempFolder "tensorboard-text"
            try
                let text = Path.Combine(folder, "text.txt")
                File.WriteAllText(text, String.replicate 40 "to be or not to be\nthat is the question\n")
                let s =
                    { Experiment.defaults "char-lstm" with
                        TextFile = Some text; Epochs = 2; BatchSize = 4; Device = Cpu; RunFolder = Some (Path.Combine(folder, "run")); TensorBoard = true
                        ModelSettings = [ "hidden", "8"; "embedding", "4"; "sequence-length", "20" ] }
                let r = Experiment.train s quiet CancellationToken.None
                let run = Path.Combine(folder, "run")
                let events = EventReader.read (RunFolder.tensorBoardFolder run) |> List.collect snd
                let passages =
                    [ for e in events do for v in e.Values do match v.Text with Some t when v.Tag.StartsWith "passages/" -> yield v.Tag, e.Step, t | _ -> () ]
                let samples = RunFolder.picturesFolder run
                let series = Directory.GetFiles(samples, "*.passage") |> Array.map (fun f -> Path.GetFileNameWithoutExtension f, File.ReadAllText f) |> List.ofArray
                Expect.isNonEmpty series "char-lstm writes passages"
                let expected =
                    [ for (stem, title) in series do
                        for e in r.History.Epochs do
                            let written = File.ReadAllText(Path.Combine(samples, sprintf "%s-epoch-%03d.txt" stem e.Epoch))
                            let block = written.Replace("\r", "").Split('\n') |> Array.map (fun line -> "    " + line) |> String.concat "\n"
                            yield "passages/" + title + "/text_summary", e.Step, block ]
                Expect.equal (List.sort passages) (List.sort expected) "each epoch's passages at the epoch's last step, as markdown code blocks"
            finally Directory.Delete(folder, true)
        }

        test "a run that fails keeps a log no longer than its newest checkpoint" {
            let folder = TestData.tempFolder "tensorboard-diverged"
            try
                // A one-weight stand-in whose loss is NaN at step 4: epoch 1 (steps 1 and 2) is checkpointed, step 3 is not.
                let mutable step = 0L
                let model =
                    TestData.stubModel (torch.nn.Linear(1L, 1L, hasBias = false))
                        (fun () -> step <- step + 1L; Map [ "loss", (if step = 4L then nan else float step) ]) (fun () -> [])
                use data = TestData.barsData 18 4
                let s = { Experiment.defaults "cls-mlp" with Epochs = 3; BatchSize = 9; Device = Cpu; RunFolder = Some folder; PictureCount = 4; TensorBoard = true }
                let e = TestData.raises<NonFiniteLossException> (fun () -> Experiment.fitModel s model data quiet CancellationToken.None |> ignore)
                Expect.equal e.Step 4L "diverged at step 4"
                let logged = EventReader.read (RunFolder.tensorBoardFolder folder) |> List.collect (snd >> EventReader.scalars)
                Expect.equal (List.sort logged) (List.sort (expectedScalars folder)) "what metrics.csv holds: epoch 1, not step 3"
                Expect.equal (logged |> List.filter (fun (tag, _, _) -> tag = "step/loss") |> List.map (fun (_, st, _) -> st)) [ 1L; 2L ] "steps 1 and 2"
            finally Directory.Delete(folder, true)
        }

        test "'generative train --tensorboard' writes the log into the run folder and stores the setting" {
            let folder = TestData.tempFolder "tensorboard-cli"
            try
                // Any text trains a language model, while image runs need a verified copy of MNIST.
                File.WriteAllText(Path.Combine(folder, "text.txt"), String.replicate 40 "to be or not to be\nthat is the question\n")
                let code, output =
                    runCli folder [ "train"; "char-lstm"; "--text"; "text.txt"; "--epochs"; "1"; "--run-folder"; "run"; "--batch-size"; "4"
                                    "--set"; "hidden=8"; "--set"; "embedding=4"; "--set"; "sequence-length=20"; "--tensorboard" ]
                Expect.equal code 0 (sprintf "trained (output: %s)" output)
                let run = Path.Combine(folder, "run")
                Expect.isTrue (RunFolder.readSettings run).TensorBoard "run.json says so"
                let files = EventReader.read (RunFolder.tensorBoardFolder run)
                Expect.equal files.Length 1 "one event file"
                let steps = EventReader.scalars (snd files.[0]) |> List.filter (fun (tag, _, _) -> tag = "step/loss") |> List.map (fun (_, st, _) -> st)
                let path = RunFolder.metricsPath run
                Expect.equal steps [ for st in (History.ofCsv path (File.ReadAllText path)).Steps -> st.Step ] "every step's loss"
            finally Directory.Delete(folder, true)
        }

        test "'generative train --resume RUN --tensorboard' logs a run that started without it from its checkpoint on" {
            let folder = TestData.tempFolder "tensorboard-cli-resume"
            try
                File.WriteAllText(Path.Combine(folder, "text.txt"), String.replicate 40 "to be or not to be\nthat is the question\n")
                let code, output =
                    runCli folder [ "train"; "char-lstm"; "--text"; "text.txt"; "--epochs"; "1"; "--run-folder"; "run"; "--batch-size"; "4"
                                    "--set"; "hidden=8"; "--set"; "embedding=4"; "--set"; "sequence-length=20" ]
                Expect.equal code 0 (sprintf "trained (output: %s)" output)
                let run = Path.Combine(folder, "run")
                Expect.isFalse (Directory.Exists(RunFolder.tensorBoardFolder run)) "no log yet"
                let firstSteps = (History.ofCsv "metrics.csv" (File.ReadAllText(RunFolder.metricsPath run))).Steps.Length
                let code, output = runCli folder [ "train"; "--resume"; "run"; "--epochs"; "2"; "--tensorboard" ]
                Expect.equal code 0 (sprintf "resumed (output: %s)" output)
                Expect.isTrue (RunFolder.readSettings run).TensorBoard "run.json now says so"
                let steps =
                    EventReader.read (RunFolder.tensorBoardFolder run) |> List.collect (snd >> EventReader.scalars)
                    |> List.filter (fun (tag, _, _) -> tag = "step/loss") |> List.map (fun (_, st, _) -> st)
                Expect.equal steps [ int64 firstSteps + 1L .. 2L * int64 firstSteps ] "the second epoch's steps"
            finally Directory.Delete(folder, true)
        }

        test "a run without TensorBoard writes no log and no key in run.json" {
            let folder = TestData.tempFolder "tensorboard-off"
            try
                let s = { settings folder with TensorBoard = false; Epochs = 1 }
                use data = data ()
                Experiment.fitModel s (Experiment.buildModel s) data quiet CancellationToken.None |> ignore
                Expect.isFalse (Directory.Exists(RunFolder.tensorBoardFolder folder)) "no tensorboard folder"
                Expect.isFalse ((File.ReadAllText(RunFolder.settingsPath folder)).Contains "tensorboard") "run.json as before"
                Expect.isFalse (RunFolder.readSettings folder).TensorBoard "reads back off"
            finally Directory.Delete(folder, true)
        }
    ]
