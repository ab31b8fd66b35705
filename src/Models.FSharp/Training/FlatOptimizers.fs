// Adam and SGD with their update over flat buffers. The types are named `Adam` and `SGD`, as TorchSharp's are,
// because TorchSharp writes the optimiser's type name into its state and refuses to load a state under another
// name: with the same names, checkpoints move between these and TorchSharp's optimisers in both directions.
namespace Generative.FlatOptimizers

open System
open TorchSharp
open TorchSharp.Modules
open Generative

/// One zero-filled buffer holding tensors of the given shapes as contiguous views of it, in order, so that an
/// element-wise update of all of them is one operation on `Whole`.
[<Sealed>]
type internal FlatBuffer(shapes: int64[][], like: torch.Tensor) =
    let counts = shapes |> Array.map (Array.fold (*) 1L)
    let whole = torch.zeros([| Array.sum counts |], dtype = like.dtype, device = like.device).DetachFromDisposeScope()
    let offsets = Array.scan (+) 0L counts
    let views =
        Array.init shapes.Length (fun i -> whole.narrow(0L, offsets.[i], counts.[i]).view(shapes.[i]).DetachFromDisposeScope())
    /// The buffer, one dimension.
    member _.Whole = whole
    /// Where each tensor starts in `Whole`, in elements, in the order given.
    member _.Offsets = offsets
    /// The tensors, shaped, in the order given.
    member _.Views = views
    interface IDisposable with
        member _.Dispose() =
            for v in views do v.Dispose()
            whole.Dispose()

/// What the flat optimisers need to know about tensors' memory.
module internal FlatMemory =
    /// Parameters' gradients and state can live in flat buffers when the parameters are distinct, non-empty,
    /// contiguous fp32 tensors that train (requires_grad), all on one CPU or CUDA device.
    let canUseFlatBuffers (parameters: Parameter[]) =
        let first = if parameters.Length > 0 then parameters.[0] else null
        parameters.Length > 0
        && parameters |> Array.forall (fun p ->
            (p.device_type = DeviceType.CPU || p.device_type = DeviceType.CUDA)
            && p.device_type = first.device_type && p.device_index = first.device_index
            && p.dtype = torch.float32 && p.requires_grad && p.numel() > 0L && p.is_contiguous())
        && (parameters |> Array.distinctBy (fun p -> p.Handle) |> Array.length) = parameters.Length

    /// Gives each parameter its view of `gradients` as its gradient, holding the gradient it had, if any. Backward
    /// passes then accumulate into the buffer in place.
    let adoptGradients (parameters: Parameter[]) (gradients: FlatBuffer) =
        use _ = torch.no_grad()
        for i in 0 .. parameters.Length - 1 do
            let p = parameters.[i]
            use held = p.grad
            if not (isNull held) then gradients.Views.[i].copy_(held) |> ignore
            p.grad <- gradients.Views.[i]

    /// Whether every parameter's gradient is in `gradients`. A gradient that something replaced (a double-backward
    /// pass, another optimiser over the same parameters) is copied into the buffer and the parameter pointed at it
    /// again; a missing one (the pass did not reach the parameter) makes the answer false, so that the step falls
    /// back to TorchSharp's, which skips that parameter.
    let gradientsInBuffer (parameters: Parameter[]) (gradients: FlatBuffer) =
        let mutable ok = true
        for i in 0 .. parameters.Length - 1 do
            let p = parameters.[i]
            use g = p.grad
            if isNull g then ok <- false
            elif TensorMemory.address g <> TensorMemory.address gradients.Views.[i] then
                use _ = torch.no_grad()
                gradients.Views.[i].copy_(g) |> ignore
                p.grad <- gradients.Views.[i]
        ok

    /// Holds `state`'s values in `view`: copies them in and returns the view, unless `state` is the view already.
    /// A restored optimiser state arrives as new tensors; this moves it into the buffer.
    let held (view: torch.Tensor) (state: torch.Tensor) =
        if obj.ReferenceEquals(state, view) then view
        else
            use _ = torch.no_grad()
            view.copy_(state) |> ignore
            state.Dispose()
            view

/// The flat buffers of one optimiser: its parameters' gradients, adopted when it is built (before any backward pass,
/// so the first one already accumulates into the buffer), and each further buffer, for state or scratch, made the
/// first time it is used. All are disposed with it.
[<Sealed>]
type internal FlatBuffers(parameters: Parameter[]) =
    let shapes = parameters |> Array.map (fun p -> p.shape)
    let made = ResizeArray<FlatBuffer>()
    let make () =
        let b = new FlatBuffer(shapes, parameters.[0])
        made.Add b
        b
    let gradients = make ()
    do FlatMemory.adoptGradients parameters gradients
    /// The gradients, one view per parameter.
    member _.Gradients = gradients
    /// A buffer made on first use.
    member _.OnFirstUse() : Lazy<FlatBuffer> = lazy (make ())
    /// Whether every parameter's gradient is still in `Gradients` (see `FlatMemory.gradientsInBuffer`).
    member _.GradientsInPlace() = FlatMemory.gradientsInBuffer parameters gradients
    /// Zeroes all gradients in one operation when they are in place; false (nothing done) otherwise.
    member this.TryZeroGradients() =
        this.GradientsInPlace() && (gradients.Whole.zero_() |> ignore; true)
    /// `Whole` of a buffer holding each parameter's current values (for weight decay), refilled on each call.
    member _.CopyOfWeights(into: Lazy<FlatBuffer>) =
        for i in 0 .. parameters.Length - 1 do into.Value.Views.[i].copy_(parameters.[i]) |> ignore
        into.Value.Whole
    interface IDisposable with
        member _.Dispose() = for b in made do (b :> IDisposable).Dispose()

/// Adam's flat state and scratch.
type private AdamBuffers =
    { Flat: FlatBuffers; Average: Lazy<FlatBuffer>; AverageSquare: Lazy<FlatBuffer>; Denominator: Lazy<FlatBuffer>
      Weights: Lazy<FlatBuffer> }

/// SGD's flat state and scratch.
type private SgdBuffers =
    { Flat: FlatBuffers; Velocity: Lazy<FlatBuffer>; LookAhead: Lazy<FlatBuffer>; Weights: Lazy<FlatBuffer> }

/// torch.optim.Adam over flat buffers: the gradients and both moment estimates are views of one buffer each (set
/// up when the optimiser is built). On the CPU with one libtorch thread a step is one pass over all parameters
/// (`FusedAdamKernel`); otherwise it runs about 8 tensor operations over all parameters plus one `addcdiv_` per
/// parameter. TorchSharp's runs about 10 per parameter and allocates Scalars for each. The parameters themselves
/// stay where they are (a parameter pointed into a buffer would be a view to every exporter that reads storages).
/// The arithmetic is TorchSharp's Adam's, operation for operation (the fused pass rounds as libtorch's kernels
/// do), so the updates are the same, and the state (per-parameter tensors and step counts) is
/// TorchSharp's, so checkpoints are the same bytes and load into either. Parameters unfit for flat buffers (see
/// `FlatMemory.canUseFlatBuffers`), a parameter without a gradient, AMSGrad, maximize, several parameter groups
/// or unequal step counts fall back to TorchSharp's own step.
type Adam(parameters: Parameter[], lr: float, beta1: float, beta2: float, weightDecay: float) =
    inherit Modules.Adam(parameters, lr, beta1, beta2, 1e-8, weightDecay)

    let buffers =
        if FlatMemory.canUseFlatBuffers parameters then
            let flat = new FlatBuffers(parameters)
            Some { Flat = flat; Average = flat.OnFirstUse(); AverageSquare = flat.OnFirstUse()
                   Denominator = flat.OnFirstUse(); Weights = flat.OnFirstUse() }
        else None

    let counts = parameters |> Array.map (fun p -> p.numel())

    // On the CPU the update can be one pass of the library's vector code instead of the tensor operations below.
    let fusedOnCpu =
        buffers.IsSome && parameters.[0].device_type = DeviceType.CPU && FusedAdamKernel.isAvailable ()
        && counts |> Array.forall (fun n -> n < int64 Int32.MaxValue)

    /// The update as one pass of the library's vector code (CPU).
    let fusedUpdate (b: AdamBuffers) (c: AdamStepCoefficients) =
        let tensors =
            Array.init parameters.Length (fun i ->
                { Parameter = TensorMemory.address parameters.[i]; Offset = b.Flat.Gradients.Offsets.[i]; Count = counts.[i] })
        FusedAdamKernel.update c tensors (TensorMemory.address b.Flat.Gradients.Whole)
            (TensorMemory.address b.Average.Value.Whole) (TensorMemory.address b.AverageSquare.Value.Whole)
        for p in parameters do FusedAdamKernel.markChanged p

    /// The update as tensor operations over the flat buffers (any device). The coefficients are float32, as
    /// libtorch's kernels read double Scalars for float32 tensors, so both updates use the same numbers.
    let tensorUpdate (b: AdamBuffers) (c: AdamStepCoefficients) =
        let gradients, average, averageSquare = b.Flat.Gradients.Whole, b.Average.Value.Whole, b.AverageSquare.Value.Whole
        use decayed =
            if c.WeightDecay = 0.0f then null
            else
                use sDecay = (float c.WeightDecay).ToScalar()
                gradients.add(b.Flat.CopyOfWeights b.Weights, alpha = sDecay)
        let g = if c.WeightDecay = 0.0f then gradients else decayed
        use sB1 = (float c.Beta1).ToScalar()
        use sB1c = (float c.OneMinusBeta1).ToScalar()
        use sB2 = (float c.Beta2).ToScalar()
        use sB2c = (float c.OneMinusBeta2).ToScalar()
        average.mul_(sB1).add_(g, alpha = sB1c) |> ignore
        averageSquare.mul_(sB2).addcmul_(g, g, value = sB2c) |> ignore
        use sRoot = (float c.RootCorrection2).ToScalar()
        use sEps = (float c.Epsilon).ToScalar()
        let denominator = b.Denominator.Value
        denominator.Whole.copy_(averageSquare).sqrt_().div_(sRoot).add_(sEps) |> ignore
        use sStep = (float c.StepSize).ToScalar()
        for i in 0 .. parameters.Length - 1 do
            parameters.[i].addcdiv_(b.Average.Value.Views.[i], denominator.Views.[i], value = sStep) |> ignore

    // A loop, not a comprehension: protected members cannot be reached from a closure.
    member private this.States =
        let states = Array.zeroCreate parameters.Length
        for i in 0 .. parameters.Length - 1 do states.[i] <- this._state.[parameters.[i].Handle] :?> Modules.Adam.State
        states

    override this.zero_grad() =
        if not (buffers |> Option.exists (fun b -> b.Flat.TryZeroGradients())) then base.zero_grad()

    override this.step(closure) =
        let options = this._parameter_groups.[0].Options :?> Modules.Adam.Options
        let states = this.States
        match buffers with
        | Some b
            when this._parameter_groups.Count = 1 && not options.amsgrad.Value && not options.maximize.Value
                 && states |> Array.forall (fun s -> s.step = states.[0].step) && b.Flat.GradientsInPlace() ->
            let average, averageSquare = b.Average.Value, b.AverageSquare.Value
            let loss = if isNull closure then null else (use _ = torch.enable_grad() in closure.Invoke())
            use _ = torch.no_grad()
            for i in 0 .. states.Length - 1 do
                states.[i].exp_avg <- FlatMemory.held average.Views.[i] states.[i].exp_avg
                states.[i].exp_avg_sq <- FlatMemory.held averageSquare.Views.[i] states.[i].exp_avg_sq
            let step = states.[0].step + 1L
            let b1, b2 = options.beta1.Value, options.beta2.Value
            let correction1 = 1.0 - Math.Pow(b1, float step)
            let correction2 = 1.0 - Math.Pow(b2, float step)
            let coefficients =
                { Beta1 = float32 b1; OneMinusBeta1 = float32 (1.0 - b1); Beta2 = float32 b2
                  OneMinusBeta2 = float32 (1.0 - b2); WeightDecay = float32 options.weight_decay.Value
                  RootCorrection2 = float32 (Math.Sqrt correction2); Epsilon = float32 options.eps.Value
                  StepSize = float32 (-(options.LearningRate.Value / correction1)) }
            // Only with one libtorch thread: at two, the tensor operations run on both cores and the passes after
            // a single-threaded step ran slower (docs/torchsharp.md, "Optimiser steps over flat buffers").
            if fusedOnCpu && torch.get_num_threads () = 1 then fusedUpdate b coefficients else tensorUpdate b coefficients
            for s in states do s.step <- step
            loss
        | _ -> base.step(closure)

    override this.Dispose(disposing) =
        base.Dispose(disposing)
        if disposing then buffers |> Option.iter (fun b -> (b.Flat :> IDisposable).Dispose())

/// torch.optim.SGD (momentum, Nesterov, weight decay) with the update over flat buffers, as `Adam` here does for
/// Adam: the same arithmetic and the same state (each parameter's momentum buffer, absent before the first step),
/// so checkpoints are TorchSharp's. Falls back to TorchSharp's step in the same cases as `Adam` here, and when only
/// some parameters have a momentum buffer.
type SGD(parameters: Parameter[], lr: float, momentum: float, nesterov: bool, weightDecay: float) =
    inherit Modules.SGD(parameters, lr, momentum, 0.0, weightDecay, nesterov)

    let buffers =
        if FlatMemory.canUseFlatBuffers parameters then
            let flat = new FlatBuffers(parameters)
            Some { Flat = flat; Velocity = flat.OnFirstUse(); LookAhead = flat.OnFirstUse(); Weights = flat.OnFirstUse() }
        else None

    member private this.States =
        let states = Array.zeroCreate parameters.Length
        for i in 0 .. parameters.Length - 1 do states.[i] <- this._state.[parameters.[i].Handle] :?> Modules.SGD.State
        states

    override this.zero_grad() =
        if not (buffers |> Option.exists (fun b -> b.Flat.TryZeroGradients())) then base.zero_grad()

    override this.step(closure) =
        let options = this._parameter_groups.[0].Options :?> Modules.SGD.Options
        let states = this.States
        let started = states |> Array.map (fun s -> not (isNull s.momentum_buffer))
        match buffers with
        | Some b
            when this._parameter_groups.Count = 1 && not options.maximize.Value
                 && (Array.forall id started || Array.forall not started) && b.Flat.GradientsInPlace() ->
            let loss = if isNull closure then null else (use _ = torch.enable_grad() in closure.Invoke())
            use _ = torch.no_grad()
            let decay, m = options.weight_decay.Value, options.momentum.Value
            // The gradient with weight decay goes into the weights' copy, so that every direction below is a buffer
            // with fixed views.
            let g =
                if decay = 0.0 then b.Flat.Gradients
                else
                    use sDecay = decay.ToScalar()
                    use decayed = b.Flat.Gradients.Whole.add(b.Flat.CopyOfWeights b.Weights, alpha = sDecay)
                    b.Weights.Value.Whole.copy_(decayed) |> ignore
                    b.Weights.Value
            use sM = m.ToScalar()
            use sDamp = (1.0 - options.dampening.Value).ToScalar()
            let direction =
                if m = 0.0 then g
                else
                    let velocity = b.Velocity.Value
                    if started.[0] then
                        for i in 0 .. states.Length - 1 do
                            states.[i].momentum_buffer <- FlatMemory.held velocity.Views.[i] states.[i].momentum_buffer
                        velocity.Whole.mul_(sM).add_(g.Whole, alpha = sDamp) |> ignore
                    else
                        // The first step starts the buffer at the gradient, as torch.optim.SGD does.
                        velocity.Whole.copy_(g.Whole) |> ignore
                        for i in 0 .. states.Length - 1 do states.[i].momentum_buffer <- velocity.Views.[i]
                    if options.nesterov.Value then
                        use ahead = g.Whole.add(velocity.Whole, alpha = sM)
                        b.LookAhead.Value.Whole.copy_(ahead) |> ignore
                        b.LookAhead.Value
                    else velocity
            use sLr = (-options.LearningRate.Value).ToScalar()
            for i in 0 .. parameters.Length - 1 do
                parameters.[i].add_(direction.Views.[i], alpha = sLr) |> ignore
            loss
        | _ -> base.step(closure)

    override this.Dispose(disposing) =
        base.Dispose(disposing)
        if disposing then buffers |> Option.iter (fun b -> (b.Flat :> IDisposable).Dispose())
