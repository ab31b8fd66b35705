namespace Generative

#nowarn "9" // NativePtr: the kernel's arguments are addresses in tensors' memory.

open System.Collections.Generic
open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop
open TorchSharp

/// Training passes of a stacked `nn.LSTM` (float32, CPU) with each layer as one autograd node: per time step one
/// matrix product and one pass of `LstmCellKernel` forward, one pass and one matrix product backward; the weights'
/// gradients are three matrix products over all steps at the end. ATen's own LSTM records about ten operations per
/// step and layer, each with its autograd node, and accumulates the recurrent weight's gradient step by step.
/// Backward, the gates' gradients overwrite their activations, so the pass needs no buffer of its own that size. Same
/// module, same parameters and state dict, same dropout masks between layers (drawn in the same order from the same
/// generator): only the rounding of the element-wise work differs (docs/torchsharp.md, "The LSTM's element-wise work").
[<RequireQualifiedAccess>]
module internal FusedLstm =
    let private address = TensorMemory.float32Pointer

    /// Element `offset` of the float32 memory at `p`.
    let inline private at (p: nativeptr<float32>) (offset: int64) = NativePtr.add p (int offset)

    /// What a layer's forward pass keeps for its backward pass besides its inputs: the gates' activations [T, B, 4H],
    /// the states h and c of steps 0..T [T + 1, B, H] and tanh c [T, B, H]. Not saved variables: those stay until
    /// the graph is freed, after the whole backward pass, while these are freed as soon as this layer's gradients
    /// are formed (as ATen releases an operation's saved tensors).
    type private LayerBuffers = { Gates: torch.Tensor; Hs: torch.Tensor; Cs: torch.Tensor; TanhCs: torch.Tensor }

    /// The forward pass of one layer over time-major x [T, B, In] from (h0, c0) [B, H], without gradients.
    let private run (x: torch.Tensor) (weightIh: torch.Tensor) (weightHh: torch.Tensor) (biasIh: torch.Tensor)
                    (biasHh: torch.Tensor) (h0: torch.Tensor) (c0: torch.Tensor) : LayerBuffers =
        let steps, rows, inputs = x.shape.[0], x.shape.[1], x.shape.[2]
        let hidden = weightHh.shape.[1]
        // Every step's input product at once, biases included; each step then adds its state product in place.
        use bias = biasIh + biasHh
        use flatX = x.reshape(steps * rows, inputs)
        use transposedIh = weightIh.t()
        use flatGates = torch.addmm(bias, flatX, transposedIh, 1.0f, 1.0f)
        let gates = flatGates.view(steps, rows, 4L * hidden)
        // States of steps 0..T: index 0 holds (h0, c0), index t + 1 the state after step t.
        let hs = torch.empty([| steps + 1L; rows; hidden |], dtype = torch.float32)
        let cs = torch.empty([| steps + 1L; rows; hidden |], dtype = torch.float32)
        let tanhCs = torch.empty([| steps; rows; hidden |], dtype = torch.float32)
        (use first = hs.[0L] in first.copy_(h0) |> ignore)
        (use first = cs.[0L] in first.copy_(c0) |> ignore)
        use transposedHh = weightHh.t()
        let pGates, pHs, pCs, pTanhCs = address gates, address hs, address cs, address tanhCs
        let block = rows * hidden
        for t in 0L .. steps - 1L do
            use stepGates = gates.[t]
            use hPrevious = hs.[t]
            stepGates.addmm_(hPrevious, transposedHh) |> ignore
            LstmCellKernel.forward (at pGates (t * 4L * block)) (at pCs (t * block)) (at pCs ((t + 1L) * block))
                (at pTanhCs (t * block)) (at pHs ((t + 1L) * block)) (int rows) (int hidden)
        { Gates = gates; Hs = hs; Cs = cs; TanhCs = tanhCs }

    /// One layer over time-major input x [T, B, In] from the state (h0, c0) [B, H]: returns the outputs [T, B, H]
    /// and writes the last step's state into hLast and cLast [B, H] (no gradient flows back through them: truncated
    /// backpropagation detaches the carried state). The inputs: x, weight_ih [4H, In], weight_hh [4H, H], bias_ih and
    /// bias_hh [4H], h0, c0, hLast, cLast. The backward pass must not throw (an exception there cannot pass back
    /// through libtorch and ends the process), so a second one (retain_graph) recomputes the freed buffers.
    type LayerFunction() =
        inherit torch.autograd.SingleTensorFunction<LayerFunction>()

        override _.Name = "FusedLstmLayer"

        override _.forward(ctx: torch.autograd.AutogradContext, vars: obj array) : torch.Tensor =
            let tensor i = vars.[i] :?> torch.Tensor
            let x, weightIh, weightHh, biasIh, biasHh, h0, c0 = tensor 0, tensor 1, tensor 2, tensor 3, tensor 4, tensor 5, tensor 6
            let hLast, cLast = tensor 7, tensor 8
            let steps = x.shape.[0]
            let buffers = run x weightIh weightHh biasIh biasHh h0 c0
            (use last = buffers.Hs.[steps] in hLast.copy_(last) |> ignore)
            (use last = buffers.Cs.[steps] in cLast.copy_(last) |> ignore)
            ctx.save_for_backward(List<torch.Tensor>([ x; weightIh; weightHh; biasIh; biasHh; h0; c0 ]))
            ctx.save_data("buffers", buffers)
            ctx.save_data("stateGradients", h0.requires_grad || c0.requires_grad)
            buffers.Hs.narrow(0L, 1L, steps)

        override _.backward(ctx: torch.autograd.AutogradContext, gradient: torch.Tensor) : List<torch.Tensor> =
            let saved = ctx.get_saved_variables()
            let x, weightIh, weightHh = saved.[0], saved.[1], saved.[2]
            let steps, rows, inputs = x.shape.[0], x.shape.[1], x.shape.[2]
            let hidden = weightHh.shape.[1]
            let kept = ctx.get_data("buffers") :?> LayerBuffers
            let buffers = if kept.Gates.IsInvalid then run x weightIh weightHh saved.[3] saved.[4] saved.[5] saved.[6] else kept
            let gates, hs, cs, tanhCs = buffers.Gates, buffers.Hs, buffers.Cs, buffers.TanhCs
            use dOutput = gradient.contiguous()
            // The gates' gradients overwrite their activations, step by step as the loop leaves them behind.
            let dGates = gates
            let dh = torch.zeros([| rows; hidden |], dtype = torch.float32)
            let dc = torch.zeros([| rows; hidden |], dtype = torch.float32)
            let pGates, pCs, pTanhCs, pOutput = address gates, address cs, address tanhCs, address dOutput
            let pDh, pDc = address dh, address dc
            let block = rows * hidden
            for t in steps - 1L .. -1L .. 0L do
                LstmCellKernel.backward (at pGates (t * 4L * block)) (at pCs (t * block)) (at pTanhCs (t * block))
                    (at pOutput (t * block)) pDh pDc (at pGates (t * 4L * block)) (int rows) (int hidden) (t = steps - 1L)
                use stepGradients = dGates.[t]
                // beta 0: dh becomes the previous step's state gradient (its old values are not read).
                dh.addmm_(stepGradients, weightHh, beta = 0.0f, alpha = 1.0f) |> ignore
            use flatDGates = dGates.view(steps * rows, 4L * hidden)
            use flatX = x.reshape(steps * rows, inputs)
            use transposedDGates = flatDGates.t()
            use flatDx = flatDGates.mm(weightIh)
            let dx = flatDx.view(steps, rows, inputs)
            let dWeightIh = transposedDGates.mm(flatX)
            use previousHs = hs.narrow(0L, 0L, steps)
            use flatPreviousHs = previousHs.reshape(steps * rows, hidden)
            let dWeightHh = transposedDGates.mm(flatPreviousHs)
            let dBias = flatDGates.sum(0L)
            let stateGradients = ctx.get_data("stateGradients") :?> bool
            for t in saved do t.Dispose()
            for t in [ gates; hs; cs; tanhCs ] do t.Dispose()
            let dh0, dc0 =
                if stateGradients then dh, dc
                else
                    dh.Dispose()
                    dc.Dispose()
                    null, null
            List<torch.Tensor>([ dx; dWeightIh; dWeightHh; dBias; dBias.clone(); dh0; dc0; null; null ])

    /// Whether `FusedLstm.forward` can train `lstm` on input `x` here: float32 on the CPU, gradients on, a CPU with
    /// 256-bit vectors, and an LSTM of the shape `LstmLanguageNet` builds (biases, one direction, no projections).
    let applies (lstm: Modules.LSTM) (x: torch.Tensor) : bool =
        torch.is_grad_enabled () && x.dtype = torch.float32 && x.device_type = DeviceType.CPU
        && Vector256.IsHardwareAccelerated
        && lstm.named_parameters() |> Seq.forall (fun struct (name, p) ->
            p.dtype = torch.float32 && p.device_type = DeviceType.CPU && not (name.EndsWith "_reverse") && not (name.StartsWith "weight_hr"))
        && lstm.named_parameters() |> Seq.exists (fun struct (name, _) -> name = "bias_ih_l0")

    /// `lstm` (batch-first, `layers` deep, `dropout` between layers while training) on x [B, T, In] from the state
    /// (h0, c0) [layers, B, H] or zeros: the outputs [B, T, H] and the state after the last step (without gradients).
    /// Check `applies` first.
    let forward (lstm: Modules.LSTM) (layers: int) (dropout: float) (x: torch.Tensor) (state: (torch.Tensor * torch.Tensor) option)
                : torch.Tensor * (torch.Tensor * torch.Tensor) =
        let rows = x.shape.[0]
        let hidden = lstm.get_parameter("weight_hh_l0").shape.[1]
        let hLast = torch.empty([| int64 layers; rows; hidden |], dtype = torch.float32)
        let cLast = torch.empty([| int64 layers; rows; hidden |], dtype = torch.float32)
        use timeMajor = x.transpose(0L, 1L)
        let mutable input = timeMajor.contiguous()
        for l in 0 .. layers - 1 do
            let parameter kind = lstm.get_parameter(sprintf "%s_l%d" kind l)
            use h0 = match state with Some (h, _) -> h.[int64 l] | None -> torch.zeros([| rows; hidden |], dtype = torch.float32)
            use c0 = match state with Some (_, c) -> c.[int64 l] | None -> torch.zeros([| rows; hidden |], dtype = torch.float32)
            use hOut = hLast.[int64 l]
            use cOut = cLast.[int64 l]
            let output =
                LayerFunction.apply(input, parameter "weight_ih", parameter "weight_hh", parameter "bias_ih",
                                    parameter "bias_hh", h0, c0, hOut, cOut)
            input.Dispose()
            // ATen's LSTM draws the same masks: dropout on each layer's time-major output but the last's.
            input <-
                if l < layers - 1 && dropout > 0.0 && lstm.training then
                    use undropped = output
                    Dropout.train undropped dropout
                else output
        let outputs = input.transpose(0L, 1L)
        input.Dispose()
        outputs, (hLast, cLast)
