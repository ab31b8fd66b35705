namespace Generative

open System
open System.IO
open System.Threading

/// Runs: a folder per training run (see `RunFolder`); training, resuming, reporting and loading a trained model
/// back. Each call resolves the model's catalog entry once and hands it to the modules that do the work.
[<RequireQualifiedAccess>]
module Experiment =
    /// Defaults for a model: the source's usual batch 64, 1 epoch, seed 42, automatic device, folder `runs/`.
    let defaults (modelId: string) = RunSettings.defaults modelId

    /// Events that ignore steps and print log lines to the console.
    let consoleEvents = { OnStep = ignore; Log = (fun (s: string) -> Console.WriteLine s); OnWork = ignore }

    /// Parses "zero-one" | "minus-one-one" | "mean-std".
    let parseNormalization (text: string) : Normalization = RunSettings.parseNormalization text

    /// The model's catalog entry after checking the run's settings (an unknown model id fails first), its data with
    /// `validateData` (given the entry) among them.
    let private validatedWith (validateData: CatalogEntry -> unit) (s: RunSettings) : CatalogEntry =
        let entry = Catalog.find s.ModelId
        RunSettings.validate s
        validateData entry
        // Reading the model's settings checks them (keys, values, ranges) before anything is allocated or written.
        RunSettings.configured entry s |> ignore
        entry

    /// The model's catalog entry after checking the run's settings, the data they name included.
    let private validated (s: RunSettings) : CatalogEntry = validatedWith (fun entry -> RunSettings.validateData entry s) s

    /// Throws ArgumentException naming the bad setting.
    let validate (s: RunSettings) = validated s |> ignore

    /// Bytes per element of an image while a model makes a batch of them: the image itself and the intermediate
    /// activations of the largest catalog networks (DCGAN's generator holds about 24 times its image), in float32.
    let private bytesPerImageElement = 4.0 * 32.0

    /// Throws ArgumentException(paramName) when `count` is below 1, or when `count` images of the model `modelId`
    /// (with its `settings`) made at once would need more than this machine's memory: checked before a sample or a
    /// reconstruction allocates anything.
    let ensureImageCountFits (paramName: string) (modelId: string) (settings: (string * string) list) (count: int64) =
        if count < 1L then Errors.invalidArg paramName "at least 1 image" count
        let shape = ((Catalog.find modelId).Configure settings).InputShape |> Option.defaultValue []
        let elements = shape |> List.fold (fun acc d -> acc * float d) 1.0
        MemoryBudget.ensureFits paramName (sprintf "making %d images at once" count) (float count * elements * bytesPerImageElement)
            "Ask for fewer images."

    let private loadDataOf (entry: CatalogEntry) (s: RunSettings) : RunData =
        match ModelSpec.dataKind entry.Kind, s.TextFile with
        | DataKind.Text, Some file -> TextData (TextCorpus.readFile file)
        | DataKind.Text, None ->
            let corpus = DatasetCatalog.find s.Dataset
            TextData (DatasetCatalog.loadText corpus (Fetch.folderFor corpus.Name s.DataFolder))
        | DataKind.Images, _ ->
            let dataset = DatasetCatalog.find s.Dataset
            let folder = Fetch.folderFor dataset.Name s.DataFolder
            let norm = parseNormalization (RunSettings.normalizationOf entry s)
            ImageData (DatasetCatalog.loadImages dataset folder norm)

    /// Loads the run's data: its data set of images, its named corpus or its text file; when a data set is missing,
    /// the error says what to run.
    let loadData (s: RunSettings) : RunData = loadDataOf (Catalog.find s.ModelId) s

    /// The run's settings with what the model takes from the data filled in (a language model's vocabulary, built
    /// from the training part of the text): call before `buildModel` for a new run.
    let fitToData (s: RunSettings) (data: RunData) : RunSettings =
        { s with ModelSettings = (Catalog.find s.ModelId).FitToData data s.ModelSettings }

    /// Reads a run folder's settings (the device is not stored: it is chosen again).
    let readSettings (folder: string) : RunSettings = RunFolder.readSettings folder

    /// Builds the model a run's settings describe, seeded, on the run's device.
    let buildModel (s: RunSettings) : RunModel =
        let device = Device.resolve s.Device
        RunSettings.build (Catalog.find s.ModelId) s device

    /// The training split divided by the model's plan into (training part, held-out part), each passed through the
    /// plan's `Inputs`. The held-out part is the last `Fraction` of the training split: never test images.
    let splitForTraining (plan: ImageTraining) (train: Split) : Split * Split option = RunTraining.splitForTraining plan train

    let private fitModelOf (entry: CatalogEntry) (s: RunSettings) (model: RunModel) (data: RunData) (events: RunEvents)
                           (stop: RunStop) : RunResult =
        let folder = RunFolder.newFolder s
        Directory.CreateDirectory folder |> ignore
        RunFolder.writeSettings folder entry s (RunSettings.effectiveModelSettings entry s)
        events.Log (sprintf "run folder: %s" folder)
        RunTraining.run entry { s with RunFolder = Some folder } folder None model data events stop

    /// Trains an already built model (from `buildModel`) on `data` into a new run folder. The folder is created
    /// first; the result names it and its report. Stopping through `token` saves a checkpoint to resume from. The
    /// data is checked as given (`RunSettings.validateGivenData`): the settings' data set name is only its label, so
    /// data of the caller's own (an IDX folder, a text) trains under any name. A cancelled `token` also skips the
    /// end-of-run evaluation (the report says so).
    let fitModel (s: RunSettings) (model: RunModel) (data: RunData) (events: RunEvents) (token: CancellationToken) : RunResult =
        fitModelOf (validatedWith (fun entry -> RunSettings.validateGivenData entry s data) s) s model data events (RunStop.ofToken token)

    /// Trains a new run: loads the data (failing before making a folder when it is missing), builds the model
    /// and calls `fitModel`; `stop` stops training and skips the evaluation, separately.
    let trainUntil (s: RunSettings) (events: RunEvents) (stop: RunStop) : RunResult =
        let entry = validated s
        use data = loadDataOf entry s
        let s = fitToData s data
        RunSettings.validateAgainstData entry s data
        fitModelOf entry s (RunSettings.build entry s (Device.resolve s.Device)) data events stop

    /// `trainUntil` with one token that stops training and skips the evaluation.
    let train (s: RunSettings) (events: RunEvents) (token: CancellationToken) : RunResult = trainUntil s events (RunStop.ofToken token)

    /// The settings of a run to resume (with `budget` as its new length), its catalog entry and its newest checkpoint.
    /// `given` is the data handed to the run (`resumeModel`), checked as given; None checks the data the settings name.
    let private resumeSettings (folder: string) (budget: TrainingBudget option) (device: DeviceChoice) (given: RunData option) =
        let saved = RunFolder.readSettings folder
        let s = { (match budget with Some b -> RunSettings.withBudget b saved | None -> saved) with Device = device }
        let entry =
            match given with
            | Some data -> validatedWith (fun entry -> RunSettings.validateGivenData entry s data) s
            | None -> validated s
        let ck =
            match Checkpoint.latest (RunFolder.checkpointsFolder folder) with
            | Some c -> c
            | None -> raise (FileNotFoundException(sprintf "%s has no complete checkpoint to resume from; start a new run instead." folder))
        if s.Epochs <> saved.Epochs || s.MaxSteps <> saved.MaxSteps then
            RunFolder.writeSettings folder entry s (RunSettings.effectiveModelSettings entry s)
        s, entry, ck

    /// Turns on a run's TensorBoard log (`RunSettings.TensorBoard`, stored in its run.json) before it is resumed: the
    /// resumed part is logged from the checkpoint's step on (`generative train --resume RUN --tensorboard`). A run
    /// that already logs is left as it is.
    let enableTensorBoard (folder: string) =
        let s = RunFolder.readSettings folder
        if not s.TensorBoard then
            let entry = Catalog.find s.ModelId
            let logged = { s with TensorBoard = true }
            RunFolder.writeSettings folder entry logged (RunSettings.effectiveModelSettings entry logged)

    /// Continues a run from its newest checkpoint with an already built model of the run's settings (as
    /// `fitModel` trains one) and its data; `budget` gives the run a new length (epochs, or a step budget counted from
    /// the run's start), None keeps its own.
    let resumeModel (folder: string) (budget: TrainingBudget option) (device: DeviceChoice) (model: RunModel) (data: RunData)
                    (events: RunEvents) (token: CancellationToken) : RunResult =
        let s, entry, ck = resumeSettings folder budget device (Some data)
        RunTraining.run entry s folder (Some ck) model data events (RunStop.ofToken token)

    /// Continues a run from its newest checkpoint (what `generative train --resume` does); `budget` gives the run a
    /// new length (epochs, or a step budget counted from the run's start), None keeps its own; `stop` stops training
    /// and skips the evaluation, separately.
    let resumeUntil (folder: string) (budget: TrainingBudget option) (device: DeviceChoice) (events: RunEvents) (stop: RunStop) : RunResult =
        let s, entry, ck = resumeSettings folder budget device None
        use data = loadDataOf entry s
        RunTraining.run entry s folder (Some ck) (RunSettings.build entry s (Device.resolve s.Device)) data events stop

    /// `resumeUntil` with one token that stops training and skips the evaluation.
    let resume (folder: string) (budget: TrainingBudget option) (device: DeviceChoice) (events: RunEvents) (token: CancellationToken) : RunResult =
        resumeUntil folder budget device events (RunStop.ofToken token)

    /// The run folder's settings, catalog entry and model loaded from its newest checkpoint (weights only: the
    /// checkpoint's optimiser state, RNG state and history.csv are not read, so only the weights need be sound), in
    /// evaluation mode.
    let private loadOf (folder: string) (device: DeviceChoice) =
        let s = { RunFolder.readSettings folder with Device = device }
        let device = Device.resolve s.Device
        let entry = Catalog.find s.ModelId
        let model = RunSettings.build entry s device
        match Checkpoint.latest (RunFolder.checkpointsFolder folder) with
        | Some ck -> Checkpoint.restore ck true model.Trainer |> ignore
        | None -> raise (FileNotFoundException(sprintf "%s has no checkpoint yet: train at least one epoch first." folder))
        Trainer.eval model.Trainer
        s, entry, model

    /// A trained model loaded back from a run folder's newest checkpoint (weights only), in evaluation mode,
    /// with the run's settings and data normalisation.
    let load (folder: string) (device: DeviceChoice) : RunSettings * RunModel =
        let s, _, model = loadOf folder device
        s, model

    /// A run's metrics.csv, for the report's curves (History.empty when there is none). A damaged one is an
    /// InvalidDataException naming the file, the line and what to do, raised before any measuring: the report would
    /// otherwise lose the history silently, and the fix (the newest checkpoint's history.csv holds the history up to
    /// that checkpoint) is a copy away.
    let private runHistory (folder: string) : History =
        let path = RunFolder.metricsPath folder
        if not (File.Exists path) then History.empty
        else
            try History.ofCsv path (File.ReadAllText path)
            with :? InvalidDataException as e ->
                let fromCheckpoint =
                    Checkpoint.latest (RunFolder.checkpointsFolder folder)
                    |> Option.map (fun ck -> sprintf "copy %s over it (the history up to the newest checkpoint), or " (Path.Combine(ck, "history.csv")))
                    |> Option.defaultValue ""
                raise (InvalidDataException(sprintf "%s. The run's metrics.csv is damaged; the weights are fine, but the report is rebuilt from this history: %sdelete it to rebuild the report without loss curves." e.Message fromCheckpoint, e))

    /// Re-measures a run's test metrics from its newest checkpoint (any catalog model, through its
    /// `RunModel.Evaluate`) and rebuilds its report.html with them: (metrics, report path). A cancellation of `work`
    /// (OperationCanceledException) comes before the report is touched, so the old one stays as it was. A damaged
    /// metrics.csv stops it before any measuring (InvalidDataException naming the file and the line, saying what to do).
    let evaluateIn (work: Work) (folder: string) (device: DeviceChoice) : (string * float * string) list * string =
        let s, entry, model = loadOf folder device
        let history = runHistory folder
        use data = loadDataOf entry s
        let clock = Diagnostics.Stopwatch.StartNew()
        let metrics, artifacts = RunEvaluation.metricsAndArtifacts work folder model data
        Work.check work
        // The weights loaded are the best epoch's (rather than the last's) exactly when they equal the best file's.
        let heldBest =
            match RunModel.earlyStopping model.Training, history.Epochs with
            | Some _, _ :: _ ->
                Checkpoint.heldBestEpoch (RunFolder.checkpointsFolder folder) model.Trainer
                |> Option.filter (fun epoch -> epoch <> History.lastEpoch history)
            | _ -> None
        let weightsNote =
            match RunModel.earlyStopping model.Training, heldBest with
            | Some es, Some epoch -> [ RunReportFile.restoredNote es history epoch ]
            | _ -> []
        // The run's status and steps stay what training recorded; a run of an earlier version has none recorded.
        let previous = try RunMetricsFile.tryRead folder with :? InvalidDataException -> None
        let status, steps =
            match previous with
            | Some p -> p.Status, p.Steps
            | None -> RunStatus.NotRecorded, (match history.Steps with [] -> 0L | steps -> (List.last steps).Step)
        RunMetricsFile.write folder
            (RunMetricsFile.ofRun s data history status steps heldBest metrics true (Some clock.Elapsed.TotalSeconds))
        metrics, RunReportFile.write folder s entry data (Device.resolve device) history metrics artifacts model weightsNote Rebuilt

    /// `evaluateIn` with nothing to stop it.
    let evaluate (folder: string) (device: DeviceChoice) : (string * float * string) list * string = evaluateIn Work.none folder device

    /// Rebuilds a run's report.html from its newest checkpoint and metrics.csv, re-measuring the test metrics.
    let report (folder: string) (device: DeviceChoice) : string = snd (evaluate folder device)

    /// Saves a trained model as one safetensors file: its weights, with the model id, its settings and the data
    /// normalisation it was trained on in the file's metadata (atomic write; see `ModelFile`).
    let saveModel (path: string) (modelId: string) (settings: (string * string) list) (normalization: string) (model: RunModel) =
        ModelFile.save path modelId settings normalization [] model.Trainer

    /// Builds the catalog model `modelId` with `settings` (key, value, as `--set` takes them) on `device` and copies
    /// a PyTorch state dict into it (`torch.save(model.state_dict(), path)`, read by `PyTorchWeights.read`): each
    /// name, after the first matching prefix rule (from, to) of `prefixes`, must be one of the model's
    /// `<module>.<entry>` names (`Checkpoint.stateOf`), and every such name must be there with its dtype and shape,
    /// with finite values (`Checkpoint.loadWeights`); otherwise an InvalidDataException names the file and the
    /// tensor, and nothing is copied. The model is returned in evaluation mode; `saveModel` turns it into a model file.
    let importPyTorch (modelId: string) (settings: (string * string) list) (path: string) (prefixes: (string * string) list)
                      (device: DeviceChoice) : RunModel =
        let entry = Catalog.find modelId
        let saved = PyTorchWeights.read path
        try
            let renamed = PyTorchWeights.rename path prefixes saved
            let model = (entry.Configure settings).Build (Device.resolve device)
            try Checkpoint.loadWeights path model.Trainer renamed
            with _ ->
                // A refused file leaves no model behind: its native weights are released now, not by the finaliser.
                for (_, m) in model.Trainer.Modules do m.Dispose()
                reraise ()
            Trainer.eval model.Trainer
            model
        finally for (_, t) in saved do t.Dispose()

    /// Loads what `saveModel` wrote: (model id, settings, normalisation, model in evaluation mode).
    let loadModel (path: string) (device: DeviceChoice) : string * (string * string) list * string * RunModel =
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "%s: model file not found" path, path))
        let contents = ModelFile.read path
        let get key =
            match contents.Metadata.TryFind key with
            | Some v -> v
            | None -> raise (InvalidDataException(sprintf "%s: not a Generative model file (metadata '%s' missing)" path key))
        let modelId = get ModelFile.modelKey
        let settings = Catalog.withoutLegacyAuto (ModelFile.parseSettingsIn path (get ModelFile.settingsKey))
        let model = ((Catalog.find modelId).Configure settings).Build (Device.resolve device)
        ModelFile.loadWeights contents model.Trainer
        Trainer.eval model.Trainer
        modelId, settings, get ModelFile.normalizationKey, model
