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

    /// The setting's key, in every model's settings table and in run.json.
    let key = "precision"

    /// The "precision" setting of a config with a precision field: fp32 or bf16.
    let setting (get: 'Config -> TrainingPrecision) (set: TrainingPrecision -> 'Config -> 'Config) : Setting<'Config> =
        Setting.choice key "number format of the training passes: fp32, or bf16 (mixed precision: fp32 weights, bfloat16 passes; fast on CPUs with AVX512-BF16 or AMX)"
            names get set

    /// The element type a precision computes in.
    let elementType (precision: TrainingPrecision) : torch.ScalarType =
        match precision with
        | TrainingPrecision.Float32 -> torch.float32
        | TrainingPrecision.BFloat16 -> torch.bfloat16

    let private parametersOf (m: torch.nn.Module) = [| for struct (name, p) in m.named_parameters() -> name, p |]
    let private buffersOf (m: torch.nn.Module) = [| for struct (name, b) in m.named_buffers() -> name, b |]

    /// ArgumentException (ParamName "working") unless `working` has the master's `entries` (its parameters or
    /// buffers, named `what`), with the same names and shapes in the same order.
    let private requireSame (what: string) (entries: torch.nn.Module -> (string * #Tensor)[]) (master: torch.nn.Module) (working: torch.nn.Module) =
        let described (xs: (string * #Tensor)[]) = xs |> Array.map (fun (n, t) -> sprintf "%s %A" n t.shape) |> String.concat ", "
        let a, b = entries master, entries working
        if a.Length <> b.Length || Array.exists2 (fun (n: string, x: #Tensor) (wn, w: #Tensor) -> n <> wn || x.shape <> w.shape) a b then
            Errors.invalidArg "working" (sprintf "the same %s as the master (%s)" what (described a)) (described b)

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
        requireSame "parameters" parametersOf master working
        let masters = parametersOf master |> Array.map snd
        working.``to``(Device.ofModule master).``to``(elementType precision) |> ignore
        // `to` may replace the parameter objects, so they are read again after the conversion.
        { Master = masters; Working = parametersOf working |> Array.map snd; MasterBuffers = [||]; WorkingBuffers = [||]
          Networks = master, working }

    /// Whether `computeLayersCopy` converts a layer: a linear or convolution layer wide enough for bfloat16's faster
    /// products to outweigh the casts of its input, output and weights. The thresholds come from a one-thread probe
    /// at batch 128 on an AVX512-BF16 core (forward and backward with the casts; docs/torchsharp.md): linear layers
    /// gain from in x out of about 50,000 up (784-128: 2.4x, 400-120: 1.6x) and lose below 16,000 (120-84: 0.83x,
    /// 128-10: 0.35x); convolutions gain from 16 output channels up (6-16: 1.6x, 1-32: 2.3x; 16-8: 0.88x); transposed
    /// convolutions lose with few input channels (8-16: 0.31x, 16-8: 0.57x) and gain from 64 up (64-1: 1.3x).
    let private worthConverting (m: torch.nn.Module) =
        match m with
        | :? Modules.Linear as l -> l.in_features * l.out_features >= 32768L
        | :? Modules.Conv1d as c -> c.weight.shape.[0] >= 16L
        | :? Modules.Conv2d as c -> c.weight.shape.[0] >= 16L
        // A transposed convolution's weight is [in, out, kh, kw].
        | :? Modules.ConvTranspose2d as c -> c.weight.shape.[0] >= 64L
        | _ -> false

    /// Pairs `master` with `working`, a second instance of the same network, of which it converts only the linear
    /// and convolution layers wide enough to gain (see `worthConverting`) to `precision`'s element type (on the
    /// master's device); narrow ones stay fp32. Each converted layer casts its input to that type and its output back
    /// to the master's, so everything between them (activations, batch norm and its running statistics, dropout,
    /// pooling, reshapes) and the network's output stay fp32. Layers of other
    /// types (e.g. spectrally normalised ones) keep computing in fp32. The casts are forward hooks, which run when a
    /// layer is run through `call` (as Sequential runs its pieces): a custom module must run its children with
    /// `child.call(x)`, not `child.forward(x)`. The working copy's parameters only carry gradients to the master;
    /// they require gradients where the master's do. ArgumentException (ParamName "working") when the two differ in
    /// parameter or buffer names or shapes.
    let computeLayersCopy (precision: TrainingPrecision) (master: torch.nn.Module) (working: torch.nn.Module) : WorkingCopy =
        requireSame "parameters" parametersOf master working
        requireSame "buffers" buffersOf master working
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
        let masters, workings = parametersOf master |> Array.map snd, parametersOf working |> Array.map snd
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

    /// Hands the working copy's gradients to the master in fp32, and clears the working copy's. They are copied into
    /// the master's gradient tensor when it has one, because a flat optimiser (`FlatOptimizers.Adam`) keeps that
    /// tensor in its buffer. A parameter the backward pass did not reach gets no gradient, as in fp32 training.
    let storeGradients (copy: WorkingCopy) =
        use _ = torch.no_grad()
        for master, working in Array.zip copy.Master copy.Working do
            use gradient = working.grad
            if isNull gradient then master.grad <- null
            else
                use existing = master.grad
                if isNull existing then master.grad <- gradient.``to``(master.dtype)
                else existing.copy_(gradient) |> ignore
                working.grad <- null

    /// `Trainer.minimizing` with the passes run through working copies: before each step the copies receive their
    /// masters' weights, `lossOf` (which must compute through the copies) gives the terms, and after the backward
    /// pass the gradients and the running statistics go back to the masters, whose optimiser then steps. With no
    /// copies it is `Trainer.minimizing`.
    let minimizing (copies: WorkingCopy list) (modules: (string * torch.nn.Module) list) (optimizer: Modules.OptimizerHelper)
                   (lossOf: Batch -> Map<string, Tensor>) : Trainer =
        let handBack () =
            for copy in copies do
                storeGradients copy
                storeBuffers copy
        Trainer.minimizingAround (fun () -> for copy in copies do loadWeights copy) handBack modules optimizer lossOf
