namespace Generative

open System
open System.IO
open TorchSharp

/// What a run's TensorBoard log holds until it is written: one summary at one global step.
type internal TensorBoardEntry =
    | Scalar of tag: string * value: float32
    | Picture of tag: string * png: string
    | Passage of tag: string * text: string

/// A run's TensorBoard log (`RunTensorBoard`): the events since the last checkpoint, kept in memory and written to
/// `<run>/tensorboard/` by TorchSharp's `SummaryWriter` when the run checkpoints. A log of a run without
/// `RunSettings.TensorBoard` ignores everything.
[<Sealed>]
type TensorBoardLog internal (folder: string option, warn: string -> unit) =
    let pending = ResizeArray<struct (int * int64 * TensorBoardEntry)>()
    // Made at the first write: SummaryWriter creates its event file as soon as it exists.
    let mutable writer : Modules.SummaryWriter option = None
    let mutable failed = false
    member internal _.Enabled = folder.IsSome && not failed
    member internal _.Add (step: int64) (entry: TensorBoardEntry) =
        // TorchSharp's SummaryWriter takes 32-bit steps and whole seconds of wall time.
        pending.Add(struct (int (min step (int64 Int32.MaxValue)), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), entry))
    member internal _.Flush() =
        match folder with
        | Some dir when not failed && pending.Count > 0 ->
            try
                let w =
                    match writer with
                    | Some w -> w
                    | None ->
                        let w = torch.utils.tensorboard.SummaryWriter(dir)
                        writer <- Some w
                        w
                for struct (step, wallTime, entry) in pending do
                    match entry with
                    | Scalar (tag, value) -> w.add_scalar(tag, value, step, Nullable wallTime)
                    | Picture (tag, png) -> w.add_img(tag, png, step, Nullable wallTime)
                    | Passage (tag, text) -> w.add_text(tag, text, step, Nullable wallTime)
                pending.Clear()
            // The log is an extra: a full disk or a lost folder must not cost the run its training.
            with :? IOException | :? UnauthorizedAccessException as e ->
                failed <- true
                pending.Clear()
                warn (sprintf "warning: the TensorBoard log stopped (%s); training goes on without it" e.Message)
        | _ -> ()

/// A run's TensorBoard log in `<run>/tensorboard/` (`RunFolder.tensorBoardFolder`), written with TorchSharp's
/// `SummaryWriter` when `RunSettings.TensorBoard` is set, so `tensorboard --logdir runs` shows every run: each loss
/// term per step (`step/<term>`) and per epoch (`epoch/<term>`, validation terms as `epoch/val <term>`) against the
/// global step; the picture grids of each epoch (`pictures/<title>`) and the final ones (`final/<title>`); a language
/// model's passages (`passages/<title>`); the run's settings once, as a table (`settings`); and the test metrics
/// (`test/<metric>`) at the last step. Events wait in memory and are written when the run checkpoints (`flush`), so
/// training steps do no file work, and the log never holds steps that the newest checkpoint does not: a resumed run
/// continues it in a new event file of the same folder from the checkpoint's step, without repeating steps.
[<RequireQualifiedAccess>]
module RunTensorBoard =
    /// The log of a run in `folder` with settings `s`: one that ignores everything unless `s.TensorBoard`. A failed
    /// write stops the log and tells `warn`; training goes on.
    let start (s: RunSettings) (folder: string) (warn: string -> unit) : TensorBoardLog =
        TensorBoardLog((if s.TensorBoard then Some (RunFolder.tensorBoardFolder folder) else None), warn)

    let private scalars (log: TensorBoardLog) (prefix: string) (step: int64) (terms: Map<string, float>) =
        for KeyValue (term, value) in terms do log.Add step (Scalar (prefix + term, float32 value))

    /// A markdown table cell: '|' escaped, line breaks as spaces.
    let private cell (text: string) = text.Replace("|", "\\|").Replace("\r", " ").Replace("\n", " ")

    /// The run's settings and its model's (`modelSettings`, defaults included) as a table at step 0 (`settings`):
    /// called once, when a run starts.
    let settings (log: TensorBoardLog) (s: RunSettings) (modelSettings: (string * string) list) =
        if log.Enabled then
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
    /// checkpoint, so the log holds exactly the steps the checkpoint's metrics do, and at the end of the run.
    let flush (log: TensorBoardLog) = log.Flush()
