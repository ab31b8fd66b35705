namespace Generative

open System
open System.Globalization
open System.IO
open System.Text.Json
open System.Text.Json.Nodes
open System.Threading
open TorchSharp

/// Everything that defines a run besides the model's own settings.
type RunSettings =
    { /// Catalog id, e.g. "ae-linear".
      ModelId: string
      /// Model settings overriding the catalog defaults (key, value).
      ModelSettings: (string * string) list
      /// "mnist" or "fashion-mnist".
      Dataset: string
      /// Where the data set's files are; None looks in the cache (see Fetch).
      DataFolder: string option
      /// "zero-one", "minus-one-one" or "mean-std"; None takes the model's default.
      Normalization: string option
      Epochs: int
      BatchSize: int
      Seed: int64
      Device: DeviceChoice
      /// Parent of new run folders ("runs").
      RunsRoot: string
      /// An explicit run folder; None makes `<RunsRoot>/<model>-<yyyyMMdd-HHmmss>`.
      RunFolder: string option
      /// Also checkpoint every this many steps (0: only at epoch ends and on interruption).
      CheckpointEverySteps: int
      /// Checkpoints kept (the newest).
      KeepCheckpoints: int
      /// Test images drawn in the picture grids.
      PictureCount: int }

/// How a run call ended.
type RunResult =
    { Folder: string
      Report: string
      History: History
      Outcome: FitOutcome
      Metrics: (string * float * string) list
      /// The epoch whose weights the model ends with when early stopping put back an earlier, better epoch than
      /// the last one trained (also one trained before a resume); None: the last epoch's weights.
      KeptEpoch: int option }

/// Callbacks a run reports through.
type RunEvents = { OnStep: TrainingProgress -> unit; Log: string -> unit }

/// Runs: a folder per training run with run.json, checkpoints/ (with best.safetensors when early stopping keeps
/// the best epoch), samples/, metrics.csv and report.html;
/// training, resuming, reporting and loading a trained model back.
[<RequireQualifiedAccess>]
module Experiment =
    /// Defaults for a model: the source's usual batch 64, 1 epoch, seed 42, automatic device, folder `runs/`.
    let defaults (modelId: string) =
        { ModelId = modelId; ModelSettings = []; Dataset = "mnist"; DataFolder = None; Normalization = None
          Epochs = 1; BatchSize = 64; Seed = 42L; Device = Auto; RunsRoot = "runs"; RunFolder = None
          CheckpointEverySteps = 0; KeepCheckpoints = 2; PictureCount = 32 }

    /// Events that ignore steps and print log lines to the console.
    let consoleEvents = { OnStep = ignore; Log = fun (s: string) -> Console.WriteLine s }

    let private runFile = "run.json"

    /// Parses "zero-one" | "minus-one-one" | "mean-std".
    let parseNormalization (text: string) : Normalization =
        match text.Trim().ToLowerInvariant() with
        | "zero-one" | "0-1" -> ZeroOne
        | "minus-one-one" | "-1-1" -> MinusOneToOne
        | "mean-std" -> Transforms.mnistMeanStd
        | other -> Errors.invalidArg "normalization" "zero-one, minus-one-one or mean-std" other

    /// Throws ArgumentException naming the bad setting.
    let validate (s: RunSettings) =
        Catalog.find s.ModelId |> ignore
        if s.Epochs < 1 then Errors.invalidArg "epochs" "at least 1" s.Epochs
        if s.BatchSize < 1 then Errors.invalidArg "batchSize" "at least 1" s.BatchSize
        if s.CheckpointEverySteps < 0 then Errors.invalidArg "checkpointEverySteps" "0 (off) or a positive step count" s.CheckpointEverySteps
        if s.KeepCheckpoints < 1 then Errors.invalidArg "keepCheckpoints" "at least 1" s.KeepCheckpoints
        if s.PictureCount < 1 then Errors.invalidArg "pictureCount" "at least 1" s.PictureCount
        s.Normalization |> Option.iter (parseNormalization >> ignore)

    let private normalizationOf (s: RunSettings) =
        s.Normalization |> Option.defaultValue (Catalog.find s.ModelId).Normalization

    /// Loads the run's data set; when it is missing, the error says what to run.
    let loadData (s: RunSettings) : ImageDataset =
        let name = s.Dataset.ToLowerInvariant()
        if not (List.contains name [ "mnist"; "fashion-mnist" ]) then
            Errors.invalidArg "dataset" "mnist or fashion-mnist (other data sets are trained through the API)" s.Dataset
        // A folder the user names is used or rejected with its reason, never silently replaced by the cache.
        let folder =
            match s.DataFolder with
            | Some folder ->
                match Fetch.checkUserFolder name folder with
                | Ok f -> f
                | Error reason -> raise (FileNotFoundException reason)
            | None ->
                match Fetch.locate name None with
                | Some f -> f
                | None -> raise (FileNotFoundException(Fetch.missingMessage name))
        let norm = parseNormalization (normalizationOf s)
        if name = "mnist" then Datasets.mnist folder norm else Datasets.fashionMnist folder norm

    // ---- run.json --------------------------------------------------------------------------------------

    let private toJson (s: RunSettings) (modelSettings: (string * string) list) =
        let o = JsonObject()
        o["model"] <- JsonValue.Create s.ModelId
        let m = JsonObject()
        for (k, v) in modelSettings do m[k] <- JsonValue.Create v
        o["modelSettings"] <- m
        o["dataset"] <- JsonValue.Create s.Dataset
        o["normalization"] <- JsonValue.Create(normalizationOf s)
        o["epochs"] <- JsonValue.Create s.Epochs
        o["batchSize"] <- JsonValue.Create s.BatchSize
        o["seed"] <- JsonValue.Create s.Seed
        o["checkpointEverySteps"] <- JsonValue.Create s.CheckpointEverySteps
        o["keepCheckpoints"] <- JsonValue.Create s.KeepCheckpoints
        o["pictureCount"] <- JsonValue.Create s.PictureCount
        o.ToJsonString(JsonSerializerOptions(WriteIndented = true))

    /// Reads a run folder's settings (the device is not stored: it is chosen again).
    let readSettings (folder: string) : RunSettings =
        let path = Path.Combine(folder, runFile)
        if not (File.Exists path) then
            raise (FileNotFoundException(sprintf "%s is not a run folder: it has no %s (runs are made by `generative train`)" folder runFile, path))
        try
            let o = JsonNode.Parse(File.ReadAllText path).AsObject()
            { defaults (o["model"].GetValue<string>()) with
                ModelSettings = [ for KeyValue (k, v) in o["modelSettings"].AsObject() -> k, v.GetValue<string>() ]
                Dataset = o["dataset"].GetValue<string>()
                Normalization = Some(o["normalization"].GetValue<string>())
                Epochs = o["epochs"].GetValue<int>()
                BatchSize = o["batchSize"].GetValue<int>()
                Seed = o["seed"].GetValue<int64>()
                CheckpointEverySteps = o["checkpointEverySteps"].GetValue<int>()
                KeepCheckpoints = o["keepCheckpoints"].GetValue<int>()
                PictureCount = o["pictureCount"].GetValue<int>()
                RunFolder = Some folder }
        with
        | :? JsonException | :? NullReferenceException | :? InvalidOperationException as e ->
            raise (InvalidDataException(sprintf "%s: damaged run settings: %s" path e.Message, e))

    let private writeAtomic (path: string) (text: string) =
        let tmp = path + ".tmp"
        File.WriteAllText(tmp, text)
        File.Move(tmp, path, true)

    // ---- folders and pictures --------------------------------------------------------------------------

    let private newFolder (s: RunSettings) =
        match s.RunFolder with
        | Some f -> f
        | None ->
            let stem = Path.Combine(s.RunsRoot, sprintf "%s-%s" s.ModelId (DateTime.Now.ToString("yyyyMMdd-HHmmss")))
            Seq.initInfinite (fun i -> if i = 0 then stem else sprintf "%s-%d" stem (i + 1))
            |> Seq.find (fun f -> not (Directory.Exists f))

    let private slug (title: string) =
        let chars = title.ToLowerInvariant() |> Seq.map (fun c -> if Char.IsLetterOrDigit c then c else '-') |> Seq.toArray
        String(chars).Split('-', StringSplitOptions.RemoveEmptyEntries) |> Seq.truncate 4 |> String.concat "-"

    let private picturesFolder folder = Path.Combine(folder, "samples")

    /// A run's checkpoints folder (step-* checkpoints, `latest`, early stopping's best.safetensors).
    let private checkpointsFolder folder = Path.Combine(folder, "checkpoints")

    /// Saves the model's picture series of the fixed batch as `samples/<series>-epoch-<nnn>.png`.
    let private savePictures folder (norm: Normalization) (model: RunModel) (fixedBatch: Batch) (epoch: int) =
        Directory.CreateDirectory(picturesFolder folder) |> ignore
        Trainer.eval model.Trainer
        use _ = torch.NewDisposeScope()
        for (title, images) in model.Pictures fixedBatch do
            let name = sprintf "%s-epoch-%03d.png" (slug title) epoch
            Images.saveGrid (Path.Combine(picturesFolder folder, name)) 8 (Transforms.denormalize norm (images.cpu()))
            File.WriteAllText(Path.Combine(picturesFolder folder, slug title + ".title"), title)

    /// Draws a model's report extras: each picture as `samples/final-<slug>.png` (with its title and caption
    /// beside it), returning the charts.
    let private drawExtras folder (norm: Normalization) (model: RunModel) (data: ImageDataset) =
        Trainer.eval model.Trainer
        use _ = torch.NewDisposeScope()
        let extras = model.Extras data.Test data.Classes
        let dir = picturesFolder folder
        Directory.CreateDirectory dir |> ignore
        for (title, caption, images) in extras.Pictures do
            let stem = "final-" + slug title
            Images.saveGrid (Path.Combine(dir, stem + ".png")) 8 (Transforms.denormalize norm (images.cpu()))
            File.WriteAllText(Path.Combine(dir, stem + ".final"), title + "\n" + caption)
        extras.Charts

    /// The final pictures saved by `drawExtras`, one single-frame series each.
    let private finalSeries folder : ImageSeries list =
        let dir = picturesFolder folder
        if not (Directory.Exists dir) then []
        else
            Directory.GetFiles(dir, "final-*.final")
            |> Array.sort
            |> Array.map (fun f ->
                let lines = File.ReadAllText(f).Split('\n', 2)
                { Title = lines.[0]
                  Caption = (if lines.Length > 1 then lines.[1] else "")
                  Frames = [ "end of training", Path.ChangeExtension(f, ".png") ] })
            |> List.ofArray

    let private imageSeries folder : ImageSeries list =
        let dir = picturesFolder folder
        if not (Directory.Exists dir) then []
        else
            Directory.GetFiles(dir, "*.title")
            |> Array.sort
            |> Array.map (fun titleFile ->
                let stem = Path.GetFileNameWithoutExtension titleFile
                let frames =
                    Directory.GetFiles(dir, stem + "-epoch-*.png")
                    |> Array.sort
                    |> Array.map (fun f ->
                        let n = Path.GetFileNameWithoutExtension(f).Substring(stem.Length + "-epoch-".Length)
                        sprintf "epoch %d" (int n), f)
                    |> List.ofArray
                { Title = File.ReadAllText titleFile; Caption = "A fixed batch, drawn at the end of each epoch."; Frames = frames })
            |> List.ofArray
            |> fun series -> series @ finalSeries folder

    // ---- report ----------------------------------------------------------------------------------------

    /// The report's sentence saying that the model holds the weights of `epoch`, early stopping's best.
    let private restoredNote (stopping: EarlyStopping) (history: History) (epoch: int) =
        let value = history.Epochs |> List.tryFind (fun e -> e.Epoch = epoch) |> Option.bind (fun e -> e.Terms.TryFind stopping.Monitor)
        sprintf "Early stopping put back the weights of epoch %d, the best by %s%s; the test metrics measure them." epoch stopping.Monitor
            (value |> Option.map (sprintf " (%.5g)") |> Option.defaultValue "")

    let private writeReport folder (s: RunSettings) (entry: CatalogEntry) (data: ImageDataset) (device: torch.Device)
                            (history: History) (metrics: (string * float * string) list) (charts: (string * Plotly.NET.GenericChart) list)
                            (parameters: int64) (weightsNote: string option) =
        let report = Path.Combine(folder, "report.html")
        let epochs = history.Epochs.Length
        let seconds = history.Epochs |> List.sumBy (fun e -> e.Seconds)
        let summary =
            sprintf "%s, trained %d of %d epochs (%d steps, %.1f s) on %s (%d training images), batch %d, seed %d; %d parameters."
                entry.Title epochs s.Epochs (match history.Steps with [] -> 0L | st -> (List.last st).Step) seconds
                data.Name data.Train.Count s.BatchSize s.Seed parameters
            + (weightsNote |> Option.map (fun note -> " " + note) |> Option.defaultValue "")
        RunReport.write report
            { Title = entry.Title
              ModelId = entry.Id
              Summary = summary
              History = history
              ImageSeries = imageSeries folder
              Charts = Charts.trainingValidationCurves history @ charts
              Metrics = metrics |> List.map (fun (n, v, how) -> n, v.ToString("G6", CultureInfo.InvariantCulture), how)
              Config =
                [ "model", s.ModelId; "dataset", data.Name; "normalization", normalizationOf s
                  "epochs", string s.Epochs; "batch size", string s.BatchSize; "seed", string s.Seed ]
                @ (Catalog.find s.ModelId).Defaults
                  |> List.map (fun (k, v) -> k, s.ModelSettings |> List.tryFind (fun (k2, _) -> k2 = k) |> Option.map snd |> Option.defaultValue v)
              Environment =
                RunEnvironment.describe device
                @ (data.Files |> List.map (fun (file, sha) -> "sha256 " + Path.GetFileName file, sha)) }
        report

    // ---- training and resuming -------------------------------------------------------------------------

    let private effectiveModelSettings (s: RunSettings) =
        let entry = Catalog.find s.ModelId
        let known = entry.Defaults |> List.map fst |> Set.ofList
        for (k, _) in s.ModelSettings do
            if not (known.Contains k) then
                Errors.invalidArg "set" (sprintf "a setting of %s (%s)" s.ModelId (known |> String.concat ", ")) k
        entry.Defaults |> List.map (fun (k, v) -> k, s.ModelSettings |> List.tryFind (fun (k2, _) -> k2 = k) |> Option.map snd |> Option.defaultValue v)

    /// Builds the run's model on its device after seeding (so initial weights depend only on the seed).
    let private build (s: RunSettings) (device: torch.Device) =
        Device.seed s.Seed
        (Catalog.find s.ModelId).Build device (effectiveModelSettings s)

    /// The training split divided by the model's plan into (training part, held-out part), each passed through the
    /// plan's `Inputs`. The held-out part is the last `Fraction` of the training split: never test images.
    let splitForTraining (plan: TrainingPlan) (train: Split) : Split * Split option =
        let prepare (split: Split) = match plan.Inputs with Some f -> f split | None -> split
        match plan.Validation with
        | None -> prepare train, None
        | Some v ->
            if not (v.Fraction > 0.0 && v.Fraction < 1.0) then Errors.invalidArg "Fraction" "a validation fraction in (0, 1)" v.Fraction
            let n = train.Count
            let held = int64 (Math.Round(v.Fraction * float n))
            if held < 1L || held >= n then
                Errors.invalidArg "Fraction" (sprintf "a fraction that leaves both parts non-empty for %d training images" n) v.Fraction
            let part start len : Split = { Images = train.Images.narrow(0L, start, len); Labels = train.Labels.narrow(0L, start, len) }
            prepare (part 0L (n - held)), Some (prepare (part (n - held) held))

    let private run (s: RunSettings) (folder: string) (resumeFrom: string option) (model: RunModel) (data: ImageDataset)
                    (events: RunEvents) (token: CancellationToken) =
        let entry = Catalog.find s.ModelId
        let device = Device.resolve s.Device
        let norm = data.Normalization
        let checkpoints = checkpointsFolder folder
        let start =
            match resumeFrom with
            | None -> Loop.start, History.empty
            | Some ck ->
                let info, history = Checkpoint.restore ck false model.Trainer
                events.Log (sprintf "resumed from %s (epoch %d, step %d)" ck info.Position.Epoch info.Position.Step)
                info.Position, history
        let fixedBatch =
            let n = min (int64 s.PictureCount) data.Test.Count
            { Images = data.Test.Images.narrow(0L, 0L, n).``to``(device); Labels = data.Test.Labels.narrow(0L, 0L, n).``to``(device) }
        if resumeFrom.IsNone then savePictures folder norm model fixedBatch 0
        let info pos = { ModelId = s.ModelId; Settings = effectiveModelSettings s; Position = pos; CreatedUtc = DateTime.UtcNow }
        let parameters = Trainer.parameterCount model.Trainer
        let stopping = model.Training.Validation |> Option.bind (fun plan -> plan.EarlyStopping)
        match resumeFrom, stopping with
        | Some _, Some es when es.RestoreBest ->
            match Loop.bestEpoch es (snd start).Epochs with
            | Some (value, epoch) when File.Exists(Checkpoint.bestPath checkpoints) ->
                events.Log (sprintf "best epoch so far: %d (%s %.5g), weights in %s" epoch es.Monitor value (Checkpoint.bestPath checkpoints))
            | Some (_, epoch) ->
                events.Log (sprintf "warning: the weights of the best epoch so far (%d) were not saved (%s is missing); unless a later epoch beats it, the run will end with its last weights"
                                epoch (Checkpoint.bestPath checkpoints))
            | None -> ()
        | _ -> ()
        let saveCheckpoint history pos =
            let path = Checkpoint.save checkpoints s.KeepCheckpoints model.Trainer history (info pos)
            History.save (Path.Combine(folder, "metrics.csv")) history
            path
        let hooks =
            { OnStep = events.OnStep
              OnCheckpoint = fun history pos -> saveCheckpoint history pos |> ignore
              OnEpochEnd =
                fun record history pos ->
                    savePictures folder norm model fixedBatch record.Epoch
                    saveCheckpoint history pos |> ignore
                    writeReport folder s entry data device history [] [] parameters None |> ignore
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
        let trainPart, heldOut = splitForTraining model.Training data.Train
        heldOut |> Option.iter (fun v -> events.Log (sprintf "validation: the last %d training images are held out (the test set is not used)" v.Count))
        let loopOptions =
            { Loop.defaults with
                Epochs = s.Epochs; BatchSize = s.BatchSize; Seed = s.Seed; Device = device
                CheckpointEverySteps = s.CheckpointEverySteps
                Validate =
                    match model.Training.Validation, heldOut with
                    | Some plan, Some v -> Some (fun () -> plan.Measure v)
                    | _ -> None
                EarlyStopping = stopping }
        let result =
            try Loop.fit loopOptions hooks token model.Trainer trainPart start
            finally
                // Prepared inputs are new tensors (cached features can be hundreds of MB); plain splits are views.
                if model.Training.Inputs.IsSome then
                    (trainPart :> IDisposable).Dispose()
                    heldOut |> Option.iter (fun v -> (v :> IDisposable).Dispose())
        match result.Outcome with
        | Cancelled ->
            let path = saveCheckpoint result.History result.Position
            events.Log (sprintf "interrupted at epoch %d, step %d; checkpoint %s. Resume with: generative train --resume %s" result.Position.Epoch result.Position.Step path folder)
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
            | Some es, Some epoch -> Some (restoredNote es result.History epoch)
            | Some es, None when es.RestoreBest && result.Outcome <> Cancelled ->
                match Loop.bestEpoch es result.History.Epochs with
                | Some (_, best) when best <> lastEpoch ->
                    Some (sprintf "The model holds the weights of its last epoch (%d): those of the best epoch (%d) could not be put back (see the run's log)." lastEpoch best)
                | _ -> None
            | _ -> None
        Trainer.eval model.Trainer
        let metrics = model.Evaluate data.Test data.Classes
        let charts = drawExtras folder norm model data
        let report = writeReport folder s entry data device result.History metrics charts parameters weightsNote
        { Folder = folder; Report = report; History = result.History; Outcome = result.Outcome; Metrics = metrics
          KeptEpoch = result.RestoredEpoch }

    /// Builds the model a run's settings describe, seeded, on the run's device.
    let buildModel (s: RunSettings) : RunModel = build s (Device.resolve s.Device)

    /// Trains an already built model (from `buildModel`) on `data` into a new run folder. The folder is created
    /// first; the result names it and its report. Stopping through `token` saves a checkpoint to resume from.
    let fitModel (s: RunSettings) (model: RunModel) (data: ImageDataset) (events: RunEvents) (token: CancellationToken) : RunResult =
        validate s
        let folder = newFolder s
        Directory.CreateDirectory folder |> ignore
        writeAtomic (Path.Combine(folder, runFile)) (toJson s (effectiveModelSettings s))
        events.Log (sprintf "run folder: %s" folder)
        run { s with RunFolder = Some folder } folder None model data events token

    /// Trains a new run: loads the data (failing before making a folder when it is missing), builds the model
    /// and calls `fitModel`.
    let train (s: RunSettings) (events: RunEvents) (token: CancellationToken) : RunResult =
        validate s
        let data = loadData s
        fitModel s (buildModel s) data events token

    /// The settings of a run to resume (with `epochs` as its new count) and its newest checkpoint.
    let private resumeSettings (folder: string) (epochs: int option) (device: DeviceChoice) =
        let saved = readSettings folder
        let s = { saved with Epochs = defaultArg epochs saved.Epochs; Device = device }
        validate s
        let ck =
            match Checkpoint.latest (checkpointsFolder folder) with
            | Some c -> c
            | None -> raise (FileNotFoundException(sprintf "%s has no complete checkpoint to resume from; start a new run instead." folder))
        if s.Epochs <> saved.Epochs then
            writeAtomic (Path.Combine(folder, runFile)) (toJson s (effectiveModelSettings s))
        s, ck

    /// Continues a run from its newest checkpoint with an already built model of the run's settings (as
    /// `fitModel` trains one) and its data; `epochs` raises (or keeps) the run's epoch count.
    let resumeModel (folder: string) (epochs: int option) (device: DeviceChoice) (model: RunModel) (data: ImageDataset)
                    (events: RunEvents) (token: CancellationToken) : RunResult =
        let s, ck = resumeSettings folder epochs device
        run s folder (Some ck) model data events token

    /// Continues a run from its newest checkpoint; `epochs` raises (or keeps) the run's epoch count.
    let resume (folder: string) (epochs: int option) (device: DeviceChoice) (events: RunEvents) (token: CancellationToken) : RunResult =
        let s, ck = resumeSettings folder epochs device
        run s folder (Some ck) (buildModel s) (loadData s) events token

    /// A trained model loaded back from a run folder's newest checkpoint (weights only), in evaluation mode,
    /// with the run's settings and data normalisation.
    let load (folder: string) (device: DeviceChoice) : RunSettings * RunModel =
        let s = { readSettings folder with Device = device }
        let dev = Device.resolve s.Device
        let model = build s dev
        match Checkpoint.latest (checkpointsFolder folder) with
        | Some ck -> Checkpoint.restore ck true model.Trainer |> ignore
        | None -> raise (FileNotFoundException(sprintf "%s has no checkpoint yet: train at least one epoch first." folder))
        Trainer.eval model.Trainer
        s, model

    /// Re-measures a run's test metrics from its newest checkpoint (any catalog model, through its
    /// `RunModel.Evaluate`) and rebuilds its report.html with them: (metrics, report path).
    let evaluate (folder: string) (device: DeviceChoice) : (string * float * string) list * string =
        let s, model = load folder device
        use data = loadData s
        let metricsPath = Path.Combine(folder, "metrics.csv")
        let history = if File.Exists metricsPath then History.ofCsv (File.ReadAllText metricsPath) else History.empty
        let metrics = model.Evaluate data.Test data.Classes
        let charts = drawExtras folder data.Normalization model data
        // The weights loaded are the best epoch's (rather than the last's) exactly when they equal the best file's.
        let weightsNote =
            match model.Training.Validation |> Option.bind (fun plan -> plan.EarlyStopping), history.Epochs with
            | Some es, _ :: _ ->
                Checkpoint.heldBestEpoch (checkpointsFolder folder) model.Trainer
                |> Option.filter (fun epoch -> epoch <> History.lastEpoch history)
                |> Option.map (restoredNote es history)
            | _ -> None
        metrics, writeReport folder s (Catalog.find s.ModelId) data (Device.resolve device) history metrics charts (Trainer.parameterCount model.Trainer) weightsNote

    /// Rebuilds a run's report.html from its newest checkpoint and metrics.csv, re-measuring the test metrics.
    let report (folder: string) (device: DeviceChoice) : string = snd (evaluate folder device)

    /// Saves a trained model as one safetensors file: its weights, with the model id, its settings and the data
    /// normalisation it was trained on in the file's metadata (atomic write; see `ModelFile`).
    let saveModel (path: string) (modelId: string) (settings: (string * string) list) (normalization: string) (model: RunModel) =
        ModelFile.save path modelId settings normalization [] model.Trainer

    /// Loads what `saveModel` wrote: (model id, settings, normalisation, model in evaluation mode).
    let loadModel (path: string) (device: DeviceChoice) : string * (string * string) list * string * RunModel =
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "%s: model file not found" path, path))
        let contents = ModelFile.read path
        let get key =
            match contents.Metadata.TryFind key with
            | Some v -> v
            | None -> raise (InvalidDataException(sprintf "%s: not a Generative model file (metadata '%s' missing)" path key))
        let modelId = get ModelFile.modelKey
        let settings = ModelFile.parseSettings (get ModelFile.settingsKey)
        let model = (Catalog.find modelId).Build (Device.resolve device) settings
        ModelFile.loadWeights contents model.Trainer
        Trainer.eval model.Trainer
        modelId, settings, get ModelFile.normalizationKey, model
