namespace Generative

open System
open Plotly.NET
open TorchSharp

/// Pictures and charts a model draws once from the test set when a run ends (and when its report is rebuilt):
/// the things that explain a trained model, such as a latent scatter or a grid of samples.
type ReportExtras =
    { /// (title, chart), e.g. ("Test codes coloured by digit", a 3-D scatter).
      Charts: (string * GenericChart) list
      /// (title, caption, images [N, C, H, W] in the data's normalised space), drawn as one grid each.
      Pictures: (string * string * Tensor) list }

/// Validation of a model during training, on images held out from the training split (never the test split).
type ValidationPlan =
    { /// Fraction of the training split held out, taken from its end (as Keras' `validation_split`), e.g. 0.1.
      Fraction: float
      /// Metrics of the held-out split (after `TrainingPlan.Inputs`), e.g. "loss" and "accuracy"; the loop runs it
      /// in evaluation mode without gradients and records its terms per epoch as "val <name>".
      Measure: Split -> Map<string, float>
      /// Stop when a validation term stops improving (and keep the best weights), or None.
      EarlyStopping: EarlyStopping option }

/// How a run prepares its training data: a validation split, and inputs computed once before training.
type TrainingPlan =
    { /// None: every training image is trained on, no validation terms.
      Validation: ValidationPlan option
      /// Turns an image split into what the trainer's steps (and `Measure`) take, once before training, e.g. the
      /// features of a frozen backbone (transfer learning). None: steps take the images themselves.
      Inputs: (Split -> Split) option }

/// What a run needs from a model beyond training: pictures of a fixed batch, test metrics, and the operations
/// the `sample`, `reconstruct` and `encode` commands offer. Absent operations are `None`.
type RunModel =
    { Trainer: Trainer
      /// Named picture series of a fixed batch, as images [N, C, H, W] in the data's normalised space.
      Pictures: Batch -> (string * Tensor) list
      /// Test metrics: name, value, how it was measured.
      Evaluate: Split -> (string * float * string) list
      Reconstruct: (Tensor -> Tensor) option
      Encode: (Tensor -> Tensor) option
      Decode: (Tensor -> Tensor) option
      Sample: (int -> Tensor) option
      /// Extra report content from the test split and its class names; `Catalog.noExtras` when there is none.
      Extras: Split -> string list -> ReportExtras
      /// Validation split and prepared inputs; `Catalog.plainTraining` for none.
      Training: TrainingPlan }

/// A model the CLI, the facade and saved runs can name.
type CatalogEntry =
    { /// The command-line name, e.g. "ae-linear".
      Id: string
      /// The seed-model id and a short description, e.g. "AE-LIN: single-layer autoencoder".
      Title: string
      /// Model settings (key, value) with their defaults; `--set key=value` overrides them.
      Defaults: (string * string) list
      /// The data's normalisation the model expects by default: "zero-one", "minus-one-one" or "mean-std".
      Normalization: string
      /// Builds the model on a device from settings (defaults overridden); call after seeding.
      Build: torch.Device -> (string * string) list -> RunModel }

/// Where sample-quality evaluation gets its feature network for a reference split: the network trained on the
/// same data set, the data set's name, and the function mapping the run's [-1, 1] images into the network's input;
/// or a message saying why there is none and what to run.
type FeatureSource = Split -> Result<FeatureNetwork * string * (Tensor -> Tensor), string>

/// The models runs can be made of.
[<RequireQualifiedAccess>]
module Catalog =
    /// Train on every training image as it is, without validation.
    let plainTraining : TrainingPlan = { Validation = None; Inputs = None }

    /// No extra report content.
    let noExtras (_: Split) (_: string list) : ReportExtras = { Charts = []; Pictures = [] }

    /// Mean of a loss over a split in batches, without gradients, in evaluation mode.
    let meanOver (batchSize: int) (split: Split) (lossOf: Tensor -> Tensor) =
        use _ = torch.no_grad()
        let n = split.Count
        let mutable total = 0.0
        let mutable start = 0L
        while start < n do
            use _ = torch.NewDisposeScope()
            let len = min (int64 batchSize) (n - start)
            let x = split.Images.narrow(0L, start, len)
            total <- total + (lossOf x).ToDouble() * float len
            start <- start + len
        total / float n

    /// Interleaves rows of originals and their reconstructions: row 2k holds originals, row 2k+1 their
    /// reconstructions, `columns` images per row.
    let interleaveRows (columns: int) (originals: Tensor) (reconstructions: Tensor) =
        let n = originals.shape.[0]
        let rows = (n + int64 columns - 1L) / int64 columns
        [ for r in 0L .. rows - 1L do
            let s = r * int64 columns
            let len = min (int64 columns) (n - s)
            yield originals.narrow(0L, s, len)
            yield reconstructions.narrow(0L, s, len) ]
        |> fun parts -> torch.cat(parts |> List.toArray, 0L)

    let private autoencoderEntry id title (baseline: AutoencoderConfig) normalization =
        { Id = id
          Title = title
          Defaults = Autoencoder.toSettings baseline
          Normalization = normalization
          Build =
            fun device settings ->
                let m = Autoencoder.create (Autoencoder.ofSettings baseline settings) |> Autoencoder.moveTo device
                let trainer = Autoencoder.trainer m
                { Trainer = trainer
                  Pictures =
                    fun batch ->
                        use _ = torch.no_grad()
                        use r = Autoencoder.reconstruct m batch.Images
                        [ "Original (odd rows) and reconstruction (even rows)", interleaveRows 8 batch.Images r ]
                  Evaluate =
                    fun test ->
                        let c = m.Config
                        let mse = meanOver 1000 test (fun x -> use r = Autoencoder.reconstruct m x in Reconstruction.loss Mse ElementMean r x)
                        [ "test MSE per pixel", mse, sprintf "mean squared error per pixel over the %d test images, in the data's normalised units" test.Count
                          if c.Loss <> Mse || c.Reduction <> ElementMean then
                            let l = meanOver 1000 test (fun x -> use r = Autoencoder.reconstruct m x in Reconstruction.loss c.Loss c.Reduction r x)
                            "test loss", l, sprintf "the training loss (%s, %s) over the test set" (Reconstruction.name c.Loss) (Reconstruction.reductionName c.Reduction) ]
                  Reconstruct = Some (Autoencoder.reconstruct m)
                  Encode = Some (Autoencoder.encode m)
                  Decode = Some (Autoencoder.decode m)
                  Sample = None
                  Extras = noExtras
                  Training = plainTraining } }

    // ---- classifiers -------------------------------------------------------------------------------------

    /// Predicted classes and their probabilities of a split ([N] int arrays and [N] floats), in evaluation mode.
    let private predictions (m: Classifier) (device: torch.Device) (split: Split) =
        use p = Classifier.probabilitiesOf m 500 split.Images device
        let struct (confidence, predicted) = p.max(1L)
        use confidence = confidence
        use predicted = predicted
        predicted.data<int64>().ToArray() |> Array.map int, confidence.data<float32>().ToArray() |> Array.map float, p.shape.[1]

    /// Test metrics of a classifier: accuracy, then precision and recall of each class.
    let classifierMetrics (m: Classifier) (device: torch.Device) (test: Split) : (string * float * string) list =
        let predicted, _, classes = predictions m device test
        let labels = test.Labels.data<int64>().ToArray() |> Array.map int
        let r = ClassificationMetrics.report (int classes) predicted labels
        [ yield "test accuracy", r.Accuracy, sprintf "fraction of the %d test images whose most probable class is the label" test.Count
          for k in 0 .. int classes - 1 do
              yield sprintf "precision of class %d" k, r.Precision.[k], sprintf "test images predicted as class %d that are class %d" k k
              yield sprintf "recall of class %d" k, r.Recall.[k], sprintf "test images of class %d predicted as class %d" k k ]

    /// The `count` test images the classifier gets wrong with the highest confidence, most confident first, and
    /// a caption naming each one's true and predicted class.
    let mostConfidentMistakes (m: Classifier) (count: int) (test: Split) (classNames: string list) : Tensor * string =
        let predicted, confidence, _ = predictions m (Classifier.deviceOf m) test
        let labels = test.Labels.data<int64>().ToArray() |> Array.map int
        let names = Array.ofList classNames
        let name k = if k < names.Length then names.[k] else string k
        let worst =
            [| 0 .. labels.Length - 1 |]
            |> Array.filter (fun i -> predicted.[i] <> labels.[i])
            |> Array.sortByDescending (fun i -> confidence.[i])
            |> Array.truncate count
        use idx = torch.tensor(worst |> Array.map int64)
        let images = test.Images.index_select(0L, idx)
        let caption =
            if worst.Length = 0 then "No test image is misclassified."
            else
                "In reading order, true -> predicted (probability): "
                + (worst |> Array.map (fun i -> sprintf "%s -> %s (%.2f)" (name labels.[i]) (name predicted.[i]) confidence.[i]) |> String.concat "; ")
                + "."
        images, caption

    /// Report extras of a classifier: confusion heatmap, per-class precision and recall, most confident mistakes.
    let classifierExtras (m: Classifier) (test: Split) (classNames: string list) : ReportExtras =
        let predicted, _, classes = predictions m (Classifier.deviceOf m) test
        let labels = test.Labels.data<int64>().ToArray() |> Array.map int
        let r = ClassificationMetrics.report (int classes) predicted labels
        let mistakes, caption = mostConfidentMistakes m 32 test classNames
        { Charts =
            [ "Confusion matrix", Charts.confusionHeatmap r.Counts classNames
              "Precision and recall per class", Charts.perClassScores r.Precision r.Recall classNames ]
          Pictures = [ "Most confidently misclassified test images", caption, mistakes ] }

    /// Settings of the training plan every classifier entry adds to its model settings: the held-out fraction of the
    /// training split ("validation", 0 = none) and the early-stopping patience in epochs ("patience", 0 = never stop).
    let private planDefaults (validation: float) (patience: int) =
        [ "validation", validation.ToString("R", Globalization.CultureInfo.InvariantCulture); "patience", string patience ]

    /// The training plan the "validation" and "patience" settings describe, measuring with `measure`; early
    /// stopping watches "val loss" and keeps the best epoch's weights.
    let validationPlan (settings: (string * string) list) (measure: Split -> Map<string, float>) : TrainingPlan =
        let get key = settings |> List.tryFind (fun (k, _) -> k = key) |> Option.map snd
        let fraction =
            match get "validation" with
            | None -> 0.0
            | Some v ->
                match Double.TryParse(v, Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with
                | true, f when f >= 0.0 && f < 1.0 -> f
                | _ -> Errors.invalidArg "validation" "a fraction of the training split in [0, 1)" v
        let patience =
            match get "patience" with
            | None -> 0
            | Some v ->
                match Int32.TryParse v with
                | true, p when p >= 0 -> p
                | _ -> Errors.invalidArg "patience" "0 (never stop early) or a number of epochs" v
        if fraction = 0.0 then
            if patience > 0 then Errors.invalidArg "patience" "0 when validation=0 (early stopping needs a validation split)" patience
            plainTraining
        else
            { Validation =
                Some
                    { Fraction = fraction
                      Measure = measure
                      EarlyStopping =
                        if patience = 0 then None
                        else Some { Monitor = "val loss"; Maximize = false; Patience = patience; RestoreBest = true } }
              Inputs = None }

    let private classifierEntry id title (baseline: ClassifierConfig) normalization validation patience =
        { Id = id
          Title = title
          Defaults = Classifier.toSettings baseline @ planDefaults validation patience
          Normalization = normalization
          Build =
            fun device settings ->
                let m = Classifier.create (Classifier.ofSettings baseline settings) |> Classifier.moveTo device
                let trainer = Classifier.trainer m
                { Trainer = trainer
                  Pictures = fun _ -> []
                  Evaluate = classifierMetrics m device
                  Reconstruct = None
                  Encode = Some (Classifier.features m)
                  Decode = None
                  Sample = None
                  Extras = classifierExtras m
                  Training = validationPlan settings (Classifier.measure m) } }

    /// Generated images scored by the GAN entries' sample-quality metrics.
    let qualitySamples = 10000

    /// The seed of the noise behind the quality metrics and the final sample grid, so re-evaluating a saved run
    /// gives the same figures.
    let qualitySeed = 0UL

    /// Test images the feature-network choice is checked on.
    let private recognitionSample = 2000L

    /// The saved feature classifier (FeatureNets) that recognises the reference split's labels: MNIST's or
    /// Fashion-MNIST's, whichever classifies the first 2000 test images with at least 50% accuracy (best first).
    /// Choosing by the labels needs no data-set name, and proves the network fits the data it measures.
    /// The network runs on the CPU, and its inputs are [-1, 1] images like a GAN's, so `prepare` only moves them.
    let featureSource : FeatureSource =
        fun test ->
            let candidates = [ "mnist"; "fashion-mnist" ] |> List.filter (fun d -> IO.File.Exists(FeatureNets.path d))
            if candidates.IsEmpty then
                Error "no feature classifier saved yet: make one with `generative features train --dataset mnist` (or fashion-mnist), then re-measure with `generative report <run>`"
            else
                use _ = torch.no_grad()
                let n = min recognitionSample test.Count
                use images = test.Images.narrow(0L, 0L, n).cpu()
                use labels = test.Labels.narrow(0L, 0L, n).cpu()
                let accuracyOf (net: FeatureNetwork) =
                    use _ = torch.NewDisposeScope()
                    (net.Probabilities images).argmax(1L).eq(labels).to_type(torch.float64).mean().ToDouble()
                let scored = candidates |> List.map (fun d -> let net = FeatureNets.load d Cpu in d, net, accuracyOf net)
                match scored |> List.filter (fun (_, _, a) -> a >= 0.5) |> List.sortByDescending (fun (_, _, a) -> a) with
                | (d, net, a) :: _ ->
                    let name = if d = "mnist" then "MNIST" else "Fashion-MNIST"
                    let described = { net with Description = sprintf "%s; %.1f%% on the first %d reference images" net.Description (100.0 * a) n }
                    Ok (described, name, fun (x: Tensor) -> x.cpu())
                | [] ->
                    Error (sprintf "none of the saved feature classifiers (%s) recognises this data set's labels" (String.concat ", " candidates))

    let private ganEntry id title (preset: (string * string) list -> GanConfig) (defaults: (string * string) list) =
        { Id = id
          Title = title
          Defaults = defaults
          Normalization = "minus-one-one"
          Build =
            fun device settings ->
                let m = Gan.create (Gan.ofSettings (preset settings) settings) |> Gan.moveTo device
                let trainer = Gan.trainer m
                // Evaluate and Extras both run at the end of a run on the same test split: measure once.
                let mutable measured : (Split * Result<QualityReport, string>) option = None
                let quality (test: Split) =
                    match measured with
                    | Some (split, r) when obj.ReferenceEquals(split, test) -> r
                    | _ ->
                        let r =
                            featureSource test
                            |> Result.map (fun (net, dataset, prepare) ->
                                use g = new torch.Generator(qualitySeed)
                                Quality.measure net prepare (Gan.sampleWith g m) test.Images
                                    (sprintf "%s test split (%d images)" dataset test.Count) qualitySamples)
                        measured <- Some(test, r)
                        r
                { Trainer = trainer
                  Pictures = fun _ -> [ "Samples from a fixed noise batch", Gan.fixedSamples m ]
                  Evaluate =
                    fun test ->
                        match quality test with
                        | Ok report -> Quality.metrics report
                        | Error why -> [ "Frechet distance", nan, "not measured: " + why ]
                  Reconstruct = None
                  Encode = None
                  Decode = Some (Gan.generate m)
                  Sample = Some (Gan.sample m)
                  Training = plainTraining
                  Extras =
                    fun test _ ->
                        use g = new torch.Generator(qualitySeed)
                        let grid = "Samples at the end of training", sprintf "%d images from fresh noise (seed %d)." Gan.fixedNoiseCount qualitySeed, Gan.sampleWith g m Gan.fixedNoiseCount
                        match quality test with
                        | Ok r ->
                            { Charts =
                                [ sprintf "Predicted classes of %d generated images (%s)" r.Samples r.Network,
                                  Charts.classHistogram "Predicted class of generated images" r.Histogram r.Classes ]
                              Pictures = [ grid ] }
                        | Error _ -> { Charts = []; Pictures = [ grid ] } } }

    /// The GAN-MLP variant settings: "variant" picks the preset, every other setting defaults to the variant's own.
    let private ganMlpDefaults =
        ("variant", "a") :: (Gan.toSettings Gan.mlpA @ Gan.hiddenSettings Gan.mlpA |> List.map (fun (k, _) -> k, "auto"))

    let private variantOf (settings: (string * string) list) =
        settings |> List.tryFind (fun (k, _) -> k = "variant") |> Option.map snd |> Option.defaultValue "a" |> Gan.mlpVariant

    /// Every model, by id.
    let all : CatalogEntry list =
        [ autoencoderEntry "ae-linear" "AE-LIN: single-layer autoencoder (784-128-784, ReLU)" Autoencoder.linear "zero-one"
          classifierEntry "cls-mlp" "CLS-MLP: Flatten -> Dense 128 ReLU -> Dense 10 classifier" Classifier.mlp "zero-one" 0.1 5
          classifierEntry "cls-lenet" "CLS-LENET: LeNet-5 (tanh, max pooling) classifier" Classifier.leNet5 "zero-one" 0.1 5
          classifierEntry "cls-cnn" "CLS-CNN: batch-normalised CNN with dropout and shift/flip augmentation" Classifier.batchNormCnn "mean-std" 0.1 5
          classifierEntry "features-lenet" "Feature LeNet: ReLU LeNet classifier whose features measure generated images" Classifier.featureLeNet "minus-one-one" 0.0 0
          ganEntry "gan-mlp" "GAN-MLP-A/B/C: fully connected GAN (variant a, b or c)" variantOf ganMlpDefaults
          ganEntry "lsgan" "LSGAN: least-squares GAN on GAN-MLP-C's networks" (fun _ -> Gan.lsgan) (Gan.toSettings Gan.lsgan)
          ganEntry "dcgan" "DCGAN-A: convolutional GAN (conv D with max pooling, transposed-conv G with batch norm)" (fun _ -> Gan.dcganA) (Gan.toSettings Gan.dcganA)
          ganEntry "dcgan-keras" "DCGAN-B: Keras-style DCGAN (tanh, upsampling, SGD with Nesterov momentum)" (fun _ -> Gan.dcganB) (Gan.toSettings Gan.dcganB) ]

    /// The entry for an id; the error lists the ids there are.
    let find (id: string) : CatalogEntry =
        match all |> List.tryFind (fun e -> String.Equals(e.Id, id, StringComparison.OrdinalIgnoreCase)) with
        | Some e -> e
        | None -> Errors.invalidArg "model" (sprintf "one of %s" (all |> List.map (fun e -> e.Id) |> String.concat ", ")) id
