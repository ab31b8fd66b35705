namespace Generative

open System
open System.Globalization
open TorchSharp

/// How a denoising autoencoder's input is corrupted (Vincent et al. 2008, "Extracting and composing robust features
/// with denoising autoencoders"): the network sees the corrupted image and is trained to output the clean one.
type Corruption =
    /// x + ε with ε ~ N(0, std²) per element, in the data's normalised units.
    | GaussianNoise of std: float
    /// Each element set to 0 independently with this probability (0 is a blank pixel of [0,1] data, the
    /// denoising autoencoder's default normalisation).
    | MaskingNoise of probability: float

/// The network a denoising autoencoder trains: one of the autoencoders of this library.
type DenoiserNetwork =
    /// A fully connected autoencoder (AE-LIN's by default).
    | FullyConnected of AutoencoderConfig
    /// The convolutional autoencoder (AE-CONV).
    | Convolutional of ConvAutoencoderConfig

/// A denoising autoencoder (AE-DENOISE): a network and the corruption applied to its input while training.
type DenoisingConfig = { Network: DenoiserNetwork; Corruption: Corruption }

/// A created denoising autoencoder: the network of its config and the config.
type DenoisingAutoencoder = { Config: DenoisingConfig; Network: EncoderDecoder }

/// Corrupting inputs (training draws from the global generator, whose state checkpoints save, so resumed runs draw the
/// same noise).
[<RequireQualifiedAccess>]
module Corruption =
    /// Throws ArgumentException naming the bad value.
    let validate (c: Corruption) =
        match c with
        | GaussianNoise std -> if not (std >= 0.0) || Double.IsInfinity std then Errors.invalidArg "std" "a finite std >= 0" std
        | MaskingNoise p -> if not (p >= 0.0 && p < 1.0) then Errors.invalidArg "probability" "a probability in [0, 1)" p

    /// A corrupted copy of `x` (same shape and device) with noise from `source`; `x` is left as it is.
    let apply (source: RandomSource) (c: Corruption) (x: Tensor) : Tensor =
        validate c
        match c with
        | GaussianNoise std -> Transforms.gaussianNoise std source x
        | MaskingNoise p -> Transforms.maskingNoise p source x

    /// "gaussian:0.5" | "masking:0.3".
    let name (c: Corruption) =
        let num (v: float) = v.ToString("R", CultureInfo.InvariantCulture)
        match c with
        | GaussianNoise std -> "gaussian:" + num std
        | MaskingNoise p -> "masking:" + num p

    /// Inverse of `name`.
    let parse (text: string) : Corruption =
        let parts = text.Trim().ToLowerInvariant().Split(':')
        let value () =
            match parts with
            | [| _; v |] ->
                match Double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, x -> x
                | _ -> Errors.invalidArg "noise" "gaussian:<std> or masking:<probability>" text
            | _ -> Errors.invalidArg "noise" "gaussian:<std> or masking:<probability>" text
        let c =
            match parts.[0] with
            | "gaussian" -> GaussianNoise(value ())
            | "masking" -> MaskingNoise(value ())
            | _ -> Errors.invalidArg "noise" "gaussian:<std> or masking:<probability>" text
        validate c
        c

/// Denoising autoencoders (section order: config, validate, create, forward, loss, step).
[<RequireQualifiedAccess>]
module DenoisingAutoencoder =
    /// AE-DENOISE: AE-LIN's network (784-128-784, ReLU, MSE, Adam 1e-3) on [0,1] images with Gaussian noise of std 0.5
    /// on the input and the clean image as the target. AE-LIN rather than AE-DEEP because its 128-d code keeps the
    /// strokes: AE-DEEP's 9-d code gives blurred digit prototypes whatever the noise (`network=deep` selects it).
    let defaults = { Network = FullyConnected Autoencoder.linear; Corruption = GaussianNoise 0.5 }

    /// Throws ArgumentException naming the bad field.
    let validate (c: DenoisingConfig) =
        Corruption.validate c.Corruption
        match c.Network with
        | FullyConnected a -> Autoencoder.validate a
        | Convolutional a -> ConvAutoencoder.validate a

    /// The reconstruction loss, its reduction and the optimiser of the network's config.
    let private training (n: DenoiserNetwork) =
        match n with
        | FullyConnected a -> a.Loss, a.Reduction, a.Optimizer
        | Convolutional a -> a.Loss, a.Reduction, a.Optimizer

    /// The number format a config trains in (its network's).
    let precision (c: DenoisingConfig) : TrainingPrecision =
        match c.Network with
        | FullyConnected a -> a.Precision
        | Convolutional a -> a.Precision

    let private withPrecision (p: TrainingPrecision) (n: DenoiserNetwork) =
        match n with
        | FullyConnected a -> FullyConnected { a with Precision = p }
        | Convolutional a -> Convolutional { a with Precision = p }

    /// Creates the network (initialised from libtorch's global generator: seed it first).
    let create (c: DenoisingConfig) : DenoisingAutoencoder =
        validate c
        let network =
            match c.Network with
            | FullyConnected a -> Autoencoder.network a
            | Convolutional a -> ConvAutoencoder.network a
        { Config = c; Network = network }

    /// Moves the network to a device; do it before `trainer`.
    let moveTo (device: torch.Device) (m: DenoisingAutoencoder) = EncoderDecoder.moveTo device m.Network |> ignore; m

    /// The network's output for `x`: a denoised image when `x` is noisy. Encoding and decoding are the network's
    /// (`m.Network`, see `EncoderDecoder`).
    let reconstruct (m: DenoisingAutoencoder) (x: Tensor) : Tensor = EncoderDecoder.reconstruct m.Network x

    /// The named loss terms of denoising the already corrupted `noisy` towards `clean` ("loss").
    let loss (m: DenoisingAutoencoder) (noisy: Tensor) (clean: Tensor) : Map<string, Tensor> =
        let kind, reduction, _ = training m.Config.Network
        EncoderDecoder.reconstructionLoss kind reduction m.Network noisy clean

    /// A trainer: each step corrupts the batch (fresh noise from the global generator) and reconstructs the clean images.
    let trainer (m: DenoisingAutoencoder) : Trainer =
        let _, _, optimizer = training m.Config.Network
        EncoderDecoder.trainer (precision m.Config) (fun () -> (create m.Config).Network) optimizer (fun network batch ->
            use noisy = Corruption.apply GlobalGenerator m.Config.Corruption batch.Inputs
            loss { m with Network = network } noisy batch.Inputs) m.Network

    /// The name of a network preset: "linear" (AE-LIN's), "deep" (AE-DEEP's) or "conv" (AE-CONV's).
    let networkName (n: DenoiserNetwork) =
        match n with
        | FullyConnected a when a.EncoderWidths = Autoencoder.linear.EncoderWidths -> "linear"
        | FullyConnected _ -> "deep"
        | Convolutional _ -> "conv"

    /// The network preset of a name (inverse of `networkName`).
    let network (name: string) : DenoiserNetwork =
        match name.Trim().ToLowerInvariant() with
        | "deep" -> FullyConnected Autoencoder.deep
        | "linear" -> FullyConnected Autoencoder.linear
        | "conv" -> Convolutional ConvAutoencoder.source
        | _ -> Errors.invalidArg "network" "deep, linear or conv" name

    let private optimizerOf (n: DenoiserNetwork) = let _, _, optimizer = training n in optimizer

    let private withOptimizer (o: OptimizerSpec) (n: DenoiserNetwork) =
        match n with
        | FullyConnected a -> FullyConnected { a with Optimizer = o }
        | Convolutional a -> Convolutional { a with Optimizer = o }

    /// The settings of a denoising autoencoder: "network" picks an architecture preset (first, so "optimizer" then
    /// replaces the chosen preset's optimiser), "noise" the corruption. The network's other settings are its preset's.
    let settings : Setting<DenoisingConfig> list =
        [ Setting.create "network" "the architecture preset: linear (AE-LIN), deep (AE-DEEP) or conv (AE-CONV)"
              networkName network (fun c -> c.Network) (fun v c -> { c with Network = v })
          Setting.create "noise" "the corruption: gaussian:<std> or masking:<probability>"
              Corruption.name Corruption.parse (fun c -> c.Corruption) (fun v c -> { c with Corruption = v })
          Optim.setting "optimizer" "the optimiser of encoder and decoder"
              (fun c -> optimizerOf c.Network) (fun v c -> { c with Network = withOptimizer v c.Network })
          MixedPrecision.setting precision (fun v c -> { c with Network = withPrecision v c.Network }) ]
