namespace Generative

open System
open TorchSharp

/// A linear or 2-D convolution layer whose weight W is used divided by an estimate of its largest singular value
/// σ(W), the spectral norm of W reshaped to [out, in·kh·kw] (Miyato et al., 2018, "Spectral Normalization for
/// Generative Adversarial Networks"), as PyTorch's `torch.nn.utils.spectral_norm` does it:
/// - the raw weight is the parameter `weight_orig`, the bias stays `bias`, and the power iteration's vectors are the
///   buffers `weight_u` [out] and `weight_v` [in·kh·kw], so checkpoints and model files save them (a resumed run
///   continues the same iteration, bit for bit) and `to(device)` moves them; the names are PyTorch's;
/// - every forward in training mode first runs one power iteration, without gradients, updating u and v in place:
///   v ← normalize(Wᵀu), u ← normalize(Wv); then σ = uᵀWv, with gradients through W only (u and v are constants);
/// - in evaluation mode u and v are used as stored, so evaluation changes no state.
/// TorchSharp 0.107 has no spectral_norm of its own. Build it with `SpectralNorm.layer` or `SpectralNorm.apply`.
type SpectralNormalized internal (weight: Modules.Parameter, bias: Modules.Parameter, apply: Tensor -> Tensor -> Tensor -> Tensor, eps: float) =
    inherit torch.nn.Module<Tensor, Tensor>("SpectralNormalized")

    // The tensors are reached through the module's registries, never through fields: `to(device)` replaces
    // registered tensors, and a field would keep pointing at the old ones.
    let hasBias = not (isNull bias)
    do
        base.register_parameter("weight_orig", weight)
        if hasBias then base.register_parameter("bias", bias)
        // Drawn from the global generator when the layer is made (seed before building), as PyTorch does.
        let u, v = SpectralNormalized.InitialVectors(weight, eps)
        base.register_buffer("weight_u", u, true)
        base.register_buffer("weight_v", v, true)

    /// Unit vectors u [out] and v [in·kh·kw] drawn from N(0, I) with the global generator, then normalised.
    static member private InitialVectors(weight: Tensor, eps: float) =
        let rows = weight.shape.[0]
        let columns = weight.numel() / rows
        use u0 = torch.randn([| rows |], dtype = weight.dtype, device = weight.device)
        use v0 = torch.randn([| columns |], dtype = weight.dtype, device = weight.device)
        // Detached from any dispose scope the layer is built in, as TorchSharp does for parameters: the buffers
        // belong to the layer, not to the scope (a network built inside a step's scope must outlive it).
        let unit (t: Tensor) = torch.nn.functional.normalize(t, 2.0, 0L, eps).DetachFromDisposeScope()
        unit u0, unit v0

    /// The ε that keeps the power iteration's normalisations away from a division by zero (PyTorch's 1e-12).
    member _.Eps = eps

    /// The raw weight W as a [out, -1] matrix (a view, with gradients).
    member private this.Matrix() : Tensor =
        let w = this.get_parameter("weight_orig")
        w.reshape(w.shape.[0], -1L)

    /// One power iteration on the stored u and v, in place and without gradients (what a training forward runs
    /// first). Public so tests and tools can converge the estimate without running the layer.
    member this.PowerIteration() =
        use _ = torch.no_grad()
        use m = this.Matrix()
        let u = this.get_buffer("weight_u")
        let v = this.get_buffer("weight_v")
        use mt = m.t()
        use wtu = torch.mv(mt, u)
        use nextV = torch.nn.functional.normalize(wtu, 2.0, 0L, eps)
        v.copy_(nextV) |> ignore
        use wv = torch.mv(m, v)
        use nextU = torch.nn.functional.normalize(wv, 2.0, 0L, eps)
        u.copy_(nextU) |> ignore

    /// The estimate σ = uᵀWv of W's largest singular value from the stored u and v, differentiable in W. u and v
    /// are cloned first: a later forward (D runs on real and on fake images before one backward) updates them in
    /// place, which would invalidate the graph of this one.
    member this.Sigma() : Tensor =
        use _ = torch.NewDisposeScope()
        let m = this.Matrix()
        let u = this.get_buffer("weight_u").clone()
        let v = this.get_buffer("weight_v").clone()
        torch.dot(u, torch.mv(m, v)).MoveToOuterDisposeScope()

    /// The weight the layer applies, W / σ, from the stored u and v (no iteration), differentiable in W.
    member this.Weight() : Tensor =
        use sigma = this.Sigma()
        this.get_parameter("weight_orig") / sigma

    override this.forward(x) =
        if this.training then this.PowerIteration()
        use w = this.Weight()
        let b = if hasBias then this.get_parameter("bias") :> Tensor else null
        apply x w b

/// Spectral normalisation of layers (see `SpectralNormalized`).
[<RequireQualifiedAccess>]
module SpectralNorm =
    /// PyTorch's ε for the power iteration's normalisations.
    let eps = 1e-12

    /// Whether spectral normalisation applies to a layer: linear layers and 2-D convolutions.
    let supports (m: torch.nn.Module) =
        match m with
        | :? Modules.Linear | :? Modules.Conv2d -> true
        | _ -> false

    /// A `Modules.Linear` or `Modules.Conv2d` spectrally normalised: the new layer takes over the layer's weight and
    /// bias parameters (the same tensors, so their values, and any initialisation already applied, are kept) and
    /// draws u and v from the global generator. Other layers are refused (ParamName "layer").
    let layer (m: Net) : Net =
        match m with
        | :? Modules.Linear as l ->
            new SpectralNormalized(l.weight, l.bias, (fun x w b -> torch.nn.functional.linear(x, w, b)), eps) :> Net
        | :? Modules.Conv2d as c ->
            if c.padding_mode <> PaddingModes.Zeros || c.padding_type.HasValue || isNull c.padding then
                Errors.invalidArg "layer" "a convolution with explicit zero padding" (sprintf "%A %A" c.padding_mode c.padding_type)
            let stride, padding, dilation, groups = Array.copy c.stride, Array.copy c.padding, Array.copy c.dilation, c.groups
            let conv (x: Tensor) (w: Tensor) (b: Tensor) =
                torch.nn.functional.conv2d(x, w, b, strides = stride, padding = padding, dilation = dilation, groups = groups)
            new SpectralNormalized(c.weight, c.bias, conv, eps) :> Net
        | other -> Errors.invalidArg "layer" "a Linear or Conv2d layer" (other.GetType().Name)

    let rec private hasSupported (m: torch.nn.Module) =
        supports m || (m.children() |> Seq.exists hasSupported)

    /// The network with every linear and 2-D convolution layer spectrally normalised (u and v drawn in layer order).
    /// Chains (`Sequential`) are rebuilt keeping their element names, so a layer `3` holds `3.weight_orig`,
    /// `3.bias`, `3.weight_u` and `3.weight_v`; other layers are kept as they are. A module of another kind that
    /// contains linear or convolution layers is refused (ParamName "net") rather than left unnormalised.
    let rec apply (net: Net) : Net =
        match net with
        | :? Modules.Sequential as s ->
            let pieces =
                [| for struct (name, child) in s.named_children() ->
                     match child with
                     | :? Net as n -> struct (name, apply n)
                     | other -> Errors.invalidArg "net" "a chain of tensor-to-tensor layers" (other.GetType().Name) |]
            torch.nn.Sequential(pieces) :> Net
        | m when supports m -> layer m
        | m when hasSupported m ->
            Errors.invalidArg "net" "a layer, or a chain (Sequential) of layers" (m.GetType().Name)
        | m -> m
