namespace Generative

open System
open TorchSharp

/// How long a run trains, as `generative train` gives it: `--epochs N` or `--steps N`.
[<RequireQualifiedAccess>]
type TrainingBudget =
    /// This many epochs.
    | Epochs of int
    /// This many steps in all, over as many epochs as they take (the last one possibly cut short).
    | Steps of int64

/// Everything that defines a run besides the model's own settings.
type RunSettings =
    { /// Catalog id, e.g. "ae-linear".
      ModelId: string
      /// Model settings overriding the catalog defaults (key, value).
      ModelSettings: (string * string) list
      /// A name of `DatasetCatalog`: "mnist" or "fashion-mnist" for image models, a corpus such as "tiny-shakespeare"
      /// for language models (unless `TextFile` is given).
      Dataset: string
      /// A UTF-8 text file a language model trains on instead of a named corpus.
      TextFile: string option
      /// Where the data set's files are; None looks in the cache (see Fetch).
      DataFolder: string option
      /// "zero-one", "minus-one-one" or "mean-std"; None takes the model's default.
      Normalization: string option
      /// Epochs to train. With a step budget (`MaxSteps`) the run sets it to the epochs that budget takes, once it
      /// knows the steps per epoch (`RunSettings.withStepsPerEpoch`).
      Epochs: int
      /// The run's step budget: this many steps in all, counted from the run's start, even when it ends in the
      /// middle of an epoch; None: `Epochs` epochs (see `TrainingBudget`).
      MaxSteps: int64 option
      BatchSize: int
      Seed: int64
      Device: DeviceChoice
      /// Parent of new run folders ("runs").
      RunsRoot: string
      /// An explicit run folder; None makes `<RunsRoot>/<model>-<yyyyMMdd-HHmmss>`.
      RunFolder: string option
      /// Also checkpoint every this many steps (0: only at epoch ends and on interruption).
      CheckpointEverySteps: int
      /// Also checkpoint once this many minutes of training have passed since the last checkpoint (0: off), so a
      /// crash or `kill -9` loses at most about this much work however long an epoch is.
      CheckpointEveryMinutes: float
      /// Checkpoints kept (the newest).
      KeepCheckpoints: int
      /// Test images drawn in the picture grids.
      PictureCount: int
      /// Test images the per-epoch test metrics of a generative model are measured on (`RunModel.EpochTest`: the test
      /// reconstruction error, the VAE's negative ELBO, a GAN's Frechet distance against as many generated images):
      /// the first this many, after every epoch; 0: none (runs written before they existed read as 0).
      EpochTestImages: int
      /// Also write TensorBoard event files into `<run>/tensorboard/` (`RunTensorBoard`): the loss terms per step and
      /// per epoch, the epoch pictures and passages, the settings and the test metrics (`generative train --tensorboard`).
      TensorBoard: bool }

/// A run's settings: their defaults, their checks, and what they resolve to against the run's catalog entry
/// (the data normalisation, the full model settings, the model itself).
[<RequireQualifiedAccess>]
module RunSettings =
    /// The data set a model trains on unless told otherwise: MNIST for image models, tiny-shakespeare for language
    /// models.
    let defaultDataset (kind: DataKind) = match kind with DataKind.Images -> "mnist" | DataKind.Text -> "tiny-shakespeare"

    /// Minutes of training between checkpoints inside an epoch unless a run says otherwise: a crash loses at most this
    /// much, and a checkpoint of the largest catalog model takes well under a second.
    let defaultCheckpointMinutes = 5.0

    /// Test images a generative model's per-epoch test metrics are measured on unless a run says otherwise: enough
    /// for a smooth curve of a reconstruction error, a second or less per epoch on a CPU. A Frechet distance on this
    /// few images is biased upwards against the end-of-run value on the whole test set: its curve shows the trend.
    let defaultEpochTestImages = 1000

    /// How many of a test set's `testImages` images the per-epoch test metrics of a run with settings `s` measure:
    /// the first `EpochTestImages` of them, all when there are fewer, none when the settings turn them off.
    let epochTestCount (s: RunSettings) (testImages: int64) : int64 = max 0L (min (int64 s.EpochTestImages) testImages)

    /// Defaults for a model: its source's batch size (`CatalogEntry.BatchSize`, usually 64), 1 epoch, seed 42,
    /// automatic device, folder `runs/`, no TensorBoard log, and the model's default data set (MNIST and batch 64 when the id is not a
    /// catalog model's: validation names that error).
    let defaults (modelId: string) =
        let entry = Catalog.all |> List.tryFind (fun e -> String.Equals(e.Id, modelId, StringComparison.OrdinalIgnoreCase))
        let kind = entry |> Option.map (fun e -> ModelSpec.dataKind e.Kind) |> Option.defaultValue DataKind.Images
        { ModelId = modelId; ModelSettings = []; Dataset = defaultDataset kind; TextFile = None; DataFolder = None; Normalization = None
          Epochs = 1; MaxSteps = None; BatchSize = entry |> Option.map (fun e -> e.BatchSize) |> Option.defaultValue ModelSpec.usualBatchSize; Seed = 42L; Device = Auto; RunsRoot = "runs"; RunFolder = None
          CheckpointEverySteps = 0; CheckpointEveryMinutes = defaultCheckpointMinutes; KeepCheckpoints = 2; PictureCount = 32
          EpochTestImages = defaultEpochTestImages; TensorBoard = false }

    /// Parses "zero-one" | "minus-one-one" | "mean-std".
    let parseNormalization (text: string) : Normalization =
        match text.Trim().ToLowerInvariant() with
        | "zero-one" | "0-1" -> ZeroOne
        | "minus-one-one" | "-1-1" -> MinusOneToOne
        | "mean-std" -> Transforms.mnistMeanStd
        | other -> Errors.invalidArg "normalization" "zero-one, minus-one-one or mean-std" other

    /// The settings with `budget` as their training length: a number of epochs (and no step budget), or a step
    /// budget (the epochs it takes are set when the run knows its steps per epoch).
    let withBudget (budget: TrainingBudget) (s: RunSettings) : RunSettings =
        match budget with
        | TrainingBudget.Epochs n -> { s with Epochs = n; MaxSteps = None }
        | TrainingBudget.Steps n -> { s with MaxSteps = Some n }

    /// The run's budget: its step budget when it has one, else its epochs.
    let budget (s: RunSettings) : TrainingBudget =
        match s.MaxSteps with Some n -> TrainingBudget.Steps n | None -> TrainingBudget.Epochs s.Epochs

    /// With a step budget, `Epochs` becomes the epochs the budget takes at `stepsPerEpoch` (the last one possibly cut
    /// short), so progress, logs and the report count epochs of the budget; without one, the settings unchanged.
    let withStepsPerEpoch (stepsPerEpoch: int) (s: RunSettings) : RunSettings =
        match s.MaxSteps with
        | Some m when stepsPerEpoch > 0 -> { s with Epochs = int (max 1L ((m + int64 stepsPerEpoch - 1L) / int64 stepsPerEpoch)) }
        | _ -> s

    /// Throws ArgumentException naming the bad setting; the model id is checked by resolving its catalog entry,
    /// which the caller does first.
    let validate (s: RunSettings) =
        if s.Epochs < 1 then Errors.invalidArg "epochs" "at least 1" s.Epochs
        match s.MaxSteps with
        | Some m when m < 1L -> Errors.invalidArg "steps" "at least 1 step" m
        | _ -> ()
        if s.BatchSize < 1 then Errors.invalidArg "batchSize" "at least 1" s.BatchSize
        if s.CheckpointEverySteps < 0 then Errors.invalidArg "checkpointEverySteps" "0 (off) or a positive step count" s.CheckpointEverySteps
        if not (s.CheckpointEveryMinutes >= 0.0) || Double.IsInfinity s.CheckpointEveryMinutes then
            Errors.invalidArg "checkpointEveryMinutes" "0 (off) or a positive number of minutes" s.CheckpointEveryMinutes
        if s.KeepCheckpoints < 1 then Errors.invalidArg "keepCheckpoints" "at least 1" s.KeepCheckpoints
        if s.PictureCount < 1 then Errors.invalidArg "pictureCount" "at least 1" s.PictureCount
        if s.EpochTestImages < 0 then Errors.invalidArg "epochTestImages" "0 (none) or a number of test images" s.EpochTestImages
        s.Normalization |> Option.iter (parseNormalization >> ignore)

    // What holds wherever the data comes from: a text file only for a language model, no normalisation for text.
    // `named` checks the data the settings name when they name no text file.
    let private validateDataWith (named: DataKind -> unit) (entry: CatalogEntry) (s: RunSettings) =
        match ModelSpec.dataKind entry.Kind, s.TextFile with
        | DataKind.Images, Some file -> Errors.invalidArg "text" (sprintf "no text file: %s trains on images (--dataset mnist or fashion-mnist)" entry.Id) file
        | DataKind.Text, Some file when String.IsNullOrWhiteSpace file -> Errors.invalidArg "text" "the path of a UTF-8 text file" file
        | DataKind.Text, Some _ -> ()
        | kind, None -> named kind
        if ModelSpec.dataKind entry.Kind = DataKind.Text && s.Normalization.IsSome then
            Errors.invalidArg "normalization" (sprintf "no normalisation: %s trains on text" entry.Id) s.Normalization.Value

    /// Throws ArgumentException (ParamName "dataset", "text" or "normalization") when the run's data cannot be what
    /// the model trains on: a text corpus or file for an image model, images for a language model.
    let validateData (entry: CatalogEntry) (s: RunSettings) =
        validateDataWith (fun kind ->
            let dataset = DatasetCatalog.find s.Dataset
            match kind, DatasetCatalog.isText dataset with
            | DataKind.Images, true -> Errors.invalidArg "dataset" (sprintf "a data set of images: %s trains on images, and %s is a text corpus" entry.Id dataset.Name) s.Dataset
            | DataKind.Text, false -> Errors.invalidArg "dataset" (sprintf "a text corpus (--corpus NAME or --text FILE): %s trains on text, and %s holds images" entry.Id dataset.Name) s.Dataset
            | _ -> ()) entry s

    /// Throws ArgumentException when the run's model and batch do not fit its images: examples of another shape than
    /// the model's (ParamName "input-shape" for models that have the setting, else "data"), or a batch size above the
    /// number of training images ("batchSize"; the model's default batch size is allowed, for small data sets). Called once the data is loaded, before the run's folder is made, so a
    /// mismatch never fails in the middle of a matrix product or leaves a folder behind.
    let validateAgainstData (entry: CatalogEntry) (s: RunSettings) (data: RunData) =
        match data with
        | TextData _ -> ()
        | ImageData images ->
            let example = images.Train.Images.shape |> Array.skip 1 |> Array.map int |> List.ofArray
            match (entry.Configure s.ModelSettings).InputShape with
            | Some shape when shape <> example ->
                let show (dims: int list) = dims |> List.map string |> String.concat "x"
                let hasSetting = entry.Settings |> List.exists (fun setting -> setting.Key = "input-shape")
                let expected = sprintf "images of the shape %s is built for (%s)" entry.Id (show shape)
                let actual = sprintf "%s's images of %s" images.Name (show example)
                Errors.invalidArg (if hasSetting then "input-shape" else "data") expected actual
            | _ -> ()
            // The model's own batch size stays allowed: a data set smaller than it trains in one batch per epoch.
            if int64 s.BatchSize > images.Train.Count && s.BatchSize <> entry.BatchSize then
                Errors.invalidArg "batchSize" (sprintf "at most the %d training images of %s" images.Train.Count images.Name) s.BatchSize

    /// Throws ArgumentException (ParamName "data", "text" or "normalization") when data handed to a run rather than
    /// loaded from its settings (`Experiment.fitModel`) cannot be what the model trains on. The settings' data set
    /// name is then only the data's label in run.json, so it need not be a `DatasetCatalog` name: the C# facade
    /// trains on IDX folders and texts of its users' own.
    let validateGivenData (entry: CatalogEntry) (s: RunSettings) (data: RunData) =
        let given = RunData.kind data
        let expected = ModelSpec.dataKind entry.Kind
        if given <> expected then
            let needs = match expected with DataKind.Images -> "images" | DataKind.Text -> "a text"
            let kind = match given with DataKind.Images -> "images" | DataKind.Text -> "a text"
            Errors.invalidArg "data" (sprintf "%s, what %s trains on," needs entry.Id) (sprintf "%s (%s)" (RunData.name data) kind)
        validateDataWith ignore entry s
        validateAgainstData entry s data

    /// The run's normalisation name: its own, or the model's default.
    let normalizationOf (entry: CatalogEntry) (s: RunSettings) =
        s.Normalization |> Option.defaultValue entry.Normalization

    /// The run's model read from its settings text over the model's defaults and validated (an unknown or repeated
    /// key, a value that does not parse or is out of range is an ArgumentException naming the setting).
    let configured (entry: CatalogEntry) (s: RunSettings) : ConfiguredModel = entry.Configure s.ModelSettings

    /// Every setting of the run's model as text, defaults included, in table order: what run.json stores.
    let effectiveModelSettings (entry: CatalogEntry) (s: RunSettings) = (configured entry s).Settings

    /// Builds the run's model on its device after seeding (so initial weights depend only on the seed).
    let build (entry: CatalogEntry) (s: RunSettings) (device: torch.Device) =
        let model = configured entry s
        Device.seed s.Seed
        model.Build device
