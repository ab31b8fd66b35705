namespace Generative

open System
open System.IO
open System.Threading
open TorchSharp

/// How a run call ended.
type RunResult =
    { Folder: string
      Report: string
      History: History
      Outcome: FitOutcome
      Metrics: (string * float * string) list
      /// The epoch whose weights the model ends with when early stopping put back an earlier, better epoch than
      /// the last one trained (also one trained before a resume); None: the last epoch's weights.
      KeptEpoch: int option
      /// The end-of-run evaluation, or `Skipped` when the run was stopped before it finished.
      Evaluation: Evaluation }

/// Callbacks a run reports through.
type RunEvents =
    { /// After each training step.
      OnStep: StepProgress -> unit
      /// A line of the run's log.
      Log: string -> unit
      /// After each unit (batch, iteration) of the end-of-run evaluation.
      OnWork: WorkProgress -> unit }

/// What stops a run, stage by stage: a caller that stops everything at once passes one token for both
/// (`RunStop.ofToken`); the command line stops training at a first Ctrl+C and skips the evaluation at a second.
type RunStop =
    { /// Stops training after the current step; a checkpoint is saved.
      Training: CancellationToken
      /// Skips the end-of-run evaluation (before it starts, or within one of its batches or iterations); the report is
      /// still written, saying that the evaluation was skipped.
      Evaluation: CancellationToken }

/// Building `RunStop`.
[<RequireQualifiedAccess>]
module RunStop =
    /// One token for both stages: cancelled, it stops training and skips the evaluation.
    let ofToken (token: CancellationToken) : RunStop = { Training = token; Evaluation = token }

    /// Nothing stops the run.
    let never : RunStop = ofToken CancellationToken.None

/// Training a run in its folder: the training loop with the run's hooks (pictures, checkpoints, metrics.csv, the
/// report and the TensorBoard log at each epoch end; early stopping's best weights on disk), from the start or from a
/// checkpoint, then the test metrics, the report extras and the final report.
[<RequireQualifiedAccess>]
module RunTraining =
    /// The training split divided by the model's plan into (training part, held-out part), each passed through the
    /// plan's `Inputs`. The held-out part is the last `Fraction` of the training split: never test images.
    let splitForTraining (plan: ImageTraining) (train: Split) : Split * Split option =
        let prepare (split: Split) = match plan.Inputs with Some f -> f split | None -> split
        match plan.Validation with
        | None -> prepare train, None
        | Some v ->
            if not (v.Fraction > 0.0 && v.Fraction < 1.0) then Errors.invalidArg "validation" "a validation fraction in (0, 1)" v.Fraction
            let n = train.Count
            let held = int64 (Math.Round(v.Fraction * float n))
            if held < 1L || held >= n then
                Errors.invalidArg "validation" (sprintf "a fraction that leaves both parts non-empty for %d training images" n) v.Fraction
            let part start len : Split = { Images = train.Images.narrow(0L, start, len); Labels = train.Labels.narrow(0L, start, len) }
            prepare (part 0L (n - held)), Some (prepare (part (n - held) held))

    /// What the loop trains on: the batch source, the validation and per-epoch test measures, and what to free when
    /// training ends.
    type private Prepared =
        { Source: BatchSource
          Validate: (unit -> Map<string, float>) option
          Test: (unit -> Map<string, float>) option
          Release: unit -> unit }

    /// The per-epoch test measure of an image model that has one (`RunModel.EpochTest`), on the first
    /// `s.EpochTestImages` test images; None when it has none or the settings turn it off.
    let private epochTest (model: RunModel) (s: RunSettings) (test: Split) (log: string -> unit) : (unit -> Map<string, float>) option =
        match model.EpochTest, RunSettings.epochTestCount s test.Count with
        | Some measure, n when n > 0L ->
            let part : Split = { Images = test.Images.narrow(0L, 0L, n); Labels = test.Labels.narrow(0L, 0L, n) }
            log (sprintf "per-epoch test metrics: the first %d test images after every epoch (--epoch-test N sets how many, 0 none)" n)
            Some (fun () -> measure part)
        | _ -> None

    /// The run's data turned into batches as the model's plan says: shuffled training images (less a validation
    /// part), or the training part of a text in stateful chunks with its validation part measured every epoch.
    let private prepare (model: RunModel) (s: RunSettings) (data: RunData) (log: string -> unit) : Prepared =
        match model.Training, data with
        | ShuffledImages plan, ImageData images ->
            let trainPart, heldOut = splitForTraining plan images.Train
            heldOut |> Option.iter (fun v -> log (sprintf "validation: the last %d training images are held out (the test set is not used)" v.Count))
            { Source = BatchSource.shuffled s.Seed s.BatchSize false trainPart
              Validate =
                match plan.Validation, heldOut with
                | Some v, Some held -> Some (fun () -> v.Measure held)
                | _ -> None
              Test = epochTest model s images.Test log
              Release =
                fun () ->
                    // Prepared inputs are new tensors (cached features can be hundreds of MB); plain splits are views.
                    if plan.Inputs.IsSome then
                        (trainPart :> IDisposable).Dispose()
                        heldOut |> Option.iter (fun v -> (v :> IDisposable).Dispose()) }
        | ContiguousText plan, TextData text ->
            let parts = TextCorpus.split text.Text
            let train = plan.Encode parts.Train
            let validation = plan.Encode parts.Validation
            log (sprintf "text: %d training, %d validation and %d test characters (contiguous parts); %d training tokens in %d rows"
                    parts.Train.Length parts.Validation.Length parts.Test.Length train.shape.[0] s.BatchSize)
            { Source = BatchSource.contiguous s.BatchSize plan.SequenceLength train
              Validate = Some (fun () -> plan.Measure validation)
              Test = None
              Release = fun () -> train.Dispose(); validation.Dispose() }
        | ShuffledImages _, TextData t -> Errors.invalidArg "dataset" "images (this model trains on images: --dataset mnist or fashion-mnist)" t.Name
        | ContiguousText _, ImageData d -> Errors.invalidArg "dataset" "a text (this model trains on text: --corpus NAME or --text FILE)" d.Name

    /// Trains `model` (of `entry`, with the run's settings `s`) in the run folder, from the start or from the
    /// checkpoint `resumeFrom`, then measures it and writes the report. `stop.Training` stops training (a checkpoint is
    /// saved); `stop.Evaluation` skips the evaluation (the report says so).
    let run (entry: CatalogEntry) (s: RunSettings) (folder: string) (resumeFrom: string option) (model: RunModel)
            (data: RunData) (events: RunEvents) (stop: RunStop) : RunResult =
        let prepared = prepare model s data events.Log
        // A step budget decides the epochs; run.json records them, so the folder says how long the run is.
        let s =
            let budgeted = RunSettings.withStepsPerEpoch prepared.Source.StepsPerEpoch s
            if budgeted.Epochs <> s.Epochs then
                RunFolder.writeSettings folder entry budgeted (RunSettings.effectiveModelSettings entry budgeted)
            budgeted
        let device = Device.resolve s.Device
        let checkpoints = RunFolder.checkpointsFolder folder
        // A crash in the middle of a save leaves a temporary folder, never loaded: a new start clears it.
        Checkpoint.removeLeftovers checkpoints
        let start =
            match resumeFrom with
            | None -> Loop.start, History.empty
            | Some ck ->
                let info, history = Checkpoint.restore ck false model.Trainer
                events.Log (sprintf "resumed from %s (epoch %d, step %d)" ck info.Position.Epoch info.Position.Step)
                info.Position, history
        // The settings are read once per run, not at every checkpoint.
        let modelSettings = RunSettings.effectiveModelSettings entry s
        BFloat16Support.warning (entry.Configure modelSettings).Precision (BFloat16Support.ofDevice device) |> Option.iter events.Log
        use tensorBoard = RunTensorBoard.start s folder events.Log
        // What the report (and TensorBoard) follows across epochs: pictures of a fixed batch of test images, passages
        // of text; `step` is the global step they are drawn at.
        let drawEpoch =
            match data with
            | ImageData images ->
                let n = min (int64 s.PictureCount) images.Test.Count
                let fixedBatch =
                    { Inputs = images.Test.Images.narrow(0L, 0L, n).``to``(device); Targets = images.Test.Labels.narrow(0L, 0L, n).``to``(device) }
                fun epoch step -> RunPictures.savePictures folder images.Normalization model fixedBatch epoch |> RunTensorBoard.pictures tensorBoard step
            | TextData _ -> fun epoch step -> if epoch > 0 then RunPictures.savePassages folder model epoch |> RunTensorBoard.passages tensorBoard step
        if resumeFrom.IsNone then
            RunTensorBoard.settings tensorBoard s modelSettings
            drawEpoch 0 0L
        let info pos = { ModelId = s.ModelId; Settings = modelSettings; Position = pos; CreatedUtc = DateTime.UtcNow }
        let stopping = RunModel.earlyStopping model.Training
        match resumeFrom, stopping with
        | Some _, Some es when es.RestoreBest ->
            match Loop.bestEpoch es (snd start).Epochs with
            | Some (value, epoch) when File.Exists(RunFolder.bestWeightsPath folder) ->
                events.Log (sprintf "best epoch so far: %d (%s %.5g), weights in %s" epoch es.Monitor value (RunFolder.bestWeightsPath folder))
            | Some (_, epoch) ->
                events.Log (sprintf "warning: the weights of the best epoch so far (%d) were not saved (%s is missing); unless a later epoch beats it, the run will end with its last weights"
                                epoch (RunFolder.bestWeightsPath folder))
            | None -> ()
        | _ -> ()
        let saveCheckpoint history pos =
            let path = Checkpoint.save checkpoints s.KeepCheckpoints model.Trainer history (info pos)
            History.save (RunFolder.metricsPath folder) history
            // The TensorBoard log is written with each checkpoint: it never runs ahead of what a resume starts from.
            RunTensorBoard.flush tensorBoard
            path
        let hooks =
            { OnStep = fun progress -> RunTensorBoard.step tensorBoard progress; events.OnStep progress
              OnCheckpoint = fun history pos -> saveCheckpoint history pos |> ignore
              OnEpochEnd =
                fun record history pos ->
                    drawEpoch record.Epoch record.Step
                    RunTensorBoard.epoch tensorBoard record
                    saveCheckpoint history pos |> ignore
                    RunReportFile.write folder s entry data device history [] [] model [] DuringTraining |> ignore
                    let terms = record.Terms |> Map.toList |> List.map (fun (k, v) -> sprintf "%s %.5g" k v) |> String.concat "  "
                    events.Log (sprintf "epoch %d/%d  %s  (%.1f s)" record.Epoch s.Epochs terms record.Seconds)
              // The loop keeps the best epoch's weights in memory only; on disk they survive an interruption, so a
              // resumed run can still end with them.
              OnNewBest =
                fun record ->
                    stopping |> Option.iter (fun es -> Checkpoint.saveBest checkpoints model.Trainer record.Epoch es.Monitor record.Terms.[es.Monitor])
              // A missing or damaged best file must not cost a finished run its checkpoint, metrics and report: the
              // run keeps its last weights (which the last checkpoint holds anyway) and says so, in the log and the
              // report, rather than failing after the training is done.
              RestoreEarlierBest =
                fun epoch ->
                    try
                        Checkpoint.restoreBest checkpoints epoch model.Trainer
                        true
                    with :? IOException | :? InvalidDataException | :? UnauthorizedAccessException as e ->
                        events.Log (sprintf "warning: could not put back the weights of the best epoch (%d): %s. The run keeps the weights of its last epoch." epoch e.Message)
                        false }
        let loopOptions =
            { Loop.defaults with
                Epochs = s.Epochs; MaxSteps = s.MaxSteps; BatchSize = s.BatchSize; Seed = s.Seed; Device = device
                CheckpointEverySteps = s.CheckpointEverySteps
                CheckpointInterval = if s.CheckpointEveryMinutes > 0.0 then Some (TimeSpan.FromMinutes s.CheckpointEveryMinutes) else None
                Validate = prepared.Validate
                Test = prepared.Test
                EarlyStopping = stopping }
        let result =
            try
                try Loop.fitBatches loopOptions hooks stop.Training model.Trainer prepared.Source start
                with :? NonFiniteLossException as e ->
                    // metrics.json says so too; the history up to the newest checkpoint is in metrics.csv.
                    let saved =
                        try History.ofCsv (RunFolder.metricsPath folder) (File.ReadAllText(RunFolder.metricsPath folder))
                        with :? IOException | :? InvalidDataException -> History.empty
                    RunMetricsFile.write folder
                        { RunMetricsFile.ofRun s data saved RunStatus.Diverged (e.Step - 1L) None [] false None with
                            EpochsTrained = e.Epoch - 1 }
                    raise (NonFiniteLossException(e, folder, Checkpoint.latest checkpoints))
            finally prepared.Release ()
        match result.Outcome with
        | Cancelled ->
            events.Log "stopping: saving a checkpoint..."
            let path = saveCheckpoint result.History result.Position
            events.Log (sprintf "interrupted at epoch %d, step %d; checkpoint %s. Resume with: generative train --resume %s" result.Position.Epoch result.Position.Step path folder)
        | StepBudgetReached ->
            // Mid-epoch, no epoch-end checkpoint holds this position: save one, so a larger budget continues exactly.
            if result.Position.StepInEpoch > 0 then saveCheckpoint result.History result.Position |> ignore
            events.Log (sprintf "step budget reached: %d steps (epoch %d, step %d of %d). Continue with: generative train --resume %s --steps N"
                            result.Position.Step result.Position.Epoch result.Position.StepInEpoch prepared.Source.StepsPerEpoch folder)
        | StoppedEarly -> events.Log (sprintf "stopped early after epoch %d: no better validation value for the patience set" (result.Position.Epoch - 1))
        | Completed -> ()
        match result.RestoredEpoch with
        | Some epoch ->
            // The last checkpoint holds the last epoch's weights; overwrite it so loading the run gives the best ones.
            saveCheckpoint result.History result.Position |> ignore
            events.Log (sprintf "kept the weights of epoch %d (best validation value)" epoch)
        | None -> ()
        let weightsNote =
            let lastEpoch = History.lastEpoch result.History
            match stopping, result.RestoredEpoch with
            | Some es, Some epoch -> [ RunReportFile.restoredNote es result.History epoch ]
            | Some es, None when es.RestoreBest && result.Outcome <> Cancelled ->
                match Loop.bestEpoch es result.History.Epochs with
                | Some (_, best) when best <> lastEpoch ->
                    [ sprintf "The model holds the weights of its last epoch (%d): those of the best epoch (%d) could not be put back (see the run's log)." lastEpoch best ]
                | _ -> []
            | _ -> []
        let evaluationClock = Diagnostics.Stopwatch.StartNew()
        let evaluation = RunEvaluation.measure { Token = stop.Evaluation; Report = events.OnWork } folder model data
        let evaluated = match evaluation with Measured _ -> true | Skipped -> false
        RunMetricsFile.write folder
            (RunMetricsFile.ofRun s data result.History (RunStatus.ofOutcome result.Outcome) result.Position.Step
                result.RestoredEpoch (RunEvaluation.metrics evaluation) evaluated
                (if evaluated then Some evaluationClock.Elapsed.TotalSeconds else None))
        match evaluation with
        | Skipped -> events.Log (sprintf "evaluation skipped; measure it later with: generative eval %s" folder)
        | Measured _ -> ()
        RunTensorBoard.evaluation tensorBoard result.Position.Step folder evaluation
        RunTensorBoard.flush tensorBoard
        events.Log "writing the report..."
        let report =
            RunReportFile.write folder s entry data device result.History (RunEvaluation.metrics evaluation)
                (RunEvaluation.artifacts evaluation) model (weightsNote @ RunEvaluation.notes folder evaluation)
                (AfterTraining (result.Outcome, result.PartialEpochSeconds, (match evaluation with Skipped -> true | Measured _ -> false)))
        { Folder = folder; Report = report; History = result.History; Outcome = result.Outcome
          Metrics = RunEvaluation.metrics evaluation; KeptEpoch = result.RestoredEpoch; Evaluation = evaluation }

