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
    /// cls-cnn (beyond the sources): two blocks of [Conv 3x3 BN ReLU] x2 + MaxPool 2 + Dropout(0.25) (32 then 64
    /// channels), Flatten, Dense 256 BN ReLU (the features), Dropout, Dense(classes).
    | BatchNormCnn

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
      Flip: bool }

/// A created classifier: `Features` maps images to the penultimate representation, `Head` maps that to logits.
type Classifier = { Config: ClassifierConfig; Features: Net; Head: Net }

/// Image classifiers (section order: config, validate, create, forward, loss, step).
[<RequireQualifiedAccess>]
module Classifier =
    let private baseline =
        { Architecture = Perceptron [ 128 ]; Classes = 10; Dropout = 0.0; Optimizer = Optim.adam 1e-3; Shift = 0; Flip = false }

    /// CLS-MLP (seed-models.md): Flatten -> Dense 128 ReLU -> Dense 10, Adam (Keras defaults: lr 1e-3), sparse
    /// categorical cross-entropy.
    let mlp = baseline

    /// CLS-LENET: LeNet-5 with tanh and max pooling, Adam 1e-3, cross-entropy.
    let leNet5 = { baseline with Architecture = LeNet5 }

    /// The feature classifier GAN evaluation uses (see FeatureNets): ReLU LeNet, dropout 0.5, Adam 1e-3.
    let featureLeNet = { baseline with Architecture = FeatureLeNet; Dropout = 0.5 }

    /// cls-cnn: batch-normalised CNN with dropout 0.5, Adam 1e-3, random shifts of up to 2 pixels and flips.
    let batchNormCnn = { baseline with Architecture = BatchNormCnn; Dropout = 0.5; Shift = 2; Flip = true }

    /// Throws ArgumentException naming the field when the config cannot be built.
    let validate (c: ClassifierConfig) =
        match c.Architecture with
        | Perceptron hidden when hidden |> List.exists (fun w -> w <= 0) ->
            Errors.invalidArg "Architecture" "positive hidden widths" (sprintf "%A" hidden)
        | _ -> ()
        if c.Classes < 2 then Errors.invalidArg "Classes" "at least 2 classes" c.Classes
        if not (c.Dropout >= 0.0 && c.Dropout < 1.0) then Errors.invalidArg "Dropout" "a probability in [0, 1)" c.Dropout
        if c.Shift < 0 || c.Shift > 13 then Errors.invalidArg "Shift" "0 to 13 pixels" c.Shift
        Optim.validate c.Optimizer

    let private conv (inputs: int) (outputs: int) (kernel: int) (padding: int) : Net =
        torch.nn.Conv2d(int64 inputs, int64 outputs, int64 kernel, padding = int64 padding) :> Net

    let private maxPool () : Net = torch.nn.MaxPool2d(2L, Nullable 2L) :> Net
    let private batchNorm2d (channels: int) : Net = torch.nn.BatchNorm2d(int64 channels) :> Net
    let private batchNorm1d (features: int) : Net = torch.nn.BatchNorm1d(int64 features) :> Net

    /// Size of the penultimate representation (what `features` returns per image).
    let featureSize (c: ClassifierConfig) =
        match c.Architecture with
        | Perceptron hidden -> List.last (784 :: hidden)
        | LeNet5 -> 84
        | FeatureLeNet -> 128
        | BatchNormCnn -> 256

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
                let block inputs outputs =
                    [ conv inputs outputs 3 1; batchNorm2d outputs; Layers.relu ()
                      conv outputs outputs 3 1; batchNorm2d outputs; Layers.relu ()
                      maxPool (); Layers.dropout 0.25 ]
                block 1 32 @ block 32 64 @ [ Layers.flatten (); Layers.linear (64 * 7 * 7) 256; batchNorm1d 256; Layers.relu () ]
                |> Layers.sequence
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

    /// Named terms of classifying `images` with `labels`: "loss" = mean cross-entropy -log softmax(z)_y (the
    /// sparse categorical cross-entropy of the sources) and "accuracy" (not differentiated, tracked only).
    let loss (m: Classifier) (images: Tensor) (labels: Tensor) : Map<string, Tensor> =
        let z = logits m images
        Map [ "loss", torch.nn.functional.cross_entropy(z, labels); "accuracy", batchAccuracy z labels ]

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
                    use half = torch.tensor(0.5f)
                    let mask = torch.rand(n).lt(half).``to``(images.device)
                    Transforms.horizontalFlipWhere mask shifted
            result.MoveToOuterDisposeScope()

    /// A trainer: one optimiser over both networks; each step augments the batch (if configured) and minimises
    /// the cross-entropy of its labels. Terms: "loss", "accuracy" (of the augmented training batch).
    let trainer (m: Classifier) : Trainer =
        let parameters = Seq.append (m.Features.parameters()) (m.Head.parameters()) |> Seq.toArray
        let optimizer = Optim.create m.Config.Optimizer parameters
        { Modules = modules m
          Optimizers = [ "optimizer", optimizer ]
          Step =
            fun batch ->
                optimizer.zero_grad()
                let x = augment m.Config batch.Images
                let terms = loss m x batch.Labels
                terms.["loss"].backward()
                optimizer.step() |> ignore
                terms |> Map.map (fun _ t -> t.ToDouble()) }

    /// Class probabilities of a whole split in batches, without gradients, in evaluation mode: [N, classes] on the CPU.
    let probabilitiesOf (m: Classifier) (batchSize: int) (images: Tensor) (device: torch.Device) : Tensor =
        use _ = torch.no_grad()
        let n = images.shape.[0]
        let parts =
            [ for start in 0L .. int64 batchSize .. n - 1L do
                use _ = torch.NewDisposeScope()
                let x = images.narrow(0L, start, min (int64 batchSize) (n - start)).``to``(device)
                yield (probabilities m x).cpu().MoveToOuterDisposeScope() ]
        if parts.IsEmpty then torch.zeros(0L, int64 m.Config.Classes)
        else
            let all = torch.cat(parts |> List.toArray, 0L)
            for p in parts do p.Dispose()
            all

    /// The device the classifier's parameters are on.
    let deviceOf (m: Classifier) : torch.Device = (m.Head.parameters() |> Seq.head).device

    /// Mean "loss" (cross-entropy) and "accuracy" over a split, in batches of 500 without gradients (call in
    /// evaluation mode): what validation measures each epoch.
    let measure (m: Classifier) (split: Split) : Map<string, float> =
        use _ = torch.no_grad()
        let device = deviceOf m
        let n = split.Count
        let mutable lossSum, hits = 0.0, 0.0
        for start in 0L .. 500L .. n - 1L do
            use _ = torch.NewDisposeScope()
            let len = min 500L (n - start)
            let x = split.Images.narrow(0L, start, len).``to``(device)
            let y = split.Labels.narrow(0L, start, len).``to``(device)
            let z = logits m x
            lossSum <- lossSum + torch.nn.functional.cross_entropy(z, y).ToDouble() * float len
            hits <- hits + (batchAccuracy z y).ToDouble() * float len
        if n = 0L then Map [ "loss", nan; "accuracy", nan ]
        else Map [ "loss", lossSum / float n; "accuracy", hits / float n ]

    /// The trained classifier as a FeatureNetwork: penultimate features and softmax probabilities of images
    /// [N, 1, 28, 28] in the normalisation it was trained on. Put the classifier in evaluation mode first.
    let featureNetwork (description: string) (classes: string list) (m: Classifier) : FeatureNetwork =
        { Description = description
          Classes = classes
          Features = fun x -> (use _ = torch.no_grad() in features m x)
          Probabilities = fun x -> (use _ = torch.no_grad() in probabilities m x) }

    // ---- settings --------------------------------------------------------------------------------------

    let private architectureName (a: ClassifierArchitecture) =
        match a with
        | Perceptron hidden -> "mlp:" + (hidden |> List.map string |> String.concat ",")
        | LeNet5 -> "lenet5"
        | FeatureLeNet -> "feature-lenet"
        | BatchNormCnn -> "bn-cnn"

    let private parseArchitecture (text: string) =
        let t = text.Trim().ToLowerInvariant()
        match t with
        | "lenet5" -> LeNet5
        | "feature-lenet" -> FeatureLeNet
        | "bn-cnn" -> BatchNormCnn
        | _ when t.StartsWith "mlp:" ->
            t.Substring(4).Split(',', StringSplitOptions.RemoveEmptyEntries)
            |> Array.map (fun s ->
                match Int32.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture) with
                | true, v -> v
                | _ -> Errors.invalidArg "architecture" "mlp:<width>,<width>... with integer widths" text)
            |> List.ofArray |> Perceptron
        | _ -> Errors.invalidArg "architecture" "one of mlp:<widths>, lenet5, feature-lenet, bn-cnn" text

    let private num (v: float) = v.ToString("R", CultureInfo.InvariantCulture)

    /// The config as settings (key, value): what manifests store and the CLI accepts.
    let toSettings (c: ClassifierConfig) =
        [ "architecture", architectureName c.Architecture
          "classes", string c.Classes
          "dropout", num c.Dropout
          "optimizer", Optim.describe c.Optimizer
          "shift", string c.Shift
          "flip", (if c.Flip then "true" else "false") ]

    /// A config from settings over `baseline`: keys not given keep the baseline's values.
    let ofSettings (baseline: ClassifierConfig) (settings: (string * string) list) : ClassifierConfig =
        let parseInt key (v: string) =
            match Int32.TryParse(v.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture) with
            | true, x -> x
            | _ -> Errors.invalidArg key "an integer" v
        let parseFloat key (v: string) =
            match Double.TryParse(v.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
            | true, x -> x
            | _ -> Errors.invalidArg key "a number" v
        settings
        |> List.fold (fun c (k, v) ->
            match k with
            | "architecture" -> { c with Architecture = parseArchitecture v }
            | "classes" -> { c with Classes = parseInt k v }
            | "dropout" -> { c with Dropout = parseFloat k v }
            | "optimizer" -> { c with Optimizer = Optim.parse v }
            | "shift" -> { c with Shift = parseInt k v }
            | "flip" ->
                match v.Trim().ToLowerInvariant() with
                | "true" | "yes" | "1" -> { c with Flip = true }
                | "false" | "no" | "0" -> { c with Flip = false }
                | _ -> Errors.invalidArg k "true or false" v
            | _ -> c) baseline
