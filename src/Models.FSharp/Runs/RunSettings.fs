namespace Generative

open System
open TorchSharp

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

/// A run's settings: their defaults, their checks, and what they resolve to against the run's catalog entry
/// (the data normalisation, the full model settings, the model itself).
[<RequireQualifiedAccess>]
module RunSettings =
    /// The data set a model trains on unless told otherwise: MNIST for image models, tiny-shakespeare for language
    /// models.
    let defaultDataset (kind: DataKind) = match kind with DataKind.Images -> "mnist" | DataKind.Text -> "tiny-shakespeare"

    /// Defaults for a model: its source's batch size (`CatalogEntry.BatchSize`, usually 64), 1 epoch, seed 42,
    /// automatic device, folder `runs/`, and the model's default data set (MNIST and batch 64 when the id is not a
    /// catalog model's: validation names that error).
    let defaults (modelId: string) =
        let entry = Catalog.all |> List.tryFind (fun e -> String.Equals(e.Id, modelId, StringComparison.OrdinalIgnoreCase))
        let kind = entry |> Option.map (fun e -> ModelSpec.dataKind e.Kind) |> Option.defaultValue DataKind.Images
        { ModelId = modelId; ModelSettings = []; Dataset = defaultDataset kind; TextFile = None; DataFolder = None; Normalization = None
          Epochs = 1; BatchSize = entry |> Option.map (fun e -> e.BatchSize) |> Option.defaultValue ModelSpec.usualBatchSize; Seed = 42L; Device = Auto; RunsRoot = "runs"; RunFolder = None
          CheckpointEverySteps = 0; KeepCheckpoints = 2; PictureCount = 32 }

    /// Parses "zero-one" | "minus-one-one" | "mean-std".
    let parseNormalization (text: string) : Normalization =
        match text.Trim().ToLowerInvariant() with
        | "zero-one" | "0-1" -> ZeroOne
        | "minus-one-one" | "-1-1" -> MinusOneToOne
        | "mean-std" -> Transforms.mnistMeanStd
        | other -> Errors.invalidArg "normalization" "zero-one, minus-one-one or mean-std" other

    /// Throws ArgumentException naming the bad setting; the model id is checked by resolving its catalog entry,
    /// which the caller does first.
    let validate (s: RunSettings) =
        if s.Epochs < 1 then Errors.invalidArg "epochs" "at least 1" s.Epochs
        if s.BatchSize < 1 then Errors.invalidArg "batchSize" "at least 1" s.BatchSize
        if s.CheckpointEverySteps < 0 then Errors.invalidArg "checkpointEverySteps" "0 (off) or a positive step count" s.CheckpointEverySteps
        if s.KeepCheckpoints < 1 then Errors.invalidArg "keepCheckpoints" "at least 1" s.KeepCheckpoints
        if s.PictureCount < 1 then Errors.invalidArg "pictureCount" "at least 1" s.PictureCount
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
