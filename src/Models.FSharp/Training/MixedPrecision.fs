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

/// An fp32 master network paired with its working copy, whose passes run (in whole or in part) in a lower precision.
type WorkingCopy =
    { /// The master's parameters, in the order of `named_parameters`: what the optimiser updates and checkpoints save.
      Master: Modules.Parameter[]
      /// The working copy's, in the same order: what the forward and backward passes use.
      Working: Modules.Parameter[]
      /// The master's buffers (batch norm's running statistics and counter), in the order of `named_buffers`.
      MasterBuffers: Tensor[]
      /// The working copy's, in the same order and precision (buffers are never converted).
      WorkingBuffers: Tensor[]
      /// The two networks, so the working copy can follow the master between training and evaluation mode.
      Networks: torch.nn.Module * torch.nn.Module }

/// Mixed-precision training without autocast, which TorchSharp lacks. The network a model owns stays the fp32 master;
/// a second instance of it, partly or wholly converted to the lower precision, receives the master's weights before
/// each forward pass, runs the forward and backward passes, and hands its gradients back to the master in fp32, where
/// gradient clipping and the optimiser act. Evaluation and sampling use the master, so a saved model gives the same
/// outputs in any run, and checkpoints are the same in either precision.
///
/// Two forms: `workingCopy` converts the whole network (the language model, whose caller casts the logits), and
/// `computeLayersCopy` converts only the linear and convolution layers, each casting its input down and its output
/// back to fp32, so activations, batch norm (statistics included), pooling and the output's squashing function stay
/// fp32, as under PyTorch's CPU autocast (it runs the matrix products in bfloat16 and keeps the rest).
[<RequireQualifiedAccess>]
module MixedPrecision =
    /// The setting's names: "fp32" and "bf16" (and "float32", "bfloat16").
    let names = [ "fp32", TrainingPrecision.Float32; "bf16", TrainingPrecision.BFloat16; "float32", TrainingPrecision.Float32; "bfloat16", TrainingPrecision.BFloat16 ]

    /// The "precision" setting of a config with a precision field: fp32 or bf16.
    let setting (get: 'Config -> TrainingPrecision) (set: TrainingPrecision -> 'Config -> 'Config) : Setting<'Config> =
        Setting.choice "precision" "number format of the training passes: fp32, or bf16 (mixed precision: fp32 weights, bfloat16 passes; fast on CPUs with AVX512-BF16 or AMX)"
            names get set

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
        { Master = masters |> Array.map snd; Working = workingParameters; MasterBuffers = [||]; WorkingBuffers = [||]
          Networks = master, working }

    /// Whether `computeLayersCopy` converts a layer: a linear or convolution layer wide enough for bfloat16's faster
    /// products to outweigh the casts of its input, output and weights. The thresholds come from a one-thread probe
    /// at batch 128 on an AVX512-BF16 core (forward and backward with the casts; docs/torchsharp.md): linear layers
    /// gain from in x out of about 50,000 up (784-128: 2.4x, 400-120: 1.6x) and lose below 16,000 (120-84: 0.83x,
    /// 128-10: 0.35x); convolutions gain from 16 output channels up (6-16: 1.6x, 1-32: 2.3x; 16-8: 0.88x); transposed
    /// convolutions lose with few input channels (8-16: 0.31x, 16-8: 0.57x) and gain from 64 up (64-1: 1.3x).
    let private worthConverting (m: torch.nn.Module) =
        let sizeOf (name: string) = (m.get_parameter name).shape
        match m with
        | :? Modules.Linear -> let w = sizeOf "weight" in w.[0] * w.[1] >= 32768L
        | :? Modules.Conv1d | :? Modules.Conv2d -> (sizeOf "weight").[0] >= 16L
        // A transposed convolution's weight is [in, out, kh, kw].
        | :? Modules.ConvTranspose2d -> (sizeOf "weight").[0] >= 64L
        | _ -> false

    /// Pairs `master` with `working`, a second instance of the same network, of which it converts only the linear
    /// and convolution layers wide enough to gain (see `worthConverting`) to `precision`'s element type (on the
    /// master's device); narrow ones stay fp32. Each converted layer casts its
    /// input to that type and its output back to the master's, so everything between them (activations, batch norm
    /// and its running statistics, dropout, pooling, reshapes) and the network's output stay fp32. Layers of other
    /// types (e.g. spectrally normalised ones) keep computing in fp32. The casts are forward hooks, which run when a
    /// layer is run through `call` (as Sequential runs its pieces): a custom module must run its children with
    /// `child.call(x)`, not `child.forward(x)`. The working copy's parameters only carry gradients to the master;
    /// they require gradients where the master's do. ArgumentException (ParamName "working") when the two differ in
    /// parameter or buffer names or shapes.
    let computeLayersCopy (precision: TrainingPrecision) (master: torch.nn.Module) (working: torch.nn.Module) : WorkingCopy =
        let described (entries: (string * Tensor)[]) =
            entries |> Array.map (fun (n, t) -> sprintf "%s %A" n t.shape) |> String.concat ", "
        let parametersOf (m: torch.nn.Module) = [| for struct (name, p) in m.named_parameters() -> name, (p :> Tensor) |]
        let buffersOf (m: torch.nn.Module) = [| for struct (name, b) in m.named_buffers() -> name, b |]
        let same (a: (string * Tensor)[]) (b: (string * Tensor)[]) =
            a.Length = b.Length && Array.forall2 (fun (n: string, x: Tensor) (wn, w: Tensor) -> n = wn && x.shape = w.shape) a b
        if not (same (parametersOf master) (parametersOf working)) then
            Errors.invalidArg "working" (sprintf "the same parameters as the master (%s)" (described (parametersOf master)))
                (described (parametersOf working))
        if not (same (buffersOf master) (buffersOf working)) then
            Errors.invalidArg "working" (sprintf "the same buffers as the master (%s)" (described (buffersOf master)))
                (described (buffersOf working))
        let lower = elementType precision
        working.``to``(Device.ofModule master) |> ignore
        for struct (_, layer) in working.named_modules() do
            if worthConverting layer then
                layer.``to``(lower) |> ignore
                match layer with
                | :? torch.nn.Module<Tensor, Tensor> as l ->
                    l.register_forward_pre_hook(fun _ (x: Tensor) -> x.``to``(lower)) |> ignore
                    l.register_forward_hook(fun _ _ (y: Tensor) -> y.``to``(torch.float32)) |> ignore
                | _ -> ()
        // `to` may replace the parameter objects, so they are read again after the conversion.
        let masters = master.named_parameters() |> Seq.map (fun struct (_, p) -> p) |> Seq.toArray
        let workings = working.named_parameters() |> Seq.map (fun struct (_, p) -> p) |> Seq.toArray
        for m, w in Array.zip masters workings do w.requires_grad <- m.requires_grad
        { Master = masters; Working = workings
          MasterBuffers = buffersOf master |> Array.map snd; WorkingBuffers = buffersOf working |> Array.map snd
          Networks = master, working }

    /// Copies the master's weights (rounded to the working copy's precision) and buffers into the working copy, and
    /// puts it in the master's mode (training or evaluation).
    let loadWeights (copy: WorkingCopy) =
        use _ = torch.no_grad()
        for master, working in Array.zip copy.Master copy.Working do
            working.copy_(master) |> ignore
        for master, working in Array.zip copy.MasterBuffers copy.WorkingBuffers do
            working.copy_(master) |> ignore
        let master, working = copy.Networks
        working.train(master.training)

    /// Copies the working copy's buffers back to the master: the running statistics its forward passes in training
    /// mode updated.
    let storeBuffers (copy: WorkingCopy) =
        use _ = torch.no_grad()
        for master, working in Array.zip copy.MasterBuffers copy.WorkingBuffers do
            master.copy_(working) |> ignore

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

    /// `Trainer.minimizing` with the passes run through working copies: before each step the copies receive their
    /// masters' weights, `lossOf` (which must compute through the copies) gives the terms, and after the backward
    /// pass the gradients and the running statistics go back to the masters, whose optimiser then steps. With no
    /// copies it is `Trainer.minimizing` itself.
    let minimizing (copies: WorkingCopy list) (modules: (string * torch.nn.Module) list) (optimizer: Modules.OptimizerHelper)
                   (lossOf: Batch -> Map<string, Tensor>) : Trainer =
        if copies.IsEmpty then Trainer.minimizing modules optimizer lossOf
        else
            { Modules = modules
              Optimizers = [ Trainer.optimizerName, optimizer ]
              Carried = None
              Step =
                fun batch ->
                    for copy in copies do loadWeights copy
                    optimizer.zero_grad()
                    let terms = lossOf batch
                    terms.["loss"].backward()
                    for copy in copies do
                        storeGradients copy
                        storeBuffers copy
                    optimizer.step() |> ignore
                    terms |> Map.map (fun _ t -> t.ToDouble()) }
