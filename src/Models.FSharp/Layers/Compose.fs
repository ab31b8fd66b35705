namespace Generative

open System
open TorchSharp

/// A parameter-free module wrapping a tensor function (reshape, flatten, scaling). It must never capture a
/// module with parameters: those would be missing from optimisers and checkpoints (TorchSharp.Fun's lesson).
type internal Lambda(name: string, f: Tensor -> Tensor) =
    inherit torch.nn.Module<Tensor, Tensor>(name)
    override _.forward(x) = f x

/// Building networks as values. Every combinator returns a registered `Module`, so parameters always reach
/// optimisers and checkpoints.
[<RequireQualifiedAccess>]
module Layers =
    let private items (m: Net) : Net list =
        match m with
        | :? TorchSharp.Modules.Sequential as s -> [ for i in 0 .. s.Count - 1 -> s.[i] :?> Net ]
        | m -> [ m ]

    /// Runs `first` then `second`, flattening nested chains so parameter names stay `0.weight`, `2.weight`, ...
    let chain (first: Net) (second: Net) : Net =
        torch.nn.Sequential(items first @ items second |> List.toArray) :> Net

    /// A chain of pieces in order (same naming as `chain`).
    let sequence (pieces: Net seq) : Net =
        torch.nn.Sequential(pieces |> Seq.collect items |> Seq.toArray) :> Net

    /// A chain whose pieces keep the given names in `state_dict` (for checkpoints meant to be read by name).
    let named (pieces: (string * Net) list) : Net =
        torch.nn.Sequential(pieces |> List.map (fun (n, m) -> struct (n, m)) |> List.toArray) :> Net

    /// y = x Wᵀ + b, initialised like PyTorch's nn.Linear.
    let linear (inputs: int) (outputs: int) : Net =
        if inputs <= 0 then Errors.invalidArg "inputs" "a positive size" inputs
        if outputs <= 0 then Errors.invalidArg "outputs" "a positive size" outputs
        torch.nn.Linear(int64 inputs, int64 outputs, device = Device.forNewLayers ()) :> Net

    /// max(0, x).
    let relu () : Net = torch.nn.ReLU() :> Net
    /// max(0, x) + slope * min(0, x).
    let leakyRelu (slope: float) : Net = torch.nn.LeakyReLU(slope) :> Net
    /// 1 / (1 + e^-x).
    let sigmoid () : Net = torch.nn.Sigmoid() :> Net
    /// tanh x.
    let tanh () : Net = torch.nn.Tanh() :> Net
    /// Randomly zeroes elements with probability p during training (uses the global generator), the same elements
    /// for an input in either memory layout (`ChannelsLast.dropout`).
    let dropout (p: float) : Net =
        if p < 0.0 || p >= 1.0 then Errors.invalidArg "p" "a probability in [0, 1)" p
        ChannelsLast.dropout p
    /// [N, ...] -> [N, product of the rest] (channels-first order in either memory layout, `ChannelsLast.flatten`).
    let flatten () : Net = new Lambda("flatten", ChannelsLast.flatten) :> Net
    /// The dimensions [N, shape...] of a batch reshaped to `shape` (N inferred).
    let private batchOf (shape: int list) = Array.append [| -1L |] (shape |> List.map int64 |> List.toArray)
    /// [N, product] -> [N, shape...].
    let reshape (shape: int list) : Net =
        let dims = batchOf shape
        new Lambda("reshape", fun x -> x.reshape(dims)) :> Net
    /// [N, product] -> [N, C, H, W] laid out channels-last (`ChannelsLast.layout`), for the convolutions after it.
    let reshapeChannelsLast (shape: int list) : Net =
        match shape with
        | [ _; _; _ ] ->
            let dims = batchOf shape
            new Lambda("reshape", fun x -> (use image = x.reshape(dims) in ChannelsLast.layout image)) :> Net
        | _ -> Errors.invalidArg "shape" "[channels; height; width]" (sprintf "%A" shape)

/// The `>->` operator: `a >-> b` runs a then b (see Layers.chain).
[<AutoOpen>]
module LayerOperators =
    /// Runs the left network, then the right one; the result is a registered Sequential.
    let (>->) (first: Net) (second: Net) : Net = Layers.chain first second
