namespace Generative

open System
open TorchSharp

/// A classifier with its run's validation plan: what a classifier catalog entry is configured by.
type ClassifierRunConfig =
    { Model: ClassifierConfig
      /// Fraction of the training split held out for validation, taken from its end (0: none).
      Validation: float
      /// Epochs without a better validation accuracy before training stops (0: never stop early).
      Patience: int }

/// The classifiers' catalog entries (CLS-PYR, CLS-MLP, CLS-LENET, CLS-MOBILENET, cls-cnn and the feature LeNet of
/// sample-quality metrics), with what their runs report: test accuracy, per-class precision and recall, a
/// confusion heatmap and the most confidently misclassified test images.
[<RequireQualifiedAccess>]
module ClassifierEntries =
    /// Predicted classes and their probabilities of a split ([N] int arrays and [N] floats), in evaluation mode.
    let private predictions (probabilitiesOf: Work -> Split -> Tensor) (work: Work) (split: Split) =
        use p = probabilitiesOf work split
        let struct (confidence, predicted) = p.max(1L)
        use confidence = confidence
        use predicted = predicted
        predicted.data<int64>().ToArray() |> Array.map int, confidence.data<float32>().ToArray() |> Array.map float, p.shape.[1]

    /// How metrics name class k: "class k", followed by its name in brackets when the data set names it otherwise
    /// (Fashion-MNIST: "class 0 (T-shirt/top)"; MNIST's names are the digits, so "class 3" stays).
    let classLabel (classNames: string list) (k: int) =
        match List.tryItem k classNames with
        | Some name when name <> string k -> sprintf "class %d (%s)" k name
        | _ -> sprintf "class %d" k

    /// Test metrics of a classifier: accuracy, then precision and recall of each class, named by `classLabel`.
    /// `probabilitiesOf` is `Classifier.splitProbabilities` of the model.
    let classifierMetrics (probabilitiesOf: Work -> Split -> Tensor) (work: Work) (test: Split) (classNames: string list) : (string * float * string) list =
        let predicted, _, classes = predictions probabilitiesOf work test
        let labels = test.Labels.data<int64>().ToArray() |> Array.map int
        let r = ClassificationMetrics.report (int classes) predicted labels
        [ yield "test accuracy", r.Accuracy, sprintf "fraction of the %d test images whose most probable class is the label" test.Count
          for k in 0 .. int classes - 1 do
              let c = classLabel classNames k
              // The description repeats the class once per clause, so it uses the shorter of the two names.
              let short = match List.tryItem k classNames with Some name when name <> string k -> name | _ -> c
              yield sprintf "precision of %s" c, r.Precision.[k], sprintf "test images predicted as %s that are %s" short short
              yield sprintf "recall of %s" c, r.Recall.[k], sprintf "test images of %s predicted as %s" short short ]

    /// The `count` test images the classifier gets wrong with the highest confidence, most confident first, and
    /// a caption naming each one's true and predicted class.
    let mostConfidentMistakes (probabilitiesOf: Work -> Split -> Tensor) (work: Work) (count: int) (test: Split) (classNames: string list) : Tensor * string =
        let predicted, confidence, _ = predictions probabilitiesOf work test
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

    /// Report artifacts of a classifier: confusion heatmap, per-class precision and recall, most confident mistakes.
    let classifierExtras (probabilitiesOf: Work -> Split -> Tensor) (work: Work) (test: Split) (classNames: string list) : ReportArtifact list =
        let predicted, _, classes = predictions probabilitiesOf work test
        let labels = test.Labels.data<int64>().ToArray() |> Array.map int
        let r = ClassificationMetrics.report (int classes) predicted labels
        let mistakes, caption = mostConfidentMistakes probabilitiesOf work 32 test classNames
        [ Chart("Confusion matrix", Charts.confusionHeatmap r.Counts classNames)
          Chart("Precision and recall per class", Charts.perClassScores r.Precision r.Recall classNames)
          ImageGrid("Most confidently misclassified test images", caption, RunModel.gridColumns, mistakes) ]

    /// Throws ArgumentException naming the setting when a classifier and its validation plan cannot be trained.
    let validate (c: ClassifierRunConfig) =
        Classifier.validate c.Model
        if not (c.Validation >= 0.0 && c.Validation < 1.0) then
            Errors.invalidArg "validation" "a fraction of the training split in [0, 1)" c.Validation
        if c.Patience < 0 then Errors.invalidArg "patience" "0 (never stop early) or a number of epochs" c.Patience
        if c.Validation = 0.0 && c.Patience > 0 then
            Errors.invalidArg "patience" "0 when validation=0 (early stopping needs a validation split)" c.Patience

    /// The settings of a classifier run: the classifier's own, then "validation" and "patience".
    let settings : Setting<ClassifierRunConfig> list =
        (Classifier.settings |> List.map (Setting.lift (fun c -> c.Model) (fun m c -> { c with Model = m })))
        @ [ Setting.float "validation" "fraction of the training split held out for validation, taken from its end (0: none)"
                (fun c -> c.Validation) (fun v c -> { c with Validation = v })
            Setting.int "patience" "epochs without a better validation accuracy before training stops (0: never)"
                (fun c -> c.Patience) (fun v c -> { c with Patience = v }) ]

    /// The training plan of a validated config, measuring with `measure`; early stopping watches "val accuracy" (the
    /// quantity the floors are stated in; the validation loss of a classifier can rise while its accuracy still
    /// improves) and keeps the best epoch's weights.
    let validationPlan (c: ClassifierRunConfig) (measure: Split -> Map<string, float>) : ImageTraining =
        if c.Validation = 0.0 then { Validation = None; Inputs = None }
        else
            { Validation =
                Some
                    { Fraction = c.Validation
                      Measure = measure
                      EarlyStopping =
                        if c.Patience = 0 then None
                        else Some { Monitor = "val accuracy"; Maximize = true; Patience = c.Patience; RestoreBest = true } }
              Inputs = None }

    /// A classifier model over a baseline network, with a validation fraction and patience by default.
    let model id title (baseline: ClassifierConfig) normalization validation patience : ModelSpec<ClassifierRunConfig> =
        { Id = id
          Title = title
          Kind = ModelKind.Classifier
          Normalization = normalization
          Defaults = { Model = baseline; Validation = validation; Patience = patience }
          Settings = settings
          Validate = validate
          BatchSize = ModelSpec.usualBatchSize
          FitToData = None
          // Every classifier takes MNIST-sized grey images; the fixed-feature ones resize them themselves.
          InputShape = fun _ -> Some Classifier.inputShape
          Precision = fun c -> c.Model.Precision
          Build =
            fun device config ->
                let m = Classifier.create config.Model |> Classifier.moveTo device
                let trainer = Classifier.trainer m
                let probabilitiesOf = Classifier.splitProbabilities m
                let plan = validationPlan config (Classifier.measure m)
                { Trainer = trainer
                  Pictures = fun _ -> []
                  ComparedTerms = []
                  Passages = RunModel.noPassages
                  Evaluate = fun work data -> RunModel.onImages (classifierMetrics probabilitiesOf work) data
                  Reconstruct = None
                  Encode = Some (Device.runOn device (Classifier.features m))
                  Decode = None
                  Sample = None
                  Classify = Some (Device.runOn device (Classifier.probabilities m))
                  Generate = None
                  Extras = fun work data -> RunModel.onImages (classifierExtras probabilitiesOf work) data
                  // Validation accuracy follows the test accuracy already.
                  EpochTest = None
                  Training =
                    // Fixed features (pyramid, frozen MobileNetV2) are computed once, before training.
                    if Classifier.hasFixedFeatures m.Config then ShuffledImages { plan with Inputs = Some (Classifier.cachedInputs m 256) }
                    else ShuffledImages plan } }

    /// CLS-MLP.
    let mlp = model "cls-mlp" "CLS-MLP: Flatten -> Dense 128 ReLU -> Dense 10 classifier" Classifier.mlp "zero-one" 0.1 10

    /// CLS-LENET.
    let leNet5 = model "cls-lenet" "CLS-LENET: LeNet-5 (tanh, max pooling) classifier" Classifier.leNet5 "zero-one" 0.1 10

    /// cls-cnn (beyond the sources).
    let cnn =
        model "cls-cnn" "CLS-CNN: two double-conv blocks with batch norm, dropout, shift/flip augmentation, halving learning rate (93.8% in 16 epochs)"
            Classifier.batchNormCnn "mean-std" 0.1 10

    /// CLS-PYR.
    let pyramidSvm = model "cls-pyr" "CLS-PYR: Gaussian-pyramid features + one-vs-rest linear SVM (hinge, C=1)" Classifier.pyramidSvm "zero-one" 0.1 10

    /// CLS-MOBILENET, with the weights in their default place (`Classifier.defaultMobileNetWeights`).
    let mobileNetV2 =
        model "cls-mobilenet" "CLS-MOBILENET: frozen ImageNet MobileNetV2 + global average pooling + Dense 10"
            (Classifier.mobileNetV2 (Classifier.defaultMobileNetWeights ())) "zero-one" 0.1 10

    /// The feature LeNet of sample-quality metrics (no validation split).
    let featureLeNet =
        model "features-lenet" "Feature LeNet: ReLU LeNet classifier whose features measure generated images" Classifier.featureLeNet "minus-one-one" 0.0 0

    /// Every classifier entry.
    let all : CatalogEntry list =
        [ ModelSpec.entry mlp; ModelSpec.entry leNet5; ModelSpec.entry cnn; ModelSpec.entry pyramidSvm
          ModelSpec.entry mobileNetV2; ModelSpec.entry featureLeNet ]
