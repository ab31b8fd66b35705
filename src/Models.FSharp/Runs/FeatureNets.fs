namespace Generative

open System
open System.Diagnostics
open System.IO
open System.Threading
open TorchSharp

/// The trained classifiers that sample-quality metrics (Frechet distance, inception score) measure generated
/// images with: one LeNet-style network per data set, trained once, saved in the cache and loaded by GAN runs.
/// Inputs are images [N, 1, 28, 28] normalised to [-1, 1] (the range of a tanh generator).
[<RequireQualifiedAccess>]
module FeatureNets =
    let private modelId = "features-lenet"
    let private normalization = "minus-one-one"

    // The run is seeded, short and fixed: 6 epochs of batch 128 with Adam 1e-3 reach 99%+ on MNIST in minutes.
    let private epochs = 6
    let private batchSize = 128
    let private seed = 0L

    let private keyOf (dataset: string) = (DatasetCatalog.find dataset).Name

    /// The lowest test accuracy a feature network may have to be saved: a weak classifier makes every metric
    /// built on it meaningless, so training fails rather than saving one.
    let private floorOf key = if key = "mnist" then 0.99 else 0.90

    let private classesOf key = DatasetCatalog.classes (DatasetCatalog.find key)
    let private displayName key = (DatasetCatalog.find key).DisplayName

    /// <cache root>/feature-nets/<dataset>-lenet.safetensors (cache root as Fetch.cacheRoot).
    let path (dataset: string) : string =
        Path.Combine(Fetch.cacheRoot (), "feature-nets", sprintf "%s-lenet.safetensors" (keyOf dataset))

    let private describe key (accuracy: float) =
        sprintf "LeNet-style %s classifier (test accuracy %.2f%%; inputs in [-1, 1])" (displayName key) (100.0 * accuracy)

    /// A trainer over the classifier's modules only (no optimiser): what loading weights needs.
    let private holder (m: Classifier) : Trainer =
        { Modules = Classifier.modules m; Optimizers = []; Step = (fun _ -> Map.empty); Carried = None }

    /// Loads the saved feature classifier of "mnist" or "fashion-mnist"; when missing, FileNotFoundException whose
    /// message gives the command that makes it: `generative features train --dataset <dataset>`.
    let load (dataset: string) (device: DeviceChoice) : FeatureNetwork =
        let key = keyOf dataset
        let file = path key
        if not (File.Exists file) then
            raise (FileNotFoundException(
                sprintf "%s: no feature classifier for %s yet. Make it (a few minutes on a CPU) with: generative features train --dataset %s" file key key, file))
        let contents = ModelFile.read file
        let meta = contents.Metadata
        let get name =
            match meta.TryFind name with
            | Some v -> v
            | None -> raise (InvalidDataException(sprintf "%s: not a feature classifier file (metadata '%s' missing); remake it with: generative features train --dataset %s" file name key))
        if get ModelFile.modelKey <> modelId then
            raise (InvalidDataException(sprintf "%s: holds a '%s' model, not a %s feature classifier; remake it with: generative features train --dataset %s" file (get ModelFile.modelKey) modelId key))
        let settings = ModelFile.parseSettingsIn file (get ModelFile.settingsKey)
        let m = Classifier.create (SettingsTable.read Classifier.settings Classifier.featureLeNet settings) |> Classifier.moveTo (Device.resolve device)
        ModelFile.loadWeights contents (holder m)
        Classifier.eval m
        let description =
            match meta.TryFind "generative.description" with
            | Some d -> d
            | None -> sprintf "LeNet-style %s classifier (inputs in [-1, 1])" (displayName key)
        Classifier.featureNetwork description (classesOf key) m

    /// Trains the feature classifier on the data set's training split (seeded), checks its test accuracy, saves it
    /// atomically to `path dataset` (the `ModelFile` format, with a description) and returns (path, test accuracy).
    let train (dataset: string) (dataFolder: string option) (device: DeviceChoice) (log: string -> unit) : string * float =
        let key = keyOf dataset
        let folder = Fetch.folderFor key dataFolder
        let dev = Device.resolve device
        use data = DatasetCatalog.loadImages (DatasetCatalog.find key) folder MinusOneToOne
        Device.seed seed
        let m = Classifier.create Classifier.featureLeNet |> Classifier.moveTo dev
        let trainer = Classifier.trainer m
        let clock = Stopwatch.StartNew()
        let hooks =
            { Loop.noHooks with
                OnEpochEnd =
                    fun record _ _ ->
                        log (sprintf "epoch %d/%d  loss %.4f  training accuracy %.4f  (%.1f s)"
                                record.Epoch epochs record.Terms.["loss"] record.Terms.["accuracy"] record.Seconds) }
        let options = { Loop.defaults with Epochs = epochs; BatchSize = batchSize; Seed = seed; Device = dev }
        Loop.fit options hooks CancellationToken.None trainer data.Train (Loop.start, History.empty) |> ignore
        Classifier.eval m
        let accuracy = (Classifier.measure m data.Test).["accuracy"]
        log (sprintf "test accuracy %.4f after %d epochs (%.0f s)" accuracy epochs clock.Elapsed.TotalSeconds)
        if not (accuracy >= floorOf key) then
            raise (InvalidOperationException(
                sprintf "The %s feature classifier reached only %.2f%% test accuracy (at least %.0f%% is needed for meaningful sample metrics); nothing was saved. Check the data with `generative data fetch %s`."
                    key (100.0 * accuracy) (100.0 * floorOf key) key))
        let file = path key
        Directory.CreateDirectory(Path.GetDirectoryName file) |> ignore
        ModelFile.save file modelId (SettingsTable.print Classifier.settings m.Config) normalization [ "generative.description", describe key accuracy ] trainer
        file, accuracy
