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
