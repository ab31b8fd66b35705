namespace Generative

open System
open System.Globalization
open TorchSharp

/// A fully connected autoencoder: encoder widths down to a code, the mirror image back up.
type AutoencoderConfig =
    { /// Shape of one example, e.g. [1; 28; 28]; it is flattened for the linear layers.
      InputShape: int list
      /// Widths of the encoder's layers after the input; the last is the code size. AE-LIN: [128].
      EncoderWidths: int list
      /// Between hidden layers.
      HiddenActivation: Activation
      /// After the encoder's last layer (on the code).
      CodeActivation: Activation
      /// After the decoder's last layer; match it to the data's range (ReLU/Sigmoid for [0,1], Tanh for [-1,1]).
      OutputActivation: Activation
      Loss: ReconstructionLoss
      Reduction: Reduction
      Optimizer: OptimizerSpec
      /// The number format of the training passes: BFloat16 runs the linear layers in bfloat16 on working copies
      /// (see `MixedPrecision.computeLayersCopy`); weights, optimiser, the loss and everything saved stay fp32.
      Precision: TrainingPrecision }

/// A created autoencoder: its networks and the config they came from.
type Autoencoder = { Config: AutoencoderConfig; Network: EncoderDecoder }

/// Fully connected autoencoders (section order: config, validate, create, forward, step; the loss is `EncoderDecoder.reconstructionLoss`).
[<RequireQualifiedAccess>]
module Autoencoder =
    /// AE-LIN (docs/models.md): Linear(784,128) -> ReLU -> Linear(128,784) -> ReLU, MSE, Adam 1e-3, [0,1] input.
    let linear =
        { InputShape = [ 1; 28; 28 ]
          EncoderWidths = [ 128 ]
          HiddenActivation = Relu
          CodeActivation = Relu
          OutputActivation = Relu
          Loss = Reconstruction.mse
          Reduction = ElementMean
          Optimizer = Optim.adam 1e-3
          Precision = TrainingPrecision.Float32 }

    /// AE-DEEP (docs/models.md): encoder 784-128-64-36-18-9 and decoder 9-18-36-64-128-784 with ReLU between layers,
    /// a linear 9-d code, Sigmoid output, MSE (mean), [0,1] input, batch 64 and 25 epochs in the source. The source's
    /// optimiser, Adam with lr 0.1 and weight decay 1e-6, does not train this network (see `deepSourceOptimizer`), so
    /// the default is Adam with lr 1e-3 and the source's weight decay 1e-6.
    let deep =
        { InputShape = [ 1; 28; 28 ]
          EncoderWidths = [ 128; 64; 36; 18; 9 ]
          HiddenActivation = Relu
          CodeActivation = Identity
          OutputActivation = Sigmoid
          Loss = Reconstruction.mse
          Reduction = ElementMean
          Optimizer = Adam(1e-3, 0.9, 0.999, 1e-6)
          Precision = TrainingPrecision.Float32 }

    /// The AE-DEEP source's optimiser, Adam(lr 0.1, weight decay 1e-6), kept selectable: `{ deep with Optimizer =
    /// deepSourceOptimizer }`, or on the command line `--set optimizer=adam:lr=0.1,wd=1e-6`. It does not train: after one
    /// MNIST epoch (batch 64) the test MSE per pixel was 0.19, worse than always drawing the mean training image (0.067),
    /// against 0.047 with the default lr 1e-3.
    let deepSourceOptimizer = Adam(0.1, 0.9, 0.999, 1e-6)

    /// AE-3D (docs/models.md): encoder 784-128-64-12-3 and decoder 3-12-64-128-784 with ReLU between layers, a linear
    /// 3-d code (plotted as a 3-D scatter), Tanh output, MSE summed over pixels and averaged over the batch, Adam 1e-3;
    /// the source trains batch 128 for 100 epochs on mean/std-normalised input. Its catalog entry ("ae-3d") defaults to
    /// [-1,1] data, i.e. mean/std normalisation with mean = std = 0.5: with MNIST's mean/std (0.1307, 0.3081), 13.8% of
    /// the training pixels (72% of the non-blank ones) lie above 1, out of Tanh's reach, and reconstructions come out
    /// capped at 44% grey (`--normalization mean-std` still selects it).
    let threeD =
        { InputShape = [ 1; 28; 28 ]
          EncoderWidths = [ 128; 64; 12; 3 ]
          HiddenActivation = Relu
          CodeActivation = Identity
          OutputActivation = Tanh
          Loss = Reconstruction.mse
          Reduction = SumPerSample
          Optimizer = Optim.adam 1e-3
          Precision = TrainingPrecision.Float32 }

    /// Number of inputs once an example is flattened.
    let inputSize (c: AutoencoderConfig) = c.InputShape |> List.fold (*) 1

    /// Throws ArgumentException naming the field when the config cannot be built.
    let validate (c: AutoencoderConfig) =
        if c.InputShape.IsEmpty || c.InputShape |> List.exists (fun d -> d <= 0) then
            Errors.invalidArg "input-shape" "positive dimensions" (sprintf "%A" c.InputShape)
        if c.EncoderWidths.IsEmpty || c.EncoderWidths |> List.exists (fun d -> d <= 0) then
            Errors.invalidArg "encoder-widths" "at least one positive width" (sprintf "%A" c.EncoderWidths)
        if c.Loss.NeedsUnitInterval && c.OutputActivation <> Sigmoid then
            Errors.invalidArg "output-activation" "sigmoid with the BCE loss (it needs outputs in [0,1])" (Activation.name c.OutputActivation)
        Optim.validate c.Optimizer

    /// The encoder and decoder of a config (initialised from libtorch's global generator: seed it first). Codes are
    /// [N, code size]; images [N, ...InputShape] are flattened for the linear layers.
    let network (c: AutoencoderConfig) : EncoderDecoder =
        validate c
        let widths = inputSize c :: c.EncoderWidths
        let encoder = Mlp.create widths c.HiddenActivation c.CodeActivation
        let decoder = Mlp.create (List.rev widths) c.HiddenActivation c.OutputActivation
        let imageShape = c.InputShape |> List.map int64 |> List.toArray
        { Encoder = encoder
          Decoder = decoder
          Encode = fun x -> encoder.forward(x.flatten(1L))
          Decode =
            fun z ->
                use flat = decoder.forward(z)
                flat.reshape(Array.append [| z.shape.[0] |] imageShape) }

    /// Creates the autoencoder (initialised from libtorch's global generator: seed it first).
    let create (c: AutoencoderConfig) : Autoencoder = { Config = c; Network = network c }

    /// Moves both networks to a device; do it before `trainer` so the optimiser holds the moved parameters.
    let moveTo (device: torch.Device) (m: Autoencoder) = EncoderDecoder.moveTo device m.Network |> ignore; m

    /// Codes of a batch [N, ...InputShape] -> [N, code size].
    let encode (m: Autoencoder) (x: Tensor) : Tensor = m.Network.Encode x

    /// Images of codes [N, code size] -> [N, ...InputShape].
    let decode (m: Autoencoder) (z: Tensor) : Tensor = m.Network.Decode z

    /// decode (encode x).
    let reconstruct (m: Autoencoder) (x: Tensor) : Tensor = EncoderDecoder.reconstruct m.Network x

    /// A trainer: one optimiser over encoder and decoder; each step reconstructs the batch's images.
    let trainer (m: Autoencoder) : Trainer =
        EncoderDecoder.reconstructionTrainer m.Config.Precision (fun () -> network m.Config) m.Config.Loss m.Config.Reduction
            m.Config.Optimizer m.Network

    /// The settings of a fully connected autoencoder, declared once: `--set`, run.json and model files use them.
    let settings : Setting<AutoencoderConfig> list =
        [ Setting.ints "input-shape" "shape of one example, e.g. 1,28,28 (flattened for the linear layers)"
              (fun c -> c.InputShape) (fun v c -> { c with InputShape = v })
          Setting.ints "encoder-widths" "widths of the encoder's layers after the input; the last is the code size"
              (fun c -> c.EncoderWidths) (fun v c -> { c with EncoderWidths = v })
          Activation.setting "hidden-activation" "between hidden layers"
              (fun c -> c.HiddenActivation) (fun v c -> { c with HiddenActivation = v })
          Activation.setting "code-activation" "after the encoder's last layer"
              (fun c -> c.CodeActivation) (fun v c -> { c with CodeActivation = v })
          Activation.setting "output-activation" "after the decoder's last layer (match the data's range)"
              (fun c -> c.OutputActivation) (fun v c -> { c with OutputActivation = v })
          yield! EncoderDecoder.trainingSettings
                     (fun c -> c.Loss, c.Reduction, c.Optimizer)
                     (fun (loss, reduction, optimizer) c -> { c with Loss = loss; Reduction = reduction; Optimizer = optimizer })
          MixedPrecision.setting (fun c -> c.Precision) (fun v c -> { c with Precision = v }) ]
