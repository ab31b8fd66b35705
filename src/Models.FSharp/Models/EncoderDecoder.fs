namespace Generative

open TorchSharp

/// An encoder and a decoder network with the functions that carry images through them: what every autoencoder of the
/// library (fully connected, convolutional, denoising, variational) is made of. The variants differ only in the
/// networks they create and in how `Encode` and `Decode` shape tensors; training, reconstruction, device moves and
/// checkpoint names are shared here.
type EncoderDecoder =
    { /// Registered in checkpoints as "encoder".
      Encoder: Net
      /// Registered in checkpoints as "decoder".
      Decoder: Net
      /// Codes [N, code size] of images [N, ...] (flattening and shape checks included).
      Encode: Tensor -> Tensor
      /// Images [N, ...] of codes [N, code size].
      Decode: Tensor -> Tensor }

/// What every encoder–decoder model shares.
[<RequireQualifiedAccess>]
module EncoderDecoder =
    /// decode (encode x).
    let reconstruct (n: EncoderDecoder) (x: Tensor) : Tensor =
        use z = n.Encode x
        n.Decode z

    /// Moves both networks to a device; do it before `trainer` so the optimiser holds the moved parameters.
    let moveTo (device: torch.Device) (n: EncoderDecoder) : EncoderDecoder =
        n.Encoder.``to``(device) |> ignore
        n.Decoder.``to``(device) |> ignore
        n

    /// The networks as checkpoints name them.
    let modules (n: EncoderDecoder) : (string * torch.nn.Module) list =
        [ "encoder", n.Encoder :> torch.nn.Module; "decoder", n.Decoder :> torch.nn.Module ]

    /// A trainer with one optimiser over both networks; each step minimises the "loss" term of `lossOf network batch`
    /// (see `Trainer.minimizing`). In fp32 `network` is `n` itself. In a lower `precision` it is a working copy made by
    /// `rebuild` (another instance of the same networks, built with the global generator put back, so a seed draws the
    /// same numbers in either precision) whose linear and convolution layers compute in that precision, while `n`
    /// stays the fp32 master that the optimiser updates and checkpoints save (see `MixedPrecision.computeLayersCopy`).
    let trainer (precision: TrainingPrecision) (rebuild: unit -> EncoderDecoder) (optimizer: OptimizerSpec)
                (lossOf: EncoderDecoder -> Batch -> Map<string, Tensor>) (n: EncoderDecoder) : Trainer =
        let parameters = Seq.append (n.Encoder.parameters()) (n.Decoder.parameters()) |> Seq.toArray
        let passes, copies =
            match precision with
            | TrainingPrecision.Float32 -> n, []
            | lower ->
                let w = Device.keepingRandomState rebuild
                w, [ MixedPrecision.computeLayersCopy lower n.Encoder w.Encoder; MixedPrecision.computeLayersCopy lower n.Decoder w.Decoder ]
        MixedPrecision.minimizing copies (modules n) (Optim.create optimizer parameters) (lossOf passes)

    /// The named loss terms of reconstructing `target` from `input` ("loss": `loss` reduced by `reduction`); `input`
    /// differs from `target` when the model denoises.
    let reconstructionLoss (loss: ReconstructionLoss) (reduction: Reduction) (n: EncoderDecoder) (input: Tensor) (target: Tensor) : Map<string, Tensor> =
        use r = reconstruct n input
        Map [ "loss", Reconstruction.loss loss reduction r target ]

    /// A trainer whose every step reconstructs the batch's images, minimising `loss` reduced by `reduction` with one
    /// `optimizer` over both networks, in `precision` (see `trainer`).
    let reconstructionTrainer (precision: TrainingPrecision) (rebuild: unit -> EncoderDecoder) (loss: ReconstructionLoss)
                              (reduction: Reduction) (optimizer: OptimizerSpec) (n: EncoderDecoder) : Trainer =
        trainer precision rebuild optimizer (fun network batch -> reconstructionLoss loss reduction network batch.Inputs batch.Inputs) n

    /// The "loss", "reduction" and "optimizer" settings of a config trained by reconstruction, declared once for every
    /// variant: `get` reads the three fields of a config, `set` writes them.
    let trainingSettings (get: 'Config -> ReconstructionLoss * Reduction * OptimizerSpec)
                         (set: ReconstructionLoss * Reduction * OptimizerSpec -> 'Config -> 'Config) : Setting<'Config> list =
        let lossOf c = let l, _, _ = get c in l
        let reductionOf c = let _, r, _ = get c in r
        let optimizerOf c = let _, _, o = get c in o
        [ Reconstruction.setting "loss" lossOf (fun v c -> set (v, reductionOf c, optimizerOf c) c)
          Reconstruction.reductionSetting "reduction" reductionOf (fun v c -> set (lossOf c, v, optimizerOf c) c)
          Optim.setting "optimizer" "the optimiser of encoder and decoder" optimizerOf (fun v c -> set (lossOf c, reductionOf c, v) c) ]
