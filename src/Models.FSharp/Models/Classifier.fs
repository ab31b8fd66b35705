namespace Generative

open System
open System.Globalization
open TorchSharp

/// The network shapes of the image classifiers (all take [N, 1, 28, 28] images).
type ClassifierArchitecture =
    /// CLS-MLP: Flatten -> Dense(hidden) ReLU ... -> Dense(classes) logits. `[128]` gives the source's 101,770
    /// parameters for 784 inputs and 10 classes.
    | Perceptron of hidden: int list
    /// CLS-LENET (LeCun et al., 1998, as in the cookbook): Conv(6, 5x5, valid) tanh, MaxPool 2, Conv(16, 5x5, valid)
    /// tanh, MaxPool 2, Flatten, Dense 120 tanh, Dense 84 tanh, Dense(classes) (softmax in the loss).
    | LeNet5
    /// The LeNet-style feature network for sample-quality metrics: Conv(32, 3x3, same) ReLU MaxPool 2,
    /// Conv(64, 3x3, same) ReLU MaxPool 2, Flatten, Dense 128 ReLU (the features), Dropout, Dense(classes).
    | FeatureLeNet
    /// cls-cnn (beyond the sources): two blocks of two Conv 3x3 (same) + BatchNorm (Ioffe & Szegedy, 2015) + ReLU,
    /// 32 then 64 channels, each block followed by MaxPool 2 and Dropout 0.25; Flatten, Dense 256 BN ReLU (the
    /// features), Dropout (the config's), Dense(classes).
    | BatchNormCnn
    /// CLS-PYR: fixed Gaussian-pyramid features (GaussianPyramid.features, 1050 per 28x28 image), a linear head;
    /// trained with the hinge loss it is a one-vs-rest linear SVM.
    | PyramidSvm
    /// CLS-MOBILENET: a frozen MobileNetV2 backbone (ImageNet weights from `ClassifierConfig.Weights`) on images resized
    /// to 224x224 RGB, global average pooling (1280 features), a new linear head.
    | MobileNetV2Transfer

/// A classifier's settings.
type ClassifierConfig =
    { Architecture: ClassifierArchitecture
      /// Number of classes (10 for MNIST and Fashion-MNIST).
      Classes: int
      /// Dropout probability before the last layer (FeatureLeNet, BatchNormCnn; the others have none).
      Dropout: float
      Optimizer: OptimizerSpec
      /// Training-time augmentation: each image is shifted by a random whole number of pixels in [-Shift, Shift]
      /// along each axis (0: off).
      Shift: int
      /// Training-time augmentation: each image is flipped left-right with probability 1/2 (clothes, not digits).
      Flip: bool
      Loss: ClassificationLoss
      /// Learning-rate decay: the optimiser's learning rate halves every this many steps (multiplied by
      /// 0.5^(1/LrHalfLife) after each step, as torch.optim.lr_scheduler.ExponentialLR stepped per batch); 0: constant.
      /// Annealing lets the late epochs settle into a minimum instead of bouncing at the initial rate.
      LrHalfLife: int
      /// MobileNetV2Transfer only: the torchvision ImageNet weights file: torchvision's .pth checkpoint or a safetensors export (MobileNetV2.loadImageNet).
      Weights: string
      /// The number format of the training passes: BFloat16 runs the linear and convolution layers in bfloat16 on a
      /// working copy (see `MixedPrecision.computeLayersCopy`); weights, optimiser, batch norm, the loss and
      /// everything saved stay fp32.
      Precision: TrainingPrecision }

/// A created classifier: `Features` maps images to the penultimate representation, `Head` maps that to logits.
type Classifier = { Config: ClassifierConfig; Features: Net; Head: Net }

/// Image classifiers (section order: config, validate, create, forward, loss, step).
[<RequireQualifiedAccess>]
module Classifier =
    let private baseline =
        { Architecture = Perceptron [ 128 ]; Classes = 10; Dropout = 0.0; Optimizer = Optim.adam 1e-3; Shift = 0; Flip = false
          Loss = ClassificationLoss.crossEntropy; LrHalfLife = 0; Weights = ""; Precision = TrainingPrecision.Float32 }

    /// CLS-MLP (docs/models.md): Flatten -> Dense 128 ReLU -> Dense 10, Adam (Keras defaults: lr 1e-3), sparse
    /// categorical cross-entropy.
    let mlp = baseline

    /// CLS-LENET: LeNet-5 with tanh and max pooling, Adam 1e-3, cross-entropy.
    let leNet5 = { baseline with Architecture = LeNet5 }

    /// The feature classifier GAN evaluation uses (see FeatureNets): ReLU LeNet, dropout 0.5, Adam 1e-3.
    let featureLeNet = { baseline with Architecture = FeatureLeNet; Dropout = 0.5 }

    /// cls-cnn: two blocks of two batch-normalised 3x3 convolutions (32 then 64 channels), dropout 0.25 before the
    /// last layer, Adam 1e-3 halving every 2,532 steps (3 epochs of 54,000 images in batches of 64, so 16 epochs end
    /// near 1/40 of the rate), random shifts of up to 1 pixel and flips. Light regularisation: with 0.5 dropout and
    /// 2-pixel shifts an earlier, narrower network still underfit (training accuracy below validation accuracy).
    let batchNormCnn =
        { baseline with Architecture = BatchNormCnn; Dropout = 0.25; Shift = 1; Flip = true; LrHalfLife = 2532 }

    /// CLS-PYR: pyramid features and a one-vs-rest linear SVM, hinge loss, C = 1. The SVM objective
    /// 1/2 ||W||^2 + C sum_i hinge_i, divided by C N, is mean_i hinge_i + ||W||^2 / (2 C N): Adam's weight decay
    /// 1 / (C N) with N = 54,000 (the training images left after holding out 10% for validation).
    let pyramidSvm = { baseline with Architecture = PyramidSvm; Loss = ClassificationLoss.hinge; Optimizer = Adam(1e-3, 0.9, 0.999, 1.0 / 54000.0) }

    /// Where `mobileNetV2` looks for ImageNet weights by default: <cache root>/weights/mobilenet_v2-imagenet.safetensors.
    let defaultMobileNetWeights () =
        IO.Path.Combine(Fetch.cacheRoot (), "weights", "mobilenet_v2-imagenet.safetensors")

    /// CLS-MOBILENET: frozen ImageNet MobileNetV2, global average pooling, a Dense(classes) head, Adam 1e-3.
    let mobileNetV2 (weights: string) = { baseline with Architecture = MobileNetV2Transfer; Weights = weights }

    /// The shape of one image every architecture takes: [1; 28; 28].
    let inputShape = [ 1; 28; 28 ]

    /// True for the architectures whose features are fixed (no trainable parameters before the head): their steps
    /// train the head on features computed once (`cachedInputs`).
    let hasFixedFeatures (c: ClassifierConfig) =
        match c.Architecture with
        | PyramidSvm | MobileNetV2Transfer -> true
        | _ -> false

    /// Throws ArgumentException naming the field when the config cannot be built.
    let validate (c: ClassifierConfig) =
        match c.Architecture with
        | Perceptron hidden when hidden |> List.exists (fun w -> w <= 0) ->
            Errors.invalidArg "architecture" "positive hidden widths" (sprintf "%A" hidden)
        | _ -> ()
        if c.Classes < 2 then Errors.invalidArg "classes" "at least 2 classes" c.Classes
        if not (c.Dropout >= 0.0 && c.Dropout < 1.0) then Errors.invalidArg "dropout" "a probability in [0, 1)" c.Dropout
        if c.LrHalfLife < 0 then Errors.invalidArg "lr-half-life" "0 (constant learning rate) or a number of steps" c.LrHalfLife
        if c.Shift < 0 || c.Shift > 13 then Errors.invalidArg "shift" "0 to 13 pixels" c.Shift
        if hasFixedFeatures c && (c.Shift > 0 || c.Flip) then
            Errors.invalidArg "shift" "no augmentation for fixed features (they are computed once, before training)" c.Shift
        if c.Architecture = MobileNetV2Transfer && String.IsNullOrWhiteSpace c.Weights then
            Errors.invalidArg "weights" "the path of MobileNetV2 ImageNet weights (torchvision's .pth, or safetensors)" c.Weights
        Optim.validate c.Optimizer

    let private conv (inputs: int) (outputs: int) (kernel: int) (padding: int) : Net =
        torch.nn.Conv2d(int64 inputs, int64 outputs, int64 kernel, padding = int64 padding, device = Device.forNewLayers ()) :> Net

    let private maxPool () : Net = torch.nn.MaxPool2d(2L, Nullable 2L) :> Net
    let private batchNorm2d (channels: int) : Net = torch.nn.BatchNorm2d(int64 channels, device = Device.forNewLayers ()) :> Net
    let private batchNorm1d (features: int) : Net = torch.nn.BatchNorm1d(int64 features, device = Device.forNewLayers ()) :> Net

    /// Size of the penultimate representation (what `features` returns per image).
    let featureSize (c: ClassifierConfig) =
        match c.Architecture with
        | Perceptron hidden -> List.last (784 :: hidden)
        | LeNet5 -> 84
        | FeatureLeNet -> 128
        | BatchNormCnn -> 256
        | PyramidSvm -> GaussianPyramid.featureCount 1 28
        | MobileNetV2Transfer -> MobileNetV2.featureChannels

    /// Creates the networks (initialised from libtorch's global generator: seed it first).
    let create (c: ClassifierConfig) : Classifier =
        validate c
        let features =
            match c.Architecture with
            | Perceptron hidden ->
                let widths = 784 :: hidden
                Layers.flatten ()
                :: [ for (a, b) in List.pairwise widths do yield Layers.linear a b; yield Layers.relu () ]
                |> Layers.sequence
            | LeNet5 ->
                // 28 -> conv5 24 -> pool 12 -> conv5 8 -> pool 4: 16 * 4 * 4 = 256 inputs to the dense layers.
                [ conv 1 6 5 0; Layers.tanh (); maxPool ()
                  conv 6 16 5 0; Layers.tanh (); maxPool ()
                  Layers.flatten (); Layers.linear 256 120; Layers.tanh (); Layers.linear 120 84; Layers.tanh () ]
                |> Layers.sequence
            | FeatureLeNet ->
                [ conv 1 32 3 1; Layers.relu (); maxPool ()
                  conv 32 64 3 1; Layers.relu (); maxPool ()
                  Layers.flatten (); Layers.linear (64 * 7 * 7) 128; Layers.relu () ]
                |> Layers.sequence
            | BatchNormCnn ->
                // Two VGG-style blocks of two 3x3 convolutions (28 -> pool 14 -> pool 7): the second convolution
                // at each resolution is what lifts this past 93% on Fashion-MNIST.
                [ conv 1 32 3 1; batchNorm2d 32; Layers.relu (); conv 32 32 3 1; batchNorm2d 32; Layers.relu ()
                  maxPool (); Layers.dropout 0.25
                  conv 32 64 3 1; batchNorm2d 64; Layers.relu (); conv 64 64 3 1; batchNorm2d 64; Layers.relu ()
                  maxPool (); Layers.dropout 0.25
                  Layers.flatten (); Layers.linear (64 * 7 * 7) 256; batchNorm1d 256; Layers.relu () ]
                |> Layers.sequence
                |> fun net ->
                    // Channels-last from the first convolution on: the same numbers, faster (docs/torchsharp.md).
                    ChannelsLast.fromFirstConvolution net
                    net
            | PyramidSvm -> new Lambda("pyramid", GaussianPyramid.features) :> Net
            | MobileNetV2Transfer ->
                let backbone = MobileNetV2.backbone ()
                MobileNetV2.loadImageNet c.Weights backbone
                for p in backbone.parameters() do p.requires_grad <- false
                Layers.named
                    [ "preprocess", new Lambda("imagenet-input", MobileNetV2.toImageNetInput 224) :> Net
                      "features", backbone
                      "pool", new Lambda("global-average-pool", fun x -> x.mean([| 2L; 3L |])) :> Net ]
        let head =
            let last = Layers.linear (featureSize c) c.Classes
            if c.Dropout > 0.0 then Layers.sequence [ Layers.dropout c.Dropout; last ] else Layers.sequence [ last ]
        { Config = c; Features = features; Head = head }

    /// The named modules (what checkpoints and saved models hold: `features.*`, `head.*`).
    let modules (m: Classifier) : (string * torch.nn.Module) list =
        [ "features", m.Features :> torch.nn.Module; "head", m.Head :> torch.nn.Module ]

    /// Moves both networks to a device; do it before `trainer` so the optimiser holds the moved parameters.
    let moveTo (device: torch.Device) (m: Classifier) =
        m.Features.``to``(device) |> ignore
        m.Head.``to``(device) |> ignore
        m

    /// Switches both networks to evaluation mode (dropout off, batch norm on running statistics).
    let eval (m: Classifier) =
        m.Features.eval()
        m.Head.eval()

    /// Penultimate features of images [N, 1, 28, 28] -> [N, featureSize].
    let features (m: Classifier) (x: Tensor) : Tensor = m.Features.forward(x)

    /// Class scores before the softmax: images [N, 1, 28, 28] -> [N, classes].
    let logits (m: Classifier) (x: Tensor) : Tensor =
        use f = features m x
        m.Head.forward(f)

    /// Class probabilities softmax(logits): [N, 1, 28, 28] -> [N, classes].
    let probabilities (m: Classifier) (x: Tensor) : Tensor =
        use z = logits m x
        torch.nn.functional.softmax(z, 1L)

    /// Predicted classes argmax(logits): [N, 1, 28, 28] -> [N] int64.
    let predict (m: Classifier) (x: Tensor) : Tensor =
        use z = logits m x
        z.argmax(1L)

    /// Fraction of rows of `logits` [N, classes] whose argmax equals `labels` [N], as a 0-dim tensor.
    let batchAccuracy (logits: Tensor) (labels: Tensor) : Tensor =
        use predicted = logits.argmax(1L)
        use hits = predicted.eq(labels)
        hits.to_type(torch.float32).mean()

    /// The config's loss of logits [N, classes] against labels [N] (see ClassificationLoss).
    let lossOfLogits (c: ClassifierConfig) (z: Tensor) (labels: Tensor) : Tensor = c.Loss.OfLogits z labels

    /// Named terms of logits [N, classes] against labels: "loss" (the config's loss, see ClassificationLoss) and
    /// "accuracy" (not differentiated, tracked only).
    let termsOfLogits (c: ClassifierConfig) (z: Tensor) (labels: Tensor) : Map<string, Tensor> =
        Map [ "loss", lossOfLogits c z labels; "accuracy", batchAccuracy z labels ]

    /// Named terms of classifying `images` with `labels` ("loss", "accuracy").
    let loss (m: Classifier) (images: Tensor) (labels: Tensor) : Map<string, Tensor> =
        use z = logits m images
        termsOfLogits m.Config z labels

    /// The config's training augmentation applied to a batch (random shifts by whole pixels, flips), drawn from
    /// libtorch's global generator (which checkpoints save); the batch itself when the config has none.
    let augment (c: ClassifierConfig) (images: Tensor) : Tensor =
        if c.Shift = 0 && not c.Flip then images.alias()
        else
            use _ = torch.NewDisposeScope()
            let n = images.shape.[0]
            let shifted =
                if c.Shift = 0 then images
                else
                    // An affine grid per image: a translation by (dx, dy) pixels is 2*dx/W in grid units. Sampling
                    // with border padding repeats the edge pixels (background), so no artificial frame appears.
                    let h, w = images.shape.[2], images.shape.[3]
                    let offsets = torch.randint(int64 -c.Shift, int64 (c.Shift + 1), [| n; 2L |]).to_type(torch.float32).``to``(images.device)
                    let tx = offsets.select(1L, 0L) * (2.0f / float32 w)
                    let ty = offsets.select(1L, 1L) * (2.0f / float32 h)
                    let zeros = torch.zeros_like(tx)
                    let ones = torch.ones_like(tx)
                    let theta = torch.stack([| ones; zeros; tx; zeros; ones; ty |], 1L).reshape(n, 2L, 3L)
                    let grid = torch.nn.functional.affine_grid(theta, [| n; images.shape.[1]; h; w |], align_corners = false)
                    torch.nn.functional.grid_sample(images, grid, mode = torch.GridSampleMode.Bilinear, padding_mode = torch.GridSamplePaddingMode.Border, align_corners = false)
            let result =
                if not c.Flip then shifted
                else
                    Transforms.randomHorizontalFlip 0.5 GlobalGenerator shifted
            result.MoveToOuterDisposeScope()

    /// A trainer: one optimiser over the trainable parameters. Each step augments the batch (if configured) and
    /// minimises the loss; for fixed features (`hasFixedFeatures`) the batch holds features from `cachedInputs` and
    /// only the head runs. Terms: "loss", "accuracy" (of the training batch).
    let trainer (m: Classifier) : Trainer =
        let fixedFeatures = hasFixedFeatures m.Config
        let parameters =
            (if fixedFeatures then m.Head.parameters() else Seq.append (m.Features.parameters()) (m.Head.parameters()))
            |> Seq.filter (fun p -> p.requires_grad) |> Seq.toArray
        // In a lower precision the passes run through a working copy (built with the global generator put back, so a
        // seed draws the same numbers in either precision); `m`'s networks stay the fp32 masters.
        let passes, copies =
            match m.Config.Precision with
            | TrainingPrecision.Float32 -> m, []
            | precision ->
                let w = Device.keepingRandomState (fun () -> create m.Config)
                w, [ if not fixedFeatures then MixedPrecision.computeLayersCopy precision m.Features w.Features
                     MixedPrecision.computeLayersCopy precision m.Head w.Head ]
        MixedPrecision.minimizing copies (modules m) (Optim.create m.Config.Optimizer parameters) (fun batch ->
            if fixedFeatures then termsOfLogits m.Config (passes.Head.forward(batch.Inputs)) batch.Targets
            else loss passes (augment m.Config batch.Inputs) batch.Targets)
        |> Trainer.withLearningRateHalfLife m.Config.LrHalfLife

    /// `f` applied to `images` [N, ...] in batches of `batchSize` moved to `device`, without gradients, concatenated
    /// on the CPU: [N, width] ([0, width] for no images). Each batch is a unit of `work` named `task`.
    let private inBatches (work: Work) (task: string) (batchSize: int) (device: torch.Device) (width: int)
                          (f: Tensor -> Tensor) (images: Tensor) : Tensor =
        use _ = torch.no_grad()
        let n = images.shape.[0]
        let batches = Batches.batchCount n batchSize false
        let parts =
            [ for start in 0L .. int64 batchSize .. n - 1L do
                Work.step work task (int (start / int64 batchSize)) batches
                use _ = torch.NewDisposeScope()
                let x = images.narrow(0L, start, min (int64 batchSize) (n - start)).``to``(device)
                yield (f x).cpu().MoveToOuterDisposeScope() ]
        if parts.IsEmpty then torch.zeros(0L, int64 width)
        else
            let all = torch.cat(parts |> List.toArray, 0L)
            for p in parts do p.Dispose()
            all

    /// The split with its images replaced by their features [N, featureSize] (on the CPU), computed in batches of
    /// `batchSize` without gradients with the feature network in evaluation mode: the inputs `trainer` takes for
    /// fixed features, computed once per run. Each batch is a unit of `work` named "features".
    let cachedInputsIn (work: Work) (m: Classifier) (batchSize: int) (split: Split) : Split =
        m.Features.eval()
        let images = inBatches work "features" batchSize (Device.ofModule m.Head) (featureSize m.Config) (features m) split.Images
        { Images = images; Labels = split.Labels.clone() }

    /// `cachedInputsIn` with nothing to stop it.
    let cachedInputs (m: Classifier) (batchSize: int) (split: Split) : Split = cachedInputsIn Work.none m batchSize split

    /// Class probabilities of a whole split in batches, without gradients, in evaluation mode: [N, classes] on the CPU.
    /// Each batch is a unit of `work` named "class probabilities".
    let probabilitiesOf (work: Work) (m: Classifier) (batchSize: int) (images: Tensor) (device: torch.Device) : Tensor =
        inBatches work "class probabilities" batchSize device m.Config.Classes (probabilities m) images

    /// A function giving the class probabilities [N, classes] (on the CPU, the caller disposes them) of a split's
    /// images, in batches without gradients (call in evaluation mode). For fixed features it keeps the features of
    /// the last split seen (compared by reference), so evaluating one test split twice runs MobileNetV2 once. Each
    /// batch is a unit of the `work` it is given.
    let splitProbabilities (m: Classifier) : Work -> Split -> Tensor =
        let device = Device.ofModule m.Head
        if not (hasFixedFeatures m.Config) then fun work split -> probabilitiesOf work m 500 split.Images device
        else
            let mutable cache : (Tensor * Split) option = None
            fun work split ->
                let cached =
                    match cache with
                    | Some (key, f) when obj.ReferenceEquals(key, split.Images) -> f
                    | _ ->
                        cache |> Option.iter (fun (_, f) -> (f :> IDisposable).Dispose())
                        let f = cachedInputsIn work m 256 split
                        cache <- Some (split.Images, f)
                        f
                use _ = torch.no_grad()
                use f = cached.Images.``to``(device)
                use z = m.Head.forward(f)
                torch.nn.functional.softmax(z, 1L).cpu()

    /// The device the classifier's parameters are on.
    let deviceOf (m: Classifier) : torch.Device = Device.ofModule m.Head

    /// Mean "loss" (the config's loss) and "accuracy" over a split, in batches of 500 without gradients (call in
    /// evaluation mode): what validation measures each epoch. A split of features ([N, featureSize], from
    /// `cachedInputs`) goes through the head only.
    let measure (m: Classifier) (split: Split) : Map<string, float> =
        use _ = torch.no_grad()
        let device = deviceOf m
        let n = split.Count
        let onFeatures = split.Images.dim () = 2L
        let mutable lossSum, hits = 0.0, 0.0
        for start in 0L .. 500L .. n - 1L do
            use _ = torch.NewDisposeScope()
            let len = min 500L (n - start)
            let x = split.Images.narrow(0L, start, len).``to``(device)
            let y = split.Labels.narrow(0L, start, len).``to``(device)
            let z = if onFeatures then m.Head.forward(x) else logits m x
            lossSum <- lossSum + (lossOfLogits m.Config z y).ToDouble() * float len
            hits <- hits + (batchAccuracy z y).ToDouble() * float len
        if n = 0L then Map [ "loss", nan; "accuracy", nan ]
        else Map [ "loss", lossSum / float n; "accuracy", hits / float n ]

    /// The trained classifier as a FeatureNetwork: penultimate features and softmax probabilities of images
    /// [N, 1, 28, 28] in the normalisation it was trained on, on the images' device (computed on the classifier's).
    /// Put the classifier in evaluation mode first.
    let featureNetwork (description: string) (classes: string list) (m: Classifier) : FeatureNetwork =
        let onModel = Device.runOn (deviceOf m)
        { Description = description
          Classes = classes
          Features = fun x -> (use _ = torch.no_grad() in onModel (features m) x)
          Probabilities = fun x -> (use _ = torch.no_grad() in onModel (probabilities m) x) }

    // ---- settings --------------------------------------------------------------------------------------

    let private architectureName (a: ClassifierArchitecture) =
        match a with
        | Perceptron hidden -> "mlp:" + (hidden |> List.map string |> String.concat ",")
        | LeNet5 -> "lenet5"
        | FeatureLeNet -> "feature-lenet"
        | BatchNormCnn -> "bn-cnn"
        | PyramidSvm -> "pyramid-svm"
        | MobileNetV2Transfer -> "mobilenet-v2"

    let private parseArchitecture (text: string) =
        let t = text.Trim().ToLowerInvariant()
        match t with
        | "lenet5" -> LeNet5
        | "feature-lenet" -> FeatureLeNet
        | "bn-cnn" -> BatchNormCnn
        | "pyramid-svm" -> PyramidSvm
        | "mobilenet-v2" -> MobileNetV2Transfer
        | _ when t.StartsWith "mlp:" ->
            t.Substring(4).Split(',', StringSplitOptions.RemoveEmptyEntries)
            |> Array.map (fun s ->
                match Int32.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture) with
                | true, v -> v
                | _ -> Errors.invalidArg "architecture" "mlp:<width>,<width>... with integer widths" text)
            |> List.ofArray |> Perceptron
        | _ -> Errors.invalidArg "architecture" "one of mlp:<widths>, lenet5, feature-lenet, bn-cnn, pyramid-svm, mobilenet-v2" text

    /// The settings of a classifier, declared once: `--set`, run.json and model files use them.
    let settings : Setting<ClassifierConfig> list =
        [ Setting.create "architecture" "mlp:<widths>, lenet5, feature-lenet, bn-cnn, pyramid-svm or mobilenet-v2"
              architectureName parseArchitecture (fun c -> c.Architecture) (fun v c -> { c with Architecture = v })
          Setting.int "classes" "number of classes" (fun c -> c.Classes) (fun v c -> { c with Classes = v })
          Setting.float "dropout" "dropout probability before the last layer" (fun c -> c.Dropout) (fun v c -> { c with Dropout = v })
          Optim.setting "optimizer" "the optimiser" (fun c -> c.Optimizer) (fun v c -> { c with Optimizer = v })
          Setting.int "shift" "augmentation: random shifts of up to this many pixels (0: off)" (fun c -> c.Shift) (fun v c -> { c with Shift = v })
          Setting.bool "flip" "augmentation: left-right flips with probability 1/2" (fun c -> c.Flip) (fun v c -> { c with Flip = v })
          Setting.create "loss" (sprintf "what the classifier minimises: %s" (ClassificationLoss.all |> List.map (fun l -> l.Name) |> String.concat " or "))
              (fun (l: ClassificationLoss) -> l.Name) ClassificationLoss.parse (fun c -> c.Loss) (fun v c -> { c with Loss = v })
          Setting.int "lr-half-life" "steps over which the learning rate halves (0: constant)" (fun c -> c.LrHalfLife) (fun v c -> { c with LrHalfLife = v })
          Setting.text "weights" "mobilenet-v2 only: the torchvision ImageNet weights (torchvision's .pth, or safetensors)" (fun c -> c.Weights) (fun v c -> { c with Weights = v })
          MixedPrecision.setting (fun c -> c.Precision) (fun v c -> { c with Precision = v }) ]
