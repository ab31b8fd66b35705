namespace Generative

open System
open System.Threading
open TorchSharp

/// Settings of an exact t-SNE (`Tsne.embed`). `Tsne.defaults` holds the values of the original paper's schedule as
/// scikit-learn runs it; fields are checked by `Tsne.validate`, which names the field in the ArgumentException.
type TsneOptions =
    { /// The effective number of neighbours each point's Gaussian covers (default 30). Between 1 and N - 1.
      Perplexity: float
      /// Gradient steps in all, the exaggeration phase included (default 1000).
      Iterations: int
      /// Factor on the affinities P during the first `ExaggerationIterations` steps, which lets clusters form and
      /// move apart early (default 12; 1 = no exaggeration).
      EarlyExaggeration: float
      /// Steps with exaggerated affinities and `Momentum`, from the start (default 250); at most `Iterations`.
      ExaggerationIterations: int
      /// The step size; None (the default) is scikit-learn's "auto" rule max(N / EarlyExaggeration / 4, 50)
      /// (Belkina et al. 2019, divided by the factor 4 in this gradient), e.g. 104 for 5,000 points.
      LearningRate: float option
      /// Momentum during the exaggeration phase (default 0.5).
      Momentum: float
      /// Momentum after it (default 0.8).
      FinalMomentum: float
      /// Floor of the per-coordinate gains (delta-bar-delta, Jacobs 1988): a gain grows by 0.2 while the gradient
      /// keeps its direction and shrinks by x0.8 when it flips (default 0.01). Gains and the momentum's running
      /// update carry over from the exaggeration phase to the next, as in van der Maaten's tsne.py (scikit-learn
      /// restarts them).
      MinGain: float
      /// Output dimension (default 2).
      Dimensions: int
      /// Seed of the initial embedding, drawn from N(0, (1e-4)²) by `torch.Generator(Seed)` (default 0).
      Seed: uint64 }

/// What `Tsne.embed` returns.
type TsneResult =
    { /// The embedding [N, Dimensions], float32 on the CPU; the caller disposes it.
      Embedding: Tensor
      /// KL(P || Q) of the final embedding in nats (the objective: lower is more faithful to the neighbourhoods).
      KlDivergence: float }

/// Threads that run shares of a round of work alongside the calling thread: job 0 on the caller, job k on worker
/// k, one synchronisation per round. Each worker sets libtorch's intra-op threads to 1 for itself, so its
/// operations are not split again; the caller does the same for the crew's life (see `Tsne.embed`).
type internal Crew(size: int) =
    let starts = Array.init (max 0 (size - 1)) (fun _ -> new SemaphoreSlim(0))
    let finished = new SemaphoreSlim(0)
    let failures: exn[] = Array.zeroCreate size
    let mutable job: int -> unit = ignore
    let mutable stopping = false
    let work (k: int) () =
        torch.set_num_threads 1
        let mutable running = true
        while running do
            starts.[k - 1].Wait()
            if stopping then running <- false
            else
                try
                    use _ = torch.NewDisposeScope()
                    job k
                with e -> failures.[k] <- e
                finished.Release() |> ignore
    let threads =
        Array.init (max 0 (size - 1)) (fun i ->
            let t = Thread(ThreadStart(work (i + 1)), IsBackground = true, Name = sprintf "t-SNE worker %d" (i + 1))
            t.Start()
            t)

    /// The number of jobs of a round (the caller and its workers).
    member _.Size = size

    /// Runs `round k` for every k in [0, Size) in parallel and returns when all are done; rethrows the first failure.
    member _.Run(round: int -> unit) =
        job <- round
        for s in starts do s.Release() |> ignore
        try
            use _ = torch.NewDisposeScope()
            round 0
        with e -> failures.[0] <- e
        for _ in 1 .. size - 1 do finished.Wait()
        match failures |> Array.tryFind (fun e -> not (isNull e)) with
        | Some e ->
            Array.fill failures 0 size null
            Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw()
        | None -> ()

    interface IDisposable with
        member _.Dispose() =
            stopping <- true
            for s in starts do s.Release() |> ignore
            for t in threads do t.Join()
            for s in starts do s.Dispose()
            finished.Dispose()

/// Exact t-SNE (van der Maaten & Hinton, 2008) in tensor operations, for 2-D pictures of codes and features.
/// O(N²) time per step and memory: an N x N float32 affinity matrix (100 MB at 5,000 points), so at most
/// `Tsne.maxPoints` points; subsample larger sets. The perplexity search works on blocks of rows, the gradient on
/// the upper triangle in strips that stay in the CPU's cache, in two buffers allocated once (memory stays flat
/// over the iterations). Deterministic: the same points, options and thread count give the same embedding bits.
[<RequireQualifiedAccess>]
module Tsne =
    /// Perplexity 30, 1000 iterations, exaggeration 12 for the first 250 with momentum 0.5 (then 0.8), the "auto"
    /// learning rate, minimum gain 0.01, 2 dimensions, seed 0.
    let defaults: TsneOptions =
        { Perplexity = 30.0
          Iterations = 1000
          EarlyExaggeration = 12.0
          ExaggerationIterations = 250
          LearningRate = None
          Momentum = 0.5
          FinalMomentum = 0.8
          MinGain = 0.01
          Dimensions = 2
          Seed = 0UL }

    /// The most points `embed` accepts: the exact method holds N x N matrices (400 MB of float32 each at 10,000).
    let maxPoints = 10_000

    /// The perplexity search stops for a row when its entropy is within this of log(perplexity) (nats).
    let entropyTolerance = 1e-5

    /// Bisection steps of the perplexity search at most (a row that has not converged keeps its last precision).
    let searchSteps = 100

    /// The smallest joint affinity off the diagonal (scikit-learn's floor, the float64 machine epsilon).
    let affinityFloor = 2.220446049250313e-16

    /// Elements of one block of rows in the perplexity search (float64: 8 MB).
    let private searchBlockElements = 1L <<< 20

    /// Elements of one strip of the kernel in the gradient (float32: 1 MB, so a strip's passes stay in cache;
    /// 256 K and 1 M entries ran about as fast, 64 K slower from the extra calls).
    let internal stripElements = 1L <<< 18

    /// The strips (first row, rows) of the upper triangle of an N x N matrix: rows [r0, r0 + b) by columns [r0, N),
    /// each about `elements` large (so strips grow taller as they narrow), at least one row each.
    let internal strips (elements: int64) (n: int64) : (int64 * int64) list =
        let rec go r0 acc =
            if r0 >= n then List.rev acc
            else
                let width = n - r0
                let b = max 1L (min width (elements / width))
                go (r0 + b) ((r0, b) :: acc)
        go 0L []

    /// Rows per block of the perplexity search: about `elements` entries of N columns, at least one row.
    let private rowsPerBlock (elements: int64) (n: int64) = max 1L (min n (elements / n))

    /// The learning rate `embed` uses for `n` points.
    let learningRate (options: TsneOptions) (n: int) : float =
        match options.LearningRate with
        | Some rate -> rate
        | None -> max (float n / options.EarlyExaggeration / 4.0) 50.0

    /// Checks every field; the ArgumentException's ParamName is the field's name.
    let validate (o: TsneOptions) : unit =
        let finite (x: float) = not (Double.IsNaN x || Double.IsInfinity x)
        if not (finite o.Perplexity && o.Perplexity >= 1.0) then
            Errors.invalidArg "Perplexity" "at least 1 (the effective number of neighbours of a point)" o.Perplexity
        if o.Iterations < 1 then Errors.invalidArg "Iterations" "at least 1" o.Iterations
        if not (finite o.EarlyExaggeration && o.EarlyExaggeration >= 1.0) then
            Errors.invalidArg "EarlyExaggeration" "at least 1 (1 = no exaggeration)" o.EarlyExaggeration
        if o.ExaggerationIterations < 0 || o.ExaggerationIterations > o.Iterations then
            Errors.invalidArg "ExaggerationIterations" (sprintf "between 0 and Iterations = %d" o.Iterations) o.ExaggerationIterations
        match o.LearningRate with
        | Some rate when not (finite rate && rate > 0.0) ->
            Errors.invalidArg "LearningRate" "a positive rate, or None for max(N / EarlyExaggeration / 4, 50)" rate
        | _ -> ()
        if not (o.Momentum >= 0.0 && o.Momentum < 1.0) then Errors.invalidArg "Momentum" "in [0, 1)" o.Momentum
        if not (o.FinalMomentum >= 0.0 && o.FinalMomentum < 1.0) then
            Errors.invalidArg "FinalMomentum" "in [0, 1)" o.FinalMomentum
        if not (o.MinGain > 0.0 && o.MinGain <= 1.0) then Errors.invalidArg "MinGain" "in (0, 1]" o.MinGain
        if o.Dimensions < 1 then Errors.invalidArg "Dimensions" "at least 1" o.Dimensions

    let private checkPerplexity (paramName: string) (perplexity: float) (n: int64) =
        if not (perplexity >= 1.0 && perplexity <= float (n - 1L)) then
            Errors.invalidArg paramName
                (sprintf "a perplexity between 1 and N - 1 = %d (the other points a point can have as neighbours)" (n - 1L))
                perplexity

    /// Checks points [N, D] for an exact t-SNE before anything large is allocated.
    let private checkPoints (points: Tensor) =
        if isNull points then nullArg "points"
        if points.dim () <> 2L || points.shape.[1] < 1L then
            Errors.invalidArg "points" "a [N, D] tensor" (sprintf "%A" points.shape)
        let n = points.shape.[0]
        if n < 2L then Errors.invalidArg "points" "at least 2 points" n
        if n > int64 maxPoints then
            Errors.invalidArg "points"
                (sprintf "at most %d points: exact t-SNE holds N x N matrices (%.1f GB of float32 each for these); embed a random subsample of at most %d points"
                    maxPoints (float (n * n * 4L) / 1e9) maxPoints)
                n
        use finite = points.isfinite().all()
        if not (finite.ToBoolean()) then Errors.invalidArg "points" "finite coordinates" "NaN or infinity"

    /// The perplexity search on a block of rows of squared distances [B, N] (float64) whose first row is row
    /// `rowOffset` of the full matrix (its own distance is at column rowOffset + i). Bisection on each row's
    /// precision beta, all rows at once; distances are shifted by the row's nearest one, which leaves P(j|i)
    /// unchanged and keeps the nearest neighbour's weight at 1 (no underflow for far-away points).
    let private calibrate (target: float) (rowOffset: int64) (squared: Tensor) : Tensor * Tensor =
        use _ = torch.NewDisposeScope()
        let b = squared.shape.[0]
        let shifted = squared.to_type(torch.float64).clone()
        let own = shifted.diagonal(rowOffset)
        own.fill_(Double.PositiveInfinity.ToScalar()) |> ignore
        let struct (nearest, _) = shifted.min(1L, true)
        shifted.sub_(nearest) |> ignore
        own.fill_(0.0.ToScalar()) |> ignore
        let beta = torch.ones([| b |], dtype = torch.float64)
        // 0 marks "no lower bound yet", infinity "no upper bound yet" (beta is always positive).
        let lower = torch.zeros([| b |], dtype = torch.float64)
        let upper = torch.full([| b |], Double.PositiveInfinity.ToScalar(), dtype = torch.float64)
        let mutable result = None
        let mutable step = 0
        while result.IsNone do
            use _ = torch.NewDisposeScope()
            // exp(-700) ≈ 1e-304 is the floor: below it exp gives subnormal numbers, which are many times slower.
            let e = shifted.mul(beta.neg().unsqueeze(1L)).clamp_min_((-700.0).ToScalar()).exp_()
            e.diagonal(rowOffset).zero_() |> ignore
            let z = e.sum(1L)
            // H = log Z + beta * E_P[shifted distance], in nats.
            let entropy = z.log().add_(beta.mul(e.mul(shifted).sum(1L)).div_(z))
            let gap = entropy - target
            let settled = gap.abs().le(entropyTolerance.ToScalar())
            if step = searchSteps || settled.all().ToBoolean() then
                result <- Some(e.div_(z.unsqueeze(1L)).MoveToOuterDisposeScope(), entropy.MoveToOuterDisposeScope())
            else
                let moving = settled.logical_not()
                // Entropy too high: the Gaussian is too wide, raise beta; too low: lower it.
                let widen = gap.gt(0.0.ToScalar()).logical_and(moving)
                let narrow = gap.le(0.0.ToScalar()).logical_and(moving)
                lower.copy_(torch.where(widen, beta, lower)) |> ignore
                upper.copy_(torch.where(narrow, beta, upper)) |> ignore
                let raised = torch.where(upper.isinf(), beta * 2.0, (beta + upper) * 0.5)
                let lowered = torch.where(lower.eq(0.0.ToScalar()), beta * 0.5, (beta + lower) * 0.5)
                beta.copy_(torch.where(widen, raised, torch.where(narrow, lowered, beta))) |> ignore
                step <- step + 1
        let p, entropy = result.Value
        p.MoveToOuterDisposeScope(), entropy.MoveToOuterDisposeScope()

    /// The conditional affinities P(j|i) [N, N] (float64, rows summing to 1, zero diagonal) of squared distances
    /// [N, N] (non-negative; the diagonal is ignored), each row's Gaussian precision found by bisection so that the
    /// row's entropy is log(perplexity) within `entropyTolerance`; also returns those entropies [N] in nats.
    let conditionalAffinities (perplexity: float) (squaredDistances: Tensor) : Tensor * Tensor =
        if isNull squaredDistances then nullArg "squaredDistances"
        let shape = squaredDistances.shape
        if squaredDistances.dim () <> 2L || shape.[0] <> shape.[1] || shape.[0] < 2L then
            Errors.invalidArg "squaredDistances" "a square [N, N] matrix with N >= 2" (sprintf "%A" shape)
        let n = shape.[0]
        checkPerplexity "perplexity" perplexity n
        use _ = torch.NewDisposeScope()
        let d = squaredDistances.detach().cpu()
        let p = torch.empty([| n; n |], dtype = torch.float64)
        let entropy = torch.empty([| n |], dtype = torch.float64)
        let rows = rowsPerBlock searchBlockElements n
        for r0 in 0L .. rows .. n - 1L do
            use _ = torch.NewDisposeScope()
            let b = min rows (n - r0)
            let pb, hb = calibrate (log perplexity) r0 (d.narrow(0L, r0, b))
            p.narrow(0L, r0, b).copy_(pb) |> ignore
            entropy.narrow(0L, r0, b).copy_(hb) |> ignore
        p.MoveToOuterDisposeScope(), entropy.MoveToOuterDisposeScope()

    /// The joint affinities of checked points: P = (P(j|i) + P(i|j)) / 2N as float32 [N, N], one block of
    /// squared distances at a time (float64, from the centred points).
    let private joint (crew: Crew) (perplexity: float) (points: Tensor) : Tensor =
        use _ = torch.NewDisposeScope()
        let raw = points.detach().cpu().to_type(torch.float64)
        let x = raw - raw.mean([| 0L |], true)
        let n = x.shape.[0]
        let norms = x.square().sum(1L)
        let xt = x.t()
        let conditional = torch.empty([| n; n |], dtype = torch.float32)
        let rows = rowsPerBlock searchBlockElements n
        let blocks = [| for r0 in 0L .. rows .. n - 1L -> r0, min rows (n - r0) |]
        // Blocks are independent: the crew's jobs take every Size-th block and write their own rows.
        crew.Run(fun k ->
            for i in k .. crew.Size .. blocks.Length - 1 do
                use _ = torch.NewDisposeScope()
                let r0, b = blocks.[i]
                let squared =
                    torch.addmm(norms.narrow(0L, r0, b).unsqueeze(1L), x.narrow(0L, r0, b), xt, 1.0f, -2.0f)
                        .add_(norms.unsqueeze(0L)).clamp_min_(0.0.ToScalar())
                let pb, _ = calibrate (log perplexity) r0 squared
                // Floored so that float32 holds no subnormal numbers (arithmetic on them is many times slower).
                conditional.narrow(0L, r0, b).copy_(pb.clamp_min_(1e-30.ToScalar())) |> ignore)
        conditional.diagonal().zero_() |> ignore
        let p = conditional.add(conditional.t())
        conditional.Dispose()
        // As scikit-learn: no pair's affinity below the float64 machine epsilon; the diagonal stays 0.
        p.div_((2.0 * float n).ToScalar()).clamp_min_(affinityFloor.ToScalar()).diagonal().zero_() |> ignore
        p.MoveToOuterDisposeScope()

    /// The symmetric joint affinities P [N, N] (float32, summing to 1, zero diagonal) t-SNE fits for points
    /// [N, D]: P_ij = max((P(j|i) + P(i|j)) / 2N, `affinityFloor`) with P(j|i) from `conditionalAffinities` on
    /// squared Euclidean distances.
    let jointAffinities (perplexity: float) (points: Tensor) : Tensor =
        checkPoints points
        checkPerplexity "perplexity" perplexity points.shape.[0]
        use alone = new Crew(1)
        joint alone perplexity points

    /// Writes into `w` [b, N - r0] a strip of rows [r0, r0 + b) and columns [r0, N) of the Student-t kernel
    /// 1 / (1 + |y_i - y_j|²) of an embedding y [N, d], zero at i = j (the strip's main diagonal), from the strip's
    /// rows' coordinates (`own`, d views [b, 1]) and its columns' (`across`, d views [1, N - r0]); `scratch` is a
    /// second buffer of w's shape. Differences are taken coordinate by coordinate (exact for close points, unlike
    /// |a|² - 2ab + |b|² in float32). The kernel is symmetric: strips cover the upper triangle, and the part of a
    /// strip right of its diagonal block also stands for its mirror image below the diagonal.
    let private kernelInto (w: Tensor) (scratch: Tensor) (own: Tensor[]) (across: Tensor[]) : unit =
        w.copy_(across.[0]).sub_(own.[0]) |> ignore
        w.mul_(w) |> ignore
        for c in 1 .. own.Length - 1 do
            scratch.copy_(across.[c]).sub_(own.[c]) |> ignore
            w.addcmul_(scratch, scratch, 1.0.ToScalar()) |> ignore
        w.add_(1.0.ToScalar()).reciprocal_().diagonal().zero_() |> ignore

    /// The sum over a symmetric matrix of what a strip holds of it (its `diagonalBlock` once, the rest twice),
    /// summed in the strip's type (a float64 sum of float32 converts every element first, several times slower).
    let private symmetricSum (strip: Tensor) (diagonalBlock: Tensor) : float =
        2.0 * strip.sum().ToDouble() - diagonalBlock.sum().ToDouble()

    let private checkEmbedding (joint: Tensor) (embedding: Tensor) =
        if isNull joint then nullArg "joint"
        if isNull embedding then nullArg "embedding"
        if embedding.dim () <> 2L || embedding.shape.[0] < 2L then
            Errors.invalidArg "embedding" "a [N, d] tensor with N >= 2" (sprintf "%A" embedding.shape)
        let n = embedding.shape.[0]
        if joint.shape <> [| n; n |] then
            Errors.invalidArg "joint" (sprintf "a [%d, %d] affinity matrix, one row per embedded point" n n) (sprintf "%A" joint.shape)

    /// What one strip of the gradient reads and adds to, as views made once (see `gradientOf`).
    type internal Strip =
        { Rows: int64
          /// The strip's width minus its rows: the columns right of its diagonal block.
          Beyond: int64
          /// The rows' coordinates, d views [b, 1] of y.
          Own: Tensor[]
          /// The columns' coordinates, d views [1, N - r0].
          Across: Tensor[]
          P: Tensor
          /// The columns of [y, 1] over the strip's columns (d + 1 views [N - r0]) and over its rows ([b]).
          Onwards: Tensor[]
          Mine: Tensor[]
          /// The accumulators' rows [r0, r0 + b) and the rows below, d + 1 views each, for attraction and repulsion.
          AttractionOwn: Tensor[]
          AttractionBelow: Tensor[]
          RepulsionOwn: Tensor[]
          RepulsionBelow: Tensor[]
          /// Two work buffers [b, N - r0] (views of the plan's two buffers), their diagonal blocks [b, b] and the
          /// transposes of their parts right of those blocks.
          Work: Tensor
          Scratch: Tensor
          WorkBlock: Tensor
          WorkMirror: Tensor
          ScratchMirror: Tensor }

    /// The t-SNE gradient of embedding y [N, d] (updated in place between calls) against symmetric joint
    /// affinities P [N, N], as a function of the exaggeration e: 4 Σ_j (e p_ij - q_ij) (y_i - y_j) / (1 + |y_i - y_j|²),
    /// the reference implementations' step (the gradient of -e Σ p log w + log Z; at e = 1, of KL(P || Q)).
    /// With W the kernel and Z its sum, Σ_j M_ij (y_i - y_j) = rowsum(M)_i y_i - (M y)_i for M = P∘W (attraction)
    /// and W∘W (repulsion, divided by Z): products of M with the columns of [y, 1]. Only the upper triangle is
    /// computed, in strips of about `elements` entries (`strips`): a strip adds its products to its own rows and
    /// the products of its off-diagonal part's transpose (its mirror image) to the rows below. Matrix-vector
    /// products (gemv, added in place) read a strip once each; a matrix product with 3 columns packs it first and
    /// was several times slower here. Views of every strip (and two work buffers) are made once, in the caller's
    /// dispose scope: a call into libtorch costs microseconds, and a step would otherwise make thousands.
    let internal gradientOf (elements: int64) (crew: Crew) (joint: Tensor) (y: Tensor) : float -> Tensor =
        let n = y.shape.[0]
        let d = y.shape.[1]
        let jobs = crew.Size
        // [y, 1] transposed: rows 0 to d - 1 are y's coordinates (refreshed each call), row d is ones.
        let vectors = torch.ones([| d + 1L; n |], dtype = y.dtype)
        let coordinates = vectors.narrow(0L, 0L, d)
        // Each job adds into accumulators of its own, summed in a fixed order afterwards.
        let attraction = Array.init jobs (fun _ -> torch.zeros([| d + 1L; n |], dtype = y.dtype))
        let repulsion = Array.init jobs (fun _ -> torch.zeros([| d + 1L; n |], dtype = y.dtype))
        let partialZ = Array.zeroCreate<float> jobs
        let layout = strips elements n |> Array.ofList
        // Two buffers per job as large as the largest strip, reused by every strip and step: no allocation in the
        // loop (allocating and freeing a megabyte per operation cost page faults and fragmented the heap).
        let largest = layout |> Array.map (fun (r0, b) -> b * (n - r0)) |> Array.max
        let across (r0: int64) (width: int64) = Array.init (int d) (fun c -> vectors.[int64 c].narrow(0L, r0, width).unsqueeze(0L))
        let rowsOf (m: Tensor) (first: int64) (count: int64) =
            if count = 0L then [||] else Array.init (int d + 1) (fun c -> m.[int64 c].narrow(0L, first, count))
        // Job k takes strips k, k + jobs, ... (strips are about equally large).
        let plans =
            Array.init jobs (fun k ->
                let workBuffer = torch.empty([| largest |], dtype = y.dtype)
                let scratchBuffer = torch.empty([| largest |], dtype = y.dtype)
                [| for i in k .. jobs .. layout.Length - 1 ->
                       let r0, b = layout.[i]
                       let width = n - r0
                       let work = workBuffer.narrow(0L, 0L, b * width).view(b, width)
                       let scratch = scratchBuffer.narrow(0L, 0L, b * width).view(b, width)
                       let mirror (m: Tensor) = if width > b then m.narrow(1L, b, width - b).t() else null
                       { Rows = b
                         Beyond = width - b
                         Own = Array.init (int d) (fun c -> y.narrow(0L, r0, b).narrow(1L, int64 c, 1L))
                         Across = across r0 width
                         P = joint.narrow(0L, r0, b).narrow(1L, r0, width)
                         Onwards = rowsOf vectors r0 width
                         Mine = rowsOf vectors r0 b
                         AttractionOwn = rowsOf attraction.[k] r0 b
                         AttractionBelow = rowsOf attraction.[k] (r0 + b) (width - b)
                         RepulsionOwn = rowsOf repulsion.[k] r0 b
                         RepulsionBelow = rowsOf repulsion.[k] (r0 + b) (width - b)
                         Work = work
                         Scratch = scratch
                         WorkBlock = work.narrow(1L, 0L, b)
                         WorkMirror = mirror work
                         ScratchMirror = mirror scratch } |])
        let accumulate (s: Strip) (own: Tensor[]) (below: Tensor[]) (m: Tensor) (mirror: Tensor) =
            for c in 0 .. own.Length - 1 do
                own.[c].addmv_(m, s.Onwards.[c]) |> ignore
            for c in 0 .. below.Length - 1 do
                below.[c].addmv_(mirror, s.Mine.[c]) |> ignore
        fun exaggeration ->
            use _ = torch.NewDisposeScope()
            coordinates.copy_(y.t()) |> ignore
            crew.Run(fun k ->
                attraction.[k].zero_() |> ignore
                repulsion.[k].zero_() |> ignore
                let mutable z = 0.0
                for s in plans.[k] do
                    kernelInto s.Work s.Scratch s.Own s.Across
                    z <- z + symmetricSum s.Work s.WorkBlock
                    // Repulsion from W∘W in the scratch buffer, then attraction from P∘W in place of W.
                    s.Scratch.copy_(s.Work).mul_(s.Work) |> ignore
                    accumulate s s.RepulsionOwn s.RepulsionBelow s.Scratch s.ScratchMirror
                    s.Work.mul_(s.P) |> ignore
                    accumulate s s.AttractionOwn s.AttractionBelow s.Work s.WorkMirror
                partialZ.[k] <- z)
            let z = Array.sum partialZ
            let total (parts: Tensor[]) = parts |> Array.reduce (fun a b -> a + b)
            let pull (m: Tensor) = m.[d].unsqueeze(1L) * y - m.narrow(0L, 0L, d).t()
            let gradient = (pull (total attraction) * exaggeration - pull (total repulsion) / z) * 4.0
            gradient.MoveToOuterDisposeScope()

    /// One gradient (see `gradientOf`) in strips of about `elements` entries.
    let internal gradientWith (elements: int64) (joint: Tensor) (exaggeration: float) (y: Tensor) : Tensor =
        use _ = torch.NewDisposeScope()
        use alone = new Crew(1)
        (gradientOf elements alone joint y exaggeration).MoveToOuterDisposeScope()

    /// KL(P || Q) = Σ p log p - Σ p log w + log Z Σ p, with Q = W / Z the Student-t affinities of y (P symmetric,
    /// read in strips like `gradientWith`).
    let internal klWith (elements: int64) (joint: Tensor) (y: Tensor) : float =
        use _ = torch.NewDisposeScope()
        let n = y.shape.[0]
        let yt = y.t().contiguous()
        let mutable z = 0.0
        let mutable mass = 0.0
        let mutable selfInformation = 0.0
        let mutable cross = 0.0
        for (r0, b) in strips elements n do
            use _ = torch.NewDisposeScope()
            let d = y.shape.[1]
            let own = Array.init (int d) (fun c -> y.narrow(0L, r0, b).narrow(1L, int64 c, 1L))
            let across = Array.init (int d) (fun c -> yt.narrow(0L, int64 c, 1L).narrow(1L, r0, n - r0))
            let w = torch.empty([| b; n - r0 |], dtype = y.dtype)
            kernelInto w (torch.empty_like(w)) own across
            let p = joint.narrow(0L, r0, b).narrow(1L, r0, n - r0)
            // The sums of the KL are taken in float64.
            let symmetric (m: Tensor) = 2.0 * m.sum(torch.float64).ToDouble() - m.narrow(1L, 0L, b).sum(torch.float64).ToDouble()
            z <- z + symmetric w
            mass <- mass + symmetric p
            selfInformation <- selfInformation + symmetric (torch.xlogy(p, p))
            cross <- cross + symmetric (torch.xlogy(p, w))
        selfInformation - cross + log z * mass

    /// The gradient of KL(P || Q) with respect to the embedding [N, d] (float32 like the embedding), for symmetric
    /// joint affinities P [N, N] (e.g. `jointAffinities`; only the upper triangle is read), with Q the Student-t
    /// affinities of the embedding.
    let gradient (joint: Tensor) (embedding: Tensor) : Tensor =
        checkEmbedding joint embedding
        use _ = torch.NewDisposeScope()
        let y = embedding.detach().cpu().to_type(torch.float32)
        let p = joint.detach().cpu().to_type(torch.float32)
        (gradientWith stripElements p 1.0 y).MoveToOuterDisposeScope()

    /// KL(P || Q) in nats for symmetric joint affinities P [N, N] (only the upper triangle is read) and an
    /// embedding [N, d] (Q its Student-t affinities).
    let klDivergence (joint: Tensor) (embedding: Tensor) : float =
        checkEmbedding joint embedding
        use _ = torch.NewDisposeScope()
        let y = embedding.detach().cpu().to_type(torch.float32)
        let p = joint.detach().cpu().to_type(torch.float32)
        klWith stripElements p y

    /// `embed` with the elements of a strip given (tests use it to split small inputs into strips), each iteration a
    /// unit of `work` named "t-SNE".
    let internal embedWith (elements: int64 option) (work: Work) (options: TsneOptions) (points: Tensor) : TsneResult =
        validate options
        checkPoints points
        let n = points.shape.[0]
        checkPerplexity "Perplexity" options.Perplexity n
        // The work is shared out by strips and blocks over as many threads as libtorch's intra-op setting, each
        // running its operations single-threaded: one synchronisation per step instead of one per operation
        // (with libtorch splitting every operation, a step waited dozens of times for the slower thread, and on a
        // machine shared with other jobs each wait could last a time slice: 2 threads ran 30 times slower than 1).
        let threads = max 1 (torch.get_num_threads ())
        torch.set_num_threads 1
        try
            use _ = torch.NewDisposeScope()
            use crew = new Crew(threads)
            let p = joint crew options.Perplexity points
            use generator = new torch.Generator(options.Seed)
            let y = torch.randn([| n; int64 options.Dimensions |], dtype = torch.float32, generator = generator).mul_(1e-4.ToScalar())
            let update = torch.zeros_like(y)
            let gains = torch.ones_like(y)
            let rate = learningRate options (int n)
            let elements = elements |> Option.defaultValue stripElements
            let gradient = gradientOf elements crew p y
            for iteration in 0 .. options.Iterations - 1 do
                // One iteration takes milliseconds to tenths of a second: a cancellation waits for one at most.
                Work.step work "t-SNE" iteration options.Iterations
                use _ = torch.NewDisposeScope()
                let exploring = iteration < options.ExaggerationIterations
                let exaggeration = if exploring then options.EarlyExaggeration else 1.0
                let momentum = if exploring then options.Momentum else options.FinalMomentum
                let g = gradient exaggeration
                // Delta-bar-delta: a gain grows while the step keeps going against the gradient, shrinks when it turns.
                let consistent = update.mul(g).lt(0.0.ToScalar())
                gains.copy_(torch.where(consistent, gains + 0.2, gains * 0.8)).clamp_min_(options.MinGain.ToScalar()) |> ignore
                update.mul_(momentum.ToScalar()).add_(gains.mul(g), (-rate).ToScalar()) |> ignore
                y.add_(update) |> ignore
                y.sub_(y.mean([| 0L |], true)) |> ignore
            let kl = klWith elements p y
            { Embedding = y.MoveToOuterDisposeScope(); KlDivergence = kl }
        finally
            torch.set_num_threads threads

    /// Embeds points [N, D] (2 ≤ N ≤ `maxPoints`, finite) in `options.Dimensions` dimensions by exact t-SNE:
    /// joint affinities P from `jointAffinities`, then gradient descent with momentum and gains on KL(P || Q)
    /// from a N(0, (1e-4)²) start. Returns the float32 CPU embedding and its final KL divergence. Runs on
    /// `torch.get_num_threads()` threads of its own, each with libtorch's intra-op threads set to 1 meanwhile
    /// (restored on return; other libtorch work started elsewhere in the process during the call runs
    /// single-threaded). The bits depend on that thread count.
    let embed (options: TsneOptions) (points: Tensor) : TsneResult = embedWith None Work.none options points

    /// `embed`, each iteration a unit of `work` named "t-SNE": a cancelled token stops it (OperationCanceledException)
    /// within one iteration.
    let embedIn (work: Work) (options: TsneOptions) (points: Tensor) : TsneResult = embedWith None work options points
