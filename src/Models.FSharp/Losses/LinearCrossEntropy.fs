namespace Generative

open System.Collections.Generic
open TorchSharp

/// The mean cross-entropy of a linear output layer's logits, `cross_entropy(linear(x, weight, bias), targets)`,
/// computed a block of rows at a time so the [rows, classes] logits never exist whole. A word-level language model's
/// logits are large (64 x 35 positions by 10,000 words: 90 MB, and as much again for their log-softmax and for their
/// gradient); glibc maps every block above 32 MiB (`NativeHeap`) as fresh pages from the kernel, so each training step
/// paid for some 70,000 page faults. In blocks of at most `blockBytes` the memory is reused and stays in the cache.
/// With gradients on, the gradients of x, weight and bias are formed in the forward pass, block by block (the logits'
/// gradient is softmax minus the one-hot target, known as soon as the block's softmax is), and the backward pass only
/// scales them by the incoming gradient: the same matrix products as the plain functions, no logits kept for later.
[<RequireQualifiedAccess>]
module LinearCrossEntropy =
    /// The largest block of logits (float32) formed at once: 8 MiB, 209 rows of a 10,000-word vocabulary.
    let blockBytes = 8L * 1024L * 1024L

    /// Rows of logits per block for `classes` classes: at least one.
    let rowsPerBlock (classes: int64) : int64 = max 1L (blockBytes / (4L * max 1L classes))

    /// Calls `f start count` for each block of `rows` rows, `step` rows at a time.
    let private forEachBlock (rows: int64) (step: int64) (f: int64 -> int64 -> unit) =
        let mutable start = 0L
        while start < rows do
            let count = min step (rows - start)
            f start count
            start <- start + count

    /// The logits of one block of rows and their per-row losses, written into `losses`; with `gradient`, the logits
    /// are then turned into their gradient (softmax minus one-hot) in place. Returns the block's logits tensor.
    let private block (x: torch.Tensor) (weight: torch.Tensor) (bias: torch.Tensor) (targets: torch.Tensor) (losses: torch.Tensor) (gradient: bool) =
        let logits = torch.addmm(bias, x, weight.t(), 1.0f, 1.0f)
        use logSumExp = logits.logsumexp(1L, keepdim = true)
        use columns = targets.unsqueeze(1L)
        use picked = logits.gather(1L, columns)
        use rowLosses = logSumExp - picked
        use flat = rowLosses.squeeze(1L)
        losses.copy_(flat) |> ignore
        if gradient then
            logits.sub_(logSumExp).exp_() |> ignore
            use minusOne = torch.full([| targets.shape.[0]; 1L |], (-1.0).ToScalar(), dtype = logits.dtype, device = logits.device)
            logits.scatter_add_(1L, columns, minusOne) |> ignore
        logits

    /// With gradients: forms the loss and the three gradients in its forward pass and scales them in its backward one.
    type internal FusedFunction() =
        inherit torch.autograd.SingleTensorFunction<FusedFunction>()

        override _.Name = "LinearCrossEntropy"

        override _.forward(ctx: torch.autograd.AutogradContext, vars: obj array) : torch.Tensor =
            let x = vars.[0] :?> torch.Tensor
            let weight = vars.[1] :?> torch.Tensor
            let bias = vars.[2] :?> torch.Tensor
            let targets = vars.[3] :?> torch.Tensor
            let rows = x.shape.[0]
            let scale = float32 (1.0 / float rows)
            let xGradient = torch.empty_like(x)
            let weightGradient = torch.zeros_like(weight)
            let biasGradient = torch.zeros_like(bias)
            use losses = torch.empty(rows, dtype = x.dtype, device = x.device)
            forEachBlock rows (rowsPerBlock weight.shape.[0]) (fun start count ->
                use xBlock = x.narrow(0L, start, count)
                use targetBlock = targets.narrow(0L, start, count)
                use lossBlock = losses.narrow(0L, start, count)
                use softmaxMinusOneHot = block xBlock weight bias targetBlock lossBlock true
                use xGradientBlock = xGradient.narrow(0L, start, count)
                // beta 0: the block's empty memory is not read.
                xGradientBlock.addmm_(softmaxMinusOneHot, weight, beta = 0.0f, alpha = scale) |> ignore
                use transposed = softmaxMinusOneHot.t()
                weightGradient.addmm_(transposed, xBlock, beta = 1.0f, alpha = scale) |> ignore
                use columnSums = softmaxMinusOneHot.sum(0L)
                biasGradient.add_(columnSums, alpha = (float scale).ToScalar()) |> ignore)
            ctx.save_for_backward(List<torch.Tensor>([ xGradient; weightGradient; biasGradient ]))
            losses.mean()

        override _.backward(ctx: torch.autograd.AutogradContext, gradient: torch.Tensor) : List<torch.Tensor> =
            let saved = ctx.get_saved_variables()
            let scaled = saved |> Seq.map (fun g -> g * gradient) |> List<torch.Tensor>
            saved |> Seq.iter (fun g -> g.Dispose())
            // The targets get no gradient.
            scaled.Add(null)
            scaled

    /// The mean cross-entropy of `linear(x, weight, bias)` ([N, in] by [classes, in] and [classes]) against class
    /// indices `targets` ([N], int64), as `torch.nn.functional.cross_entropy` of the logits gives it (to rounding).
    /// With gradients on, one autograd node forms every gradient block by block; without, the losses alone.
    /// ArgumentException when the shapes do not fit together, there are no rows, or the targets are not int64.
    let mean (x: torch.Tensor) (weight: torch.Tensor) (bias: torch.Tensor) (targets: torch.Tensor) : torch.Tensor =
        let fits =
            x.dim() = 2L && weight.dim() = 2L && bias.dim() = 1L && targets.dim() = 1L && x.shape.[0] > 0L
            && x.shape.[0] = targets.shape.[0] && x.shape.[1] = weight.shape.[1] && bias.shape.[0] = weight.shape.[0]
        if not fits then
            Errors.invalidArg "x" "x [N, in] with N >= 1, weight [classes, in], bias [classes] and targets [N]"
                (sprintf "%A, %A, %A and %A" x.shape weight.shape bias.shape targets.shape)
        if targets.dtype <> torch.int64 then Errors.invalidArg "targets" "class indices of type int64" targets.dtype
        if torch.is_grad_enabled () && (x.requires_grad || weight.requires_grad || bias.requires_grad) then
            FusedFunction.apply(x, weight, bias, targets)
        else
            let rows = x.shape.[0]
            use losses = torch.empty(rows, dtype = x.dtype, device = x.device)
            forEachBlock rows (rowsPerBlock weight.shape.[0]) (fun start count ->
                use xBlock = x.narrow(0L, start, count)
                use targetBlock = targets.narrow(0L, start, count)
                use lossBlock = losses.narrow(0L, start, count)
                use logits = block xBlock weight bias targetBlock lossBlock false
                ())
            losses.mean()
