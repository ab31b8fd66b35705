namespace Generative

open System.Collections.Generic
open TorchSharp

/// The channels-last memory layout ([N, C, H, W] tensors stored as N, H, W, C) for convolutional networks. libtorch's
/// channels-last convolutions, batch norm and max pooling are faster on the CPU than its channels-first ones (max
/// pooling about ten times; docs/torchsharp.md, "Channels-last convolutions"). Only the memory layout changes: shapes,
/// values, parameter layouts and checkpoints stay as they are.
[<RequireQualifiedAccess>]
module ChannelsLast =
    /// True for a 4-D tensor of more than one channel whose channels are innermost in memory.
    let isLayout (t: torch.Tensor) : bool = t.dim() = 4L && t.shape.[1] > 1L && t.stride(1) = 1L

    /// The same values, laid out channels-last (4-D tensors).
    let layout (t: torch.Tensor) : torch.Tensor =
        use nhwc = t.permute(0L, 2L, 3L, 1L)
        use packed = nhwc.contiguous()
        packed.permute(0L, 3L, 1L, 2L)

    /// Flattens [N, C, H, W] to [N, C*H*W] in the usual (channels-first) order and hands its gradient back
    /// channels-last: a plain flatten of a channels-last tensor copies it to channels-first, and its backward pass
    /// would then send channels-first gradients into every layer before it.
    type internal FlattenKeepingLayoutFunction() =
        inherit torch.autograd.SingleTensorFunction<FlattenKeepingLayoutFunction>()

        override _.Name = "FlattenKeepingLayout"

        override _.forward(ctx: torch.autograd.AutogradContext, vars: obj array) : torch.Tensor =
            let x = vars.[0] :?> torch.Tensor
            ctx.save_data("shape", x.shape)
            use packed = x.contiguous()
            packed.flatten(1L)

        override _.backward(ctx: torch.autograd.AutogradContext, gradient: torch.Tensor) : List<torch.Tensor> =
            let shape = ctx.get_data "shape" :?> int64 array
            use unflattened = gradient.reshape(shape)
            List<torch.Tensor>([ layout unflattened ])

    /// Dropout that draws the same mask for a channels-last input as for its channels-first copy (libtorch's draws
    /// its random numbers in memory order), so a seed gives the same training in either layout.
    type internal LayoutIndependentDropout(p: float) =
        inherit torch.nn.Module<torch.Tensor, torch.Tensor>("dropout")

        override this.forward(x) =
            if not this.training then x.alias()
            elif isLayout x then Dropout.trainInShapeOrder x p
            else Dropout.train x p

    /// [N, ...] -> [N, product of the rest], in channels-first order whatever the input's layout; a channels-last
    /// input gets its gradient channels-last.
    let flatten (x: torch.Tensor) : torch.Tensor =
        if isLayout x then FlattenKeepingLayoutFunction.apply(x) else x.flatten(1L)

    /// Dropout with probability `p` whose mask does not depend on the input's memory layout.
    let dropout (p: float) : torch.nn.Module<torch.Tensor, torch.Tensor> = new LayoutIndependentDropout(p)

    /// Makes `network`'s first convolution hand on its output channels-last, so every layer after it runs in that
    /// layout (the convolution's input cannot carry it: a single-channel image is laid out the same in both). A
    /// forward hook, so the network's modules and parameter names are unchanged. No-op when it has no convolution.
    let fromFirstConvolution (network: torch.nn.Module) : unit =
        network.modules()
        |> Seq.tryPick (fun m -> match m with :? Modules.Conv2d as c -> Some c | _ -> None)
        |> Option.iter (fun conv -> conv.register_forward_hook(fun _ _ (y: torch.Tensor) -> layout y) |> ignore)
