namespace Generative

open System
open System.Globalization
open TorchSharp

/// A convolutional autoencoder for 28x28 images (AE-CONV): strided convolutions and max pooling down to a
/// [CodeChannels, 2, 2] code, transposed convolutions back up.
type ConvAutoencoderConfig =
    { /// Channels of the images (1 for MNIST and Fashion-MNIST).
      ImageChannels: int
      /// Channels after the first convolution (16 in the source).
      HiddenChannels: int
      /// Channels of the code, which is [CodeChannels, 2, 2] (8 in the source, so a 32-d code).
      CodeChannels: int
      /// After the decoder's last layer; match it to the data's range (Tanh for [-1,1], Sigmoid for [0,1]).
      OutputActivation: Activation
      Loss: ReconstructionLoss
      Reduction: Reduction
      Optimizer: OptimizerSpec
      /// The number format of the training passes: BFloat16 runs the linear and convolution layers in bfloat16 on
      /// working copies (see `MixedPrecision.computeLayersCopy`); weights, optimiser, the loss and everything saved
      /// stay fp32.
      Precision: TrainingPrecision }

/// A created convolutional autoencoder: its networks and the config they came from.
type ConvAutoencoder = { Config: ConvAutoencoderConfig; Network: EncoderDecoder }

/// Convolutional autoencoders (section order: config, validate, create, step; the loss is `EncoderDecoder.reconstructionLoss`).
[<RequireQualifiedAccess>]
module ConvAutoencoder =
    /// AE-CONV (docs/models.md): encoder Conv2d(1,16,3,s3,p1) ReLU MaxPool(2,s2) Conv2d(16,8,3,s2,p1) ReLU
    /// MaxPool(2,s1); decoder ConvT(8,16,3,s2) ReLU ConvT(16,8,5,s3,p1) ReLU ConvT(8,1,2,s2,p1) Tanh; MSE summed over
    /// pixels and averaged over the batch, Adam lr 1e-3 with weight decay 1e-5 (40 epochs in the source).
    let source =
        { ImageChannels = 1
          HiddenChannels = 16
          CodeChannels = 8
          OutputActivation = Tanh
          Loss = Reconstruction.mse
          Reduction = SumPerSample
          Optimizer = Adam(1e-3, 0.9, 0.999, 1e-5)
          Precision = TrainingPrecision.Float32 }

    /// The image side the layer sizes are made for: 28 -> 10 -> 5 -> 3 -> 2 down, 2 -> 5 -> 15 -> 28 up.
    let imageSide = 28

    /// The shape of one image the network takes: [ImageChannels; 28; 28].
    let inputShape (c: ConvAutoencoderConfig) = [ c.ImageChannels; imageSide; imageSide ]

    /// The code's side: codes are [CodeChannels, codeSide, codeSide].
    let codeSide = 2

    /// Length of a flattened code.
    let codeSize (c: ConvAutoencoderConfig) = c.CodeChannels * codeSide * codeSide

    /// Throws ArgumentException naming the field when the config cannot be built.
    let validate (c: ConvAutoencoderConfig) =
        if c.ImageChannels <= 0 then Errors.invalidArg "image-channels" "a positive channel count" c.ImageChannels
        if c.HiddenChannels <= 0 then Errors.invalidArg "hidden-channels" "a positive channel count" c.HiddenChannels
        if c.CodeChannels <= 0 then Errors.invalidArg "code-channels" "a positive channel count" c.CodeChannels
        if c.Loss.NeedsUnitInterval && c.OutputActivation <> Sigmoid then
            Errors.invalidArg "output-activation" "sigmoid with the BCE loss (it needs outputs in [0,1])" (Activation.name c.OutputActivation)
        Optim.validate c.Optimizer

    /// The encoder and decoder of a config (initialised from libtorch's global generator: seed it first). Codes are
    /// flattened [N, codeSize]; images are [N, ImageChannels, 28, 28], and others are rejected naming the size needed.
    let network (c: ConvAutoencoderConfig) : EncoderDecoder =
        validate c
        let h, k = c.HiddenChannels, c.CodeChannels
        let encoder =
            Conv.conv2d c.ImageChannels h 3 3 1 >-> Layers.relu () >-> Conv.maxPool2d 2 2
            >-> Conv.conv2d h k 3 2 1 >-> Layers.relu () >-> Conv.maxPool2d 2 1
        // Channels-last from the first convolution on, and from the code on in the decoder: the same numbers, faster
        // (docs/torchsharp.md, "Channels-last convolutions").
        ChannelsLast.fromFirstConvolution encoder
        let decoder =
            Conv.convTranspose2d k h 3 2 0 >-> Layers.relu ()
            >-> Conv.convTranspose2d h k 5 3 1 >-> Layers.relu ()
            >-> Conv.convTranspose2d k c.ImageChannels 2 2 1 >-> Activation.layer c.OutputActivation
        { Encoder = encoder
          Decoder = decoder
          Encode =
            fun x ->
                let s = x.shape
                if s.Length <> 4 || s.[1] <> int64 c.ImageChannels || s.[2] <> int64 imageSide || s.[3] <> int64 imageSide then
                    Errors.invalidArg "images" (sprintf "a [N,%d,%d,%d] batch (the layer sizes are made for %dx%d images)" c.ImageChannels imageSide imageSide imageSide imageSide) (sprintf "%A" s)
                use code = encoder.forward(x)
                ChannelsLast.flatten code
          Decode =
            fun z ->
                if z.dim () <> 2L || z.shape.[1] <> int64 (codeSize c) then
                    Errors.invalidArg "codes" (sprintf "a [N,%d] batch of codes" (codeSize c)) (sprintf "%A" z.shape)
                use grid = z.reshape(z.shape.[0], int64 k, int64 codeSide, int64 codeSide)
                use packed = ChannelsLast.layout grid
                decoder.forward(packed) }

    /// Creates the autoencoder (initialised from libtorch's global generator: seed it first).
    let create (c: ConvAutoencoderConfig) : ConvAutoencoder = { Config = c; Network = network c }

    /// Moves both networks to a device; do it before `trainer` so the optimiser holds the moved parameters.
    let moveTo (device: torch.Device) (m: ConvAutoencoder) = EncoderDecoder.moveTo device m.Network |> ignore; m

    /// A trainer: one optimiser over encoder and decoder; each step reconstructs the batch's images. Encoding,
    /// decoding, reconstructing and the loss are the network's (`m.Network`, see `EncoderDecoder`).
    let trainer (m: ConvAutoencoder) : Trainer =
        EncoderDecoder.reconstructionTrainer m.Config.Precision (fun () -> network m.Config) m.Config.Loss m.Config.Reduction
            m.Config.Optimizer m.Network

    /// The settings of the convolutional autoencoder, declared once: `--set`, run.json and model files use them.
    let settings : Setting<ConvAutoencoderConfig> list =
        [ Setting.int "image-channels" "channels of the images (1 for MNIST)"
              (fun c -> c.ImageChannels) (fun v c -> { c with ImageChannels = v })
          Setting.int "hidden-channels" "channels after the first convolution"
              (fun c -> c.HiddenChannels) (fun v c -> { c with HiddenChannels = v })
          Setting.int "code-channels" "channels of the [channels, 2, 2] code"
              (fun c -> c.CodeChannels) (fun v c -> { c with CodeChannels = v })
          Activation.setting "output-activation" "after the decoder's last layer (match the data's range)"
              (fun c -> c.OutputActivation) (fun v c -> { c with OutputActivation = v })
          yield! EncoderDecoder.trainingSettings
                     (fun c -> c.Loss, c.Reduction, c.Optimizer)
                     (fun (loss, reduction, optimizer) c -> { c with Loss = loss; Reduction = reduction; Optimizer = optimizer })
          MixedPrecision.setting (fun c -> c.Precision) (fun v c -> { c with Precision = v }) ]
