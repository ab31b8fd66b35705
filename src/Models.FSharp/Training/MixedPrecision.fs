namespace Generative

open System
open TorchSharp

/// The number format a network's training steps compute in.
[<RequireQualifiedAccess>]
type TrainingPrecision =
    /// 32-bit floats throughout (the default).
    | Float32
    /// Mixed precision: the forward and backward passes run in bfloat16 on a working copy of the network, while the
    /// weights the optimiser updates (and checkpoints and model files save), the optimiser's state and the loss stay
    /// in 32-bit floats. Fast where the hardware computes bfloat16 natively (AVX512-BF16 or AMX CPUs, recent GPUs);
    /// elsewhere libtorch emulates it and it is slower than Float32.
    | BFloat16

/// An fp32 master network's parameters paired with those of its working copy in a lower precision, in the order of
/// `named_parameters`.
type WorkingCopy =
    { /// The master's parameters: what the optimiser updates and checkpoints save.
      Master: Modules.Parameter[]
      /// The working copy's: what the forward and backward passes use.
      Working: Modules.Parameter[] }

/// Mixed-precision training without autocast, which TorchSharp lacks. The network a model owns stays the fp32 master;
/// a second instance of it, converted to the lower precision, receives the master's weights before each step, runs
/// the forward and backward passes, and hands its gradients back to the master in fp32, where gradient clipping and
/// the optimiser act. Evaluation and sampling use the master, so a saved model gives the same outputs in any run.
[<RequireQualifiedAccess>]
module MixedPrecision =
    /// The setting's names: "fp32" and "bf16" (and "float32", "bfloat16").
    let names = [ "fp32", TrainingPrecision.Float32; "bf16", TrainingPrecision.BFloat16; "float32", TrainingPrecision.Float32; "bfloat16", TrainingPrecision.BFloat16 ]

    /// The element type a precision computes in.
    let elementType (precision: TrainingPrecision) : torch.ScalarType =
        match precision with
        | TrainingPrecision.Float32 -> torch.float32
        | TrainingPrecision.BFloat16 -> torch.bfloat16

    /// Pairs `master` with `working`, a second instance of the same network, which it converts to `precision`'s
    /// element type (on the master's device). Its parameters only carry gradients to the master: the optimiser and
    /// gradient clipping are given the master's. ArgumentException (ParamName "working") when the two differ in
    /// parameter names or shapes; (ParamName "master") when the network keeps floating-point buffers such as batch
    /// norm's running statistics, which would be updated in the lower precision and rounded.
    let workingCopy (precision: TrainingPrecision) (master: torch.nn.Module) (working: torch.nn.Module) : WorkingCopy =
        let floatingBuffers =
            [ for struct (name, b) in master.named_buffers() do if b.is_floating_point() then yield name ]
        if not floatingBuffers.IsEmpty then
            Errors.invalidArg "master" "a network without floating-point buffers (mixed precision keeps no fp32 copy of batch-norm statistics yet)"
                (String.Join(", ", floatingBuffers))
        let named (m: torch.nn.Module) = [| for struct (name, p) in m.named_parameters() -> name, p |]
        let masters, workings = named master, named working
        let describe (ps: (string * Modules.Parameter)[]) =
            ps |> Array.map (fun (n, p) -> sprintf "%s %A" n p.shape) |> String.concat ", "
        if masters.Length <> workings.Length
           || Array.exists2 (fun (n: string, p: Modules.Parameter) (wn, wp: Modules.Parameter) -> n <> wn || p.shape <> wp.shape) masters workings then
            Errors.invalidArg "working" (sprintf "the same parameters as the master (%s)" (describe masters)) (describe workings)
        working.``to``(Device.ofModule master).``to``(elementType precision) |> ignore
        // `to` may replace the parameter objects, so they are read again after the conversion.
        let workingParameters = named working |> Array.map snd
        { Master = masters |> Array.map snd; Working = workingParameters }

    /// Copies the master's weights into the working copy, rounded to its precision.
    let loadWeights (copy: WorkingCopy) =
        use _ = torch.no_grad()
        for master, working in Array.zip copy.Master copy.Working do
            working.copy_(master) |> ignore

    /// Clears the working copy's gradients before a backward pass.
    let zeroGradients (copy: WorkingCopy) =
        for working in copy.Working do
            working.grad <- null

    /// Hands the working copy's gradients to the master in fp32 (replacing the master's), and clears the working
    /// copy's. A parameter the backward pass did not reach gets no gradient, as in fp32 training.
    let storeGradients (copy: WorkingCopy) =
        use _ = torch.no_grad()
        for master, working in Array.zip copy.Master copy.Working do
            let gradient = working.grad
            if isNull gradient then master.grad <- null
            else
                master.grad <- gradient.``to``(master.dtype)
                working.grad <- null
