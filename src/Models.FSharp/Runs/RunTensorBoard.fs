namespace Generative

open System
open System.IO
open TorchSharp

/// TensorBoard's event files: TFRecord files of `Event` protocol buffers (TorchSharp's generated `Tensorboard` types),
/// each record framed as a little-endian uint64 length, the masked CRC-32C of those 8 bytes, the event's bytes and
/// their masked CRC-32C (TensorFlow's `record_writer`, `crc32c::Mask`). TorchSharp's `SummaryWriter` is not used:
/// its images need SkiaSharp's native library (which the Linux runtime lacks; the library writes its PNGs itself), it
/// opens, flushes and closes the file for every event, and it takes 32-bit steps and whole seconds of wall time.
[<RequireQualifiedAccess>]
module internal EventFile =
    /// TensorFlow's masked CRC-32C: rotated right by 15 bits plus a constant, so a CRC of data holding CRCs stays
    /// useful.
    let maskedCrc (bytes: byte[]) =
        let crc = TorchSharp.Utils.CRC32C.``process`` bytes
        ((crc >>> 15) ||| (crc <<< 17)) + 0xa282ead8u

    /// One record: length, its masked CRC, the data, its masked CRC.
    let writeRecord (stream: Stream) (data: byte[]) =
        let length = BitConverter.GetBytes(uint64 data.Length)
        if not BitConverter.IsLittleEndian then Array.Reverse length
        let crc (bytes: byte[]) =
            let b = BitConverter.GetBytes(maskedCrc bytes)
            if not BitConverter.IsLittleEndian then Array.Reverse b
            b
        stream.Write(length, 0, length.Length)
        stream.Write(crc length, 0, 4)
        stream.Write(data, 0, data.Length)
        stream.Write(crc data, 0, 4)

    /// Seconds since 1970 with their fraction, as events carry them.
    let wallTime () = float (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) / 1000.0

    let mutable private fileCount = 0

    /// A new event file in `folder`, named as TensorBoard's writers name them (`events.out.tfevents.<time>.<host>.<pid>.<n>`,
    /// the time in 100 ns ticks so a resumed run's file sorts after the files before it), opened with its first
    /// record, the file version.
    let create (folder: string) : FileStream =
        Directory.CreateDirectory folder |> ignore
        let name =
            sprintf "events.out.tfevents.%d.%s.%d.%d" DateTime.UtcNow.Ticks (Environment.MachineName) Environment.ProcessId
                (Threading.Interlocked.Increment &fileCount)
        let stream = new FileStream(Path.Combine(folder, name), FileMode.CreateNew, FileAccess.Write, FileShare.Read)
        writeRecord stream (Google.Protobuf.MessageExtensions.ToByteArray(Tensorboard.Event(WallTime = wallTime (), FileVersion = "brain.Event:2")))
        stream

/// What a run's TensorBoard log holds until it is written: one summary at one global step.
type internal TensorBoardEntry =
    | Scalar of tag: string * value: float32
    | Picture of tag: string * png: string
    | Passage of tag: string * text: string
    | Prepared of Tensorboard.Summary

/// A run's TensorBoard log (`RunTensorBoard`): the events since the last checkpoint, kept in memory and written to
/// an event file of `<run>/tensorboard/` when the run checkpoints. A log of a run without `RunSettings.TensorBoard`
/// ignores everything.
[<Sealed>]
type TensorBoardLog internal (folder: string option, warn: string -> unit) =
    let pending = ResizeArray<struct (int64 * float * TensorBoardEntry)>()
    // Made at the first write, and kept open (shared for reading) for the run.
    let mutable file : FileStream option = None
    let mutable failed = false
    let summaryOf (entry: TensorBoardEntry) =
        match entry with
        | Scalar (tag, value) ->
            let summary = Tensorboard.Summary()
            summary.Value.Add(Tensorboard.Summary.Types.Value(Tag = tag, SimpleValue = value))
            summary
        | Picture (tag, png) ->
            // The library's own PNG files (Images.encodePng): width and height from the IHDR chunk, colour type 0
            // (grey) or 2 (RGB).
            let bytes = File.ReadAllBytes png
            let bigEndian (offset: int) = (int bytes.[offset] <<< 24) ||| (int bytes.[offset + 1] <<< 16) ||| (int bytes.[offset + 2] <<< 8) ||| int bytes.[offset + 3]
            let image =
                Tensorboard.Summary.Types.Image(
                    Width = bigEndian 16, Height = bigEndian 20, Colorspace = (if bytes.[25] = 0uy then 1 else 3),
                    EncodedImageString = Google.Protobuf.ByteString.CopyFrom bytes)
            let summary = Tensorboard.Summary()
            summary.Value.Add(Tensorboard.Summary.Types.Value(Tag = tag, Image = image))
            summary
        | Passage (tag, text) -> torch.utils.tensorboard.Summary.text(tag, text)
        | Prepared summary -> summary
    member internal _.Enabled = folder.IsSome && not failed
    member internal _.Add (step: int64) (entry: TensorBoardEntry) = pending.Add(struct (step, EventFile.wallTime (), entry))
    member internal _.Flush() =
        match folder with
        | Some dir when not failed && pending.Count > 0 ->
            try
                let stream =
                    match file with
                    | Some f -> f
                    | None ->
                        let f = EventFile.create dir
                        file <- Some f
                        f
                for struct (step, wallTime, entry) in pending do
                    let event = Tensorboard.Event(WallTime = wallTime, Step = step, Summary = summaryOf entry)
                    EventFile.writeRecord stream (Google.Protobuf.MessageExtensions.ToByteArray event)
                stream.Flush()
                pending.Clear()
            // The log is an extra: a full disk or a lost folder must not cost the run its training.
            with :? IOException | :? UnauthorizedAccessException as e ->
                failed <- true
                pending.Clear()
                file |> Option.iter (fun f -> f.Dispose())
                warn (sprintf "warning: the TensorBoard log stopped (%s); training goes on without it" e.Message)
        | _ -> ()
    /// Closes the event file. What is still pending is dropped: it is written only with a checkpoint (`flush`), so
    /// a run that fails keeps a log no longer than what it can resume from.
    interface IDisposable with
        member _.Dispose() =
            file |> Option.iter (fun f -> f.Dispose())
            file <- None

/// A run's TensorBoard log in `<run>/tensorboard/` (`RunFolder.tensorBoardFolder`), written when
/// `RunSettings.TensorBoard` is set, so `tensorboard --logdir runs` shows every run: each loss
/// term per step (`step/<term>`) and per epoch (`epoch/<term>`, validation terms as `epoch/val <term>`) against the
/// global step; the picture grids of each epoch (`pictures/<title>`) and the final ones (`final/<title>`); a language
/// model's passages (`passages/<title>`); the run's settings once, as a table (`settings`); and the test metrics
/// (`test/<metric>`) at the last step. Events wait in memory and are written when the run checkpoints (`flush`), so
/// training steps do no file work, and the log never holds steps that the newest checkpoint does not: a resumed run
/// continues it in a new event file of the same folder from the checkpoint's step, without repeating steps.
[<RequireQualifiedAccess>]
module RunTensorBoard =
    /// The log of a run in `folder` with settings `s`: one that ignores everything unless `s.TensorBoard`. A failed
    /// write stops the log and tells `warn`; training goes on. Dispose it when the run ends (it closes the file).
    let start (s: RunSettings) (folder: string) (warn: string -> unit) : TensorBoardLog =
        new TensorBoardLog((if s.TensorBoard then Some (RunFolder.tensorBoardFolder folder) else None), warn)

    let private scalars (log: TensorBoardLog) (prefix: string) (step: int64) (terms: Map<string, float>) =
        for KeyValue (term, value) in terms do log.Add step (Scalar (prefix + term, float32 value))

    /// A markdown table cell: '|' escaped, line breaks as spaces.
    let private cell (text: string) = text.Replace("|", "\\|").Replace("\r", " ").Replace("\n", " ")

    /// A protocol buffer varint.
    let private varint (n: int) =
        [| let mutable v = uint32 n
           while v >= 0x80u do
               yield byte (v &&& 0x7Fu ||| 0x80u)
               v <- v >>> 7
           yield byte v |]

    /// The hparams plugin's session start (TensorBoard's `plugins/hparams` `HParamsPluginData` with a
    /// `SessionStartInfo`, as PyTorch's `add_hparams` writes it), so the HParams tab lists the run with its settings;
    /// its metrics are the run's scalars.
    let private sessionStart (hparams: (string * Google.Protobuf.WellKnownTypes.Value) list) =
        // SessionStartInfo's hparams (field 1, map<string, google.protobuf.Value>) has the wire form of a Struct's
        // fields; start_time_secs is field 5 (a double).
        let fields = Google.Protobuf.WellKnownTypes.Struct()
        for (key, value) in hparams do fields.Fields.[key] <- value
        let startTime = BitConverter.GetBytes(EventFile.wallTime ())
        if not BitConverter.IsLittleEndian then Array.Reverse startTime
        let info = Array.concat [ Google.Protobuf.MessageExtensions.ToByteArray fields; [| 0x29uy |]; startTime ]
        // HParamsPluginData: version 0 (field 1, left out), session_start_info (field 3).
        let content = Array.concat [ [| 0x1Auy |]; varint info.Length; info ]
        let metadata =
            Tensorboard.SummaryMetadata(
                PluginData = Tensorboard.SummaryMetadata.Types.PluginData(PluginName = "hparams", Content = Google.Protobuf.ByteString.CopyFrom content))
        let summary = Tensorboard.Summary()
        summary.Value.Add(Tensorboard.Summary.Types.Value(Tag = "_hparams_/session_start_info", Metadata = metadata))
        summary

    /// The run's settings and its model's (`modelSettings`, defaults included) at step 0, once, when a run starts: as
    /// a table (`settings`) and as the hparams plugin's session (TensorBoard's HParams tab).
    let settings (log: TensorBoardLog) (s: RunSettings) (modelSettings: (string * string) list) =
        if log.Enabled then
            let number (n: int64) = Google.Protobuf.WellKnownTypes.Value.ForNumber(float n)
            let text (t: string) = Google.Protobuf.WellKnownTypes.Value.ForString t
            let hparams =
                [ yield "model", text s.ModelId
                  yield "dataset", text (match s.TextFile with Some file -> file | None -> s.Dataset)
                  match s.MaxSteps with
                  | Some m -> yield "steps", number m
                  | None -> yield "epochs", number (int64 s.Epochs)
                  yield "batch size", number (int64 s.BatchSize)
                  yield "seed", number s.Seed
                  match s.Normalization with
                  | Some n -> yield "normalization", text n
                  | None -> ()
                  for (key, value) in modelSettings -> key, text value ]
            log.Add 0L (Prepared (sessionStart hparams))
            let rows =
                [ yield "model", s.ModelId
                  yield "dataset", (match s.TextFile with Some file -> file | None -> s.Dataset)
                  match s.MaxSteps with
                  | Some m -> yield "steps", string m
                  | None -> yield "epochs", string s.Epochs
                  yield "batch size", string s.BatchSize
                  yield "seed", string s.Seed
                  match s.Normalization with
                  | Some n -> yield "normalization", n
                  | None -> ()
                  yield! modelSettings ]
            let table =
                [ yield "| setting | value |"
                  yield "|---|---|"
                  for (key, value) in rows -> sprintf "| %s | %s |" (cell key) (cell value) ]
            log.Add 0L (Passage ("settings", String.concat "\n" table))

    /// Each loss term of a training step as `step/<term>` at its global step.
    let step (log: TensorBoardLog) (progress: StepProgress) =
        if log.Enabled then scalars log "step/" progress.Step progress.Terms

    /// Each term of a finished epoch (training means and validation terms) as `epoch/<term>` at the global step the
    /// epoch ended at.
    let epoch (log: TensorBoardLog) (record: EpochRecord) =
        if log.Enabled then scalars log "epoch/" record.Step record.Terms

    /// The picture grids (title, PNG file) drawn at global step `step` as `pictures/<title>`.
    let pictures (log: TensorBoardLog) (step: int64) (grids: (string * string) list) =
        if log.Enabled then for (title, png) in grids do log.Add step (Picture ("pictures/" + title, png))

    /// The passages (title, text) written at global step `step` as `passages/<title>`, each as a markdown code block
    /// so its line breaks stay.
    let passages (log: TensorBoardLog) (step: int64) (texts: (string * string) list) =
        if log.Enabled then
            for (title, text) in texts do
                let block = text.Replace("\r", "").Split('\n') |> Array.map (fun line -> "    " + line) |> String.concat "\n"
                log.Add step (Passage ("passages/" + title, block))

    /// The end-of-run evaluation at the run's last global step: each test metric as `test/<metric>`, and the final
    /// pictures the evaluation drew into the run folder as `final/<title>`. Nothing when it was skipped.
    let evaluation (log: TensorBoardLog) (step: int64) (folder: string) (evaluation: Evaluation) =
        if log.Enabled then
            match evaluation with
            | Skipped -> ()
            | Measured (metrics, _) ->
                for (name, value, _) in metrics do log.Add step (Scalar ("test/" + name, float32 value))
                for series in RunPictures.finalSeries folder do
                    for (_, png) in series.Frames do log.Add step (Picture ("final/" + series.Title, png))

    /// Writes the events held in memory to the run's event file (made at the first write). Called after every
    /// checkpoint, so the log holds exactly the steps the checkpoint's metrics do.
    let flush (log: TensorBoardLog) = log.Flush()
