namespace Generative

open TorchSharp

/// An exponential moving average of a network's weights kept in a second network of the same architecture (Polyak
/// averaging; for GANs Yazıcı et al. 2019, Karras et al. 2018): after each update of the trained network, every
/// parameter of the average becomes decay · average + (1 - decay) · trained, and every buffer (batch norm's running
/// statistics and counter) becomes the trained network's, since buffers are not learned and the trained network's
/// describe its current activations. No optimiser holds the average; sampling and evaluation read it.
[<RequireQualifiedAccess>]
module WeightAverage =
    /// The pairs of same-named tensors of two networks built by the same function, in order; a mismatch is a bug
    /// in the caller, which must pass networks of one architecture.
    let private pairs (a: seq<struct (string * 'T)>) (b: seq<struct (string * 'T)>) : (Tensor * Tensor) list =
        Seq.zip a b
        |> Seq.map (fun (struct (n, t), struct (m, u)) ->
            if n <> m then invalidOp (sprintf "the moving average's %s does not match the trained network's %s" n m)
            (t :> obj :?> Tensor), (u :> obj :?> Tensor))
        |> List.ofSeq

    /// A network to hold the average of `source`: `build ()` makes the same architecture (its initial weights drawn
    /// from libtorch's global generator, whose state is put back afterwards, so turning an average on changes nothing
    /// a seed determines), then every parameter and buffer is set to `source`'s, and gradients are turned off.
    let copyOf (build: unit -> 'Net) (source: torch.nn.Module) : 'Net when 'Net :> torch.nn.Module =
        let average = Device.keepingRandomState build
        use _ = torch.no_grad()
        let state = source.state_dict()
        for KeyValue (name, target) in (average :> torch.nn.Module).state_dict() do
            target.copy_(state.[name]) |> ignore
        for p in (average :> torch.nn.Module).parameters() do p.requires_grad <- false
        average

    /// Moves `average` towards `current` (the trained network): parameters decay · average + (1 - decay) · current,
    /// in place and without gradients; buffers copied.
    let update (decay: float) (average: torch.nn.Module) (current: torch.nn.Module) =
        use keep = decay.ToScalar()
        use rest = (1.0 - decay).ToScalar()
        use _ = torch.no_grad()
        for (a, c) in pairs (average.named_parameters()) (current.named_parameters()) do
            a.mul_(keep).add_(c, alpha = rest) |> ignore
        for (a, c) in pairs (average.named_buffers()) (current.named_buffers()) do
            a.copy_(c) |> ignore
