namespace Generative

open System
open System.IO
open System.Text.Json
open System.Text.Json.Nodes

/// The layout of a run folder: run.json (the run's settings), checkpoints/ (with best.safetensors when early
/// stopping keeps the best epoch), samples/, metrics.csv, report.html and, when asked for, tensorboard/; how new
/// folders are named; and the run.json format, which every earlier run folder must still load with.
[<RequireQualifiedAccess>]
module RunFolder =
    /// The run's settings file name.
    let settingsFileName = "run.json"

    /// `<folder>/run.json`.
    let settingsPath (folder: string) = Path.Combine(folder, settingsFileName)

    /// A run's checkpoints folder (step-* checkpoints, `latest`, early stopping's best.safetensors).
    let checkpointsFolder (folder: string) = Path.Combine(folder, "checkpoints")

    /// Where early stopping keeps the weights of the best epoch so far (`checkpoints/best.safetensors`).
    let bestWeightsPath (folder: string) = Checkpoint.bestPath (checkpointsFolder folder)

    /// The picture grids and their title files (`samples/`).
    let picturesFolder (folder: string) = Path.Combine(folder, "samples")

    /// The training history (`metrics.csv`).
    let metricsPath (folder: string) = Path.Combine(folder, "metrics.csv")

    /// The TensorBoard event files (`tensorboard/`), written when the run's settings ask for them.
    let tensorBoardFolder (folder: string) = Path.Combine(folder, "tensorboard")

    /// The HTML report (`report.html`).
    let reportPath (folder: string) = Path.Combine(folder, "report.html")

    /// The run's folder: the one its settings name, or a new `<RunsRoot>/<model>-<yyyyMMdd-HHmmss>` (with `-2`,
    /// `-3`... appended when runs start within the same second).
    let newFolder (s: RunSettings) =
        match s.RunFolder with
        | Some f -> f
        | None ->
            let stem = Path.Combine(s.RunsRoot, sprintf "%s-%s" s.ModelId (DateTime.Now.ToString("yyyyMMdd-HHmmss")))
            Seq.initInfinite (fun i -> if i = 0 then stem else sprintf "%s-%d" stem (i + 1))
            |> Seq.find (fun f -> not (Directory.Exists f))

    let private toJson (entry: CatalogEntry) (s: RunSettings) (modelSettings: (string * string) list) =
        let o = JsonObject()
        o["model"] <- JsonValue.Create s.ModelId
        let m = JsonObject()
        for (k, v) in modelSettings do m[k] <- JsonValue.Create v
        o["modelSettings"] <- m
        o["dataset"] <- JsonValue.Create s.Dataset
        s.TextFile |> Option.iter (fun file -> o["textFile"] <- JsonValue.Create file)
        // Images are normalised; a text is not.
        if ModelSpec.dataKind entry.Kind = DataKind.Images then o["normalization"] <- JsonValue.Create(RunSettings.normalizationOf entry s)
        o["epochs"] <- JsonValue.Create s.Epochs
        // Only budgeted runs carry it, so run folders without it (all earlier ones) mean "no step budget".
        s.MaxSteps |> Option.iter (fun m -> o["maxSteps"] <- JsonValue.Create m)
        o["batchSize"] <- JsonValue.Create s.BatchSize
        o["seed"] <- JsonValue.Create s.Seed
        o["checkpointEverySteps"] <- JsonValue.Create s.CheckpointEverySteps
        // Written only when it is not the default, so run.json reads as earlier versions wrote it.
        if s.CheckpointEveryMinutes <> RunSettings.defaultCheckpointMinutes then
            o["checkpointEveryMinutes"] <- JsonValue.Create s.CheckpointEveryMinutes
        o["keepCheckpoints"] <- JsonValue.Create s.KeepCheckpoints
        o["pictureCount"] <- JsonValue.Create s.PictureCount
        // Only runs with per-epoch test metrics carry it (absent reads as none), so run.json of every other run reads
        // as earlier versions wrote it; a text run has none.
        if s.EpochTestImages > 0 && ModelSpec.dataKind entry.Kind = DataKind.Images then o["epochTestImages"] <- JsonValue.Create s.EpochTestImages
        // Only runs that log for TensorBoard carry it, so run.json of every other run reads as earlier versions wrote it.
        if s.TensorBoard then o["tensorboard"] <- JsonValue.Create true
        o.ToJsonString(JsonSerializerOptions(WriteIndented = true))

    /// Writes the run's settings, with the full model settings, to `<folder>/run.json` (atomically). The
    /// normalisation of an image model is stored resolved (the entry's default when the run names none), so the run
    /// reloads the same even if the default changes; a language model's run has none; the device is not stored.
    let writeSettings (folder: string) (entry: CatalogEntry) (s: RunSettings) (modelSettings: (string * string) list) =
        AtomicFile.writeText (settingsPath folder) (toJson entry s modelSettings)

    /// Reads a run folder's settings (the device is not stored: it is chosen again).
    let readSettings (folder: string) : RunSettings =
        let path = settingsPath folder
        if not (File.Exists path) then
            raise (FileNotFoundException(sprintf "%s is not a run folder: it has no %s (runs are made by `generative train`)" folder settingsFileName, path))
        try
            let o = JsonNode.Parse(File.ReadAllText path).AsObject()
            { RunSettings.defaults (o["model"].GetValue<string>()) with
                ModelSettings = Catalog.withoutLegacyAuto [ for KeyValue (k, v) in o["modelSettings"].AsObject() -> k, v.GetValue<string>() ]
                Dataset = o["dataset"].GetValue<string>()
                TextFile = (match o["textFile"] with null -> None | v -> Some (v.GetValue<string>()))
                // Optional: a language model's run stores none ("none" in runs written while text runs were new).
                Normalization =
                    match o["normalization"] with
                    | null -> None
                    | v -> match v.GetValue<string>() with "none" -> None | n -> Some n
                Epochs = o["epochs"].GetValue<int>()
                MaxSteps = (match o["maxSteps"] with null -> None | v -> Some (v.GetValue<int64>()))
                BatchSize = o["batchSize"].GetValue<int>()
                Seed = o["seed"].GetValue<int64>()
                CheckpointEverySteps = o["checkpointEverySteps"].GetValue<int>()
                // Absent: the default (and in runs written before timed checkpoints existed).
                CheckpointEveryMinutes =
                    match o["checkpointEveryMinutes"] with
                    | null -> RunSettings.defaultCheckpointMinutes
                    | v -> v.GetValue<float>()
                KeepCheckpoints = o["keepCheckpoints"].GetValue<int>()
                PictureCount = o["pictureCount"].GetValue<int>()
                // Absent: none, as the run was trained (written before per-epoch test metrics existed, or a text run).
                EpochTestImages = (match o["epochTestImages"] with null -> 0 | v -> v.GetValue<int>())
                // Absent: no TensorBoard log (and in runs written before it existed).
                TensorBoard = (match o["tensorboard"] with null -> false | v -> v.GetValue<bool>())
                RunFolder = Some folder }
        with
        | :? JsonException | :? NullReferenceException | :? InvalidOperationException as e ->
            raise (InvalidDataException(sprintf "%s: damaged run settings: %s" path e.Message, e))
