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

    /// A trainer with one optimiser over both networks; each step minimises the "loss" term of `lossOf batch`
    /// (see `Trainer.minimizing`).
    let trainer (optimizer: OptimizerSpec) (lossOf: Batch -> Map<string, Tensor>) (n: EncoderDecoder) : Trainer =
        let parameters = Seq.append (n.Encoder.parameters()) (n.Decoder.parameters()) |> Seq.toArray
        Trainer.minimizing (modules n) (Optim.create optimizer parameters) lossOf

    /// The named loss terms of reconstructing `target` from `input` ("loss": `loss` reduced by `reduction`); `input`
    /// differs from `target` when the model denoises.
    let reconstructionLoss (loss: ReconstructionLoss) (reduction: Reduction) (n: EncoderDecoder) (input: Tensor) (target: Tensor) : Map<string, Tensor> =
        use r = reconstruct n input
        Map [ "loss", Reconstruction.loss loss reduction r target ]

    /// A trainer whose every step reconstructs the batch's images, minimising `loss` reduced by `reduction` with one
    /// `optimizer` over both networks.
    let reconstructionTrainer (loss: ReconstructionLoss) (reduction: Reduction) (optimizer: OptimizerSpec) (n: EncoderDecoder) : Trainer =
        trainer optimizer (fun batch -> reconstructionLoss loss reduction n batch.Inputs batch.Inputs) n

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
