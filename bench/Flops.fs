namespace Generative.Bench

open TorchSharp

/// Counts the floating-point operations of a training step's matrix products (linear, convolution and transposed
/// convolution layers; the language models add their LSTM and output layer themselves) from the shapes the layers
/// see, so a case's speed can be stated as GFLOP/s against the GEMM probe's. A forward product of an [M, K] by [K, N]
/// pair is 2 M K N operations; its backward pass repeats that once for the weight's gradient when the weight trains
/// and once for the input's gradient when the input needs one (so a frozen discriminator in a generator's update, or
/// a first layer, counts less). Element-wise work, pooling, normalisation and the optimiser are not counted: they are
/// what the rest of the time goes to.
[<RequireQualifiedAccess>]
module Flops =
    /// Forward operations of a layer and how many times over its backward pass repeats them.
    let private withBackward (forward: float) (weight: torch.Tensor) (input: torch.Tensor) (output: torch.Tensor) =
        if output.requires_grad then
            forward * (1.0 + (if weight.requires_grad then 1.0 else 0.0) + (if input.requires_grad then 1.0 else 0.0))
        else forward

    /// A linear layer on input [..., in]: 2 x rows x in x out.
    let private linear (layer: Modules.Linear) (input: torch.Tensor) (output: torch.Tensor) =
        let rows = float (input.numel() / input.shape.[input.shape.Length - 1])
        let forward = 2.0 * rows * float layer.weight.shape.[0] * float layer.weight.shape.[1]
        withBackward forward layer.weight input output

    /// A convolution: 2 x output elements x (input channels per group x kernel size).
    let private convolution (weight: torch.Tensor) (input: torch.Tensor) (output: torch.Tensor) =
        let perOutput = weight.shape |> Array.skip 1 |> Array.fold (fun a d -> a * float d) 1.0
        withBackward (2.0 * float (output.numel()) * perOutput) weight input output

    /// A transposed convolution: every input element is multiplied into (output channels per group x kernel size).
    let private transposedConvolution (weight: torch.Tensor) (input: torch.Tensor) (output: torch.Tensor) =
        let perInput = weight.shape |> Array.skip 1 |> Array.fold (fun a d -> a * float d) 1.0
        withBackward (2.0 * float (input.numel()) * perInput) weight input output

    /// Hooks every counted layer of `modules` and returns the function that removes the hooks and gives the
    /// operations counted since (billions). Call it once: the worker hooks the first training step (untimed warm-up)
    /// so the trained model is the same as without counting.
    let start (modules: torch.nn.Module seq) : unit -> float =
        let mutable total = 0.0
        let add (x: float) = total <- total + x
        let removers = ResizeArray<unit -> unit>()
        let hook (m: torch.nn.Module) =
            match m with
            | :? Modules.Linear as l ->
                l.register_forward_hook(fun _ input output -> add (linear l input output); output) |> fun r -> removers.Add(fun () -> r.remove())
            | :? Modules.Conv2d as c ->
                c.register_forward_hook(fun _ input output -> add (convolution c.weight input output); output) |> fun r -> removers.Add(fun () -> r.remove())
            | :? Modules.Conv1d as c ->
                c.register_forward_hook(fun _ input output -> add (convolution c.weight input output); output) |> fun r -> removers.Add(fun () -> r.remove())
            | :? Modules.ConvTranspose2d as c ->
                c.register_forward_hook(fun _ input output -> add (transposedConvolution c.weight input output); output) |> fun r -> removers.Add(fun () -> r.remove())
            | _ -> ()
        for root in modules do
            for struct (_, m) in root.named_modules() do hook m
        fun () ->
            for remove in removers do remove ()
            removers.Clear()
            total / 1e9
