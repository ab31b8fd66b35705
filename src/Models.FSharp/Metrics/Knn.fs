namespace Generative

open System
open TorchSharp

/// k-nearest-neighbour classification by Euclidean distance, as a measure of how well codes or an embedding keep
/// classes apart. Distances are computed for a block of queries at a time (|r|² - 2 q·r against every reference,
/// which ranks like |q - r|²), so no [queries, references] matrix is ever held whole.
///
/// The vote: the label most common among the k nearest references; a tie goes to the tied label whose nearest
/// occurrence is closest (so k = 2 with two different labels gives the nearest neighbour's label). Labels are any
/// integers (int64 or narrower); predictions are int64.
[<RequireQualifiedAccess>]
module Knn =
    /// At most this many distances per block (64 MB of float32): 279 queries at a time against 60,000 references.
    let blockElements = 1L <<< 24

    /// Queries per block when none is given: as many as `blockElements` allows against `references`, at most 1000.
    let chunkSizeFor (references: int64) : int = int (max 1L (min 1000L (blockElements / max 1L references)))

    let private checkPoints (paramName: string) (points: Tensor) (atLeast: int64) =
        if isNull points then nullArg paramName
        if points.dim () <> 2L || points.shape.[1] < 1L then
            Errors.invalidArg paramName "a [N, D] tensor" (sprintf "%A" points.shape)
        if points.shape.[0] < atLeast then Errors.invalidArg paramName (sprintf "at least %d points" atLeast) points.shape.[0]

    let private checkLabels (paramName: string) (labels: Tensor) (count: int64) =
        if isNull labels then nullArg paramName
        if labels.dim () <> 1L || labels.shape.[0] <> count then
            Errors.invalidArg paramName (sprintf "a [%d] tensor, one label per point" count) (sprintf "%A" labels.shape)
        if not (labels.is_integral ()) || labels.dtype = torch.ScalarType.Bool then
            Errors.invalidArg paramName "integer labels" labels.dtype

    let private checkK (k: int) (most: int64) (what: string) =
        if k < 1 || int64 k > most then Errors.invalidArg "k" (sprintf "between 1 and %d (%s)" most what) k

    let private checkChunk (chunkSize: int) =
        if chunkSize < 1 then Errors.invalidArg "chunkSize" "at least 1 query per block" chunkSize

    /// Both point sets in one floating type: float64 when either is, float32 otherwise; on the CPU.
    let private common (a: Tensor) (b: Tensor) =
        let t = if a.dtype = torch.float64 || b.dtype = torch.float64 then torch.float64 else torch.float32
        a.detach().cpu().to_type(t), b.detach().cpu().to_type(t)

    /// The winning label code of each row of neighbour codes [B, k] (nearest first), by the vote described above.
    let private vote (classes: int64) (neighbours: Tensor) : Tensor =
        let b = neighbours.shape.[0]
        let k = neighbours.shape.[1]
        let counts = torch.zeros([| b; classes |], dtype = torch.int64).scatter_add_(1L, neighbours, torch.ones_like(neighbours))
        // Each neighbour's label's vote count; the first neighbour whose label has the most votes decides.
        let support = counts.gather(1L, neighbours)
        let struct (most, _) = support.max(1L, true)
        let earliness = torch.arange(k, 0L, -1L, dtype = torch.int64).unsqueeze(0L)
        let position = support.eq(most).mul(earliness).argmax(1L, true)
        neighbours.gather(1L, position).squeeze(1L)

    /// Predicted labels [N] (int64) of queries from references, `chunkSize` queries per block; with
    /// `leaveOneOut` the queries are the references themselves and each point's own entry is excluded. `block` is
    /// called before each block with (blocks done, blocks in all): a caller's cancellation check and progress.
    let private classifyWith (block: int -> int -> unit) (chunkSize: int) (k: int) (reference: Tensor) (referenceLabels: Tensor) (queries: Tensor) (leaveOneOut: bool) =
        use _ = torch.NewDisposeScope()
        let reference, queries = common reference queries
        let struct (values, codes, _) = torch.unique(referenceLabels.detach().cpu().to_type(torch.int64), sorted = true, return_inverse = true)
        let classes = values.shape.[0]
        let norms = reference.square().sum(1L).unsqueeze(0L)
        let rt = reference.t()
        let n = queries.shape.[0]
        let predicted = torch.empty([| n |], dtype = torch.int64)
        let rows = int64 chunkSize
        let blocks = int ((n + rows - 1L) / rows)
        for r0 in 0L .. rows .. n - 1L do
            block (int (r0 / rows)) blocks
            use _ = torch.NewDisposeScope()
            let b = min rows (n - r0)
            // |r|² - 2 q·r = |q - r|² - |q|²: the query's own norm changes no ranking.
            let distances = torch.addmm(norms, queries.narrow(0L, r0, b), rt, 1.0f, -2.0f)
            if leaveOneOut then distances.diagonal(r0).fill_(Double.PositiveInfinity.ToScalar()) |> ignore
            let struct (_, nearest) = distances.topk(k, 1, largest = false, sorted = true)
            let neighbours = codes.index_select(0L, nearest.reshape(-1L)).reshape(b, int64 k)
            predicted.narrow(0L, r0, b).copy_(values.index_select(0L, vote classes neighbours)) |> ignore
        predicted.MoveToOuterDisposeScope()

    let private classify chunkSize k reference referenceLabels queries leaveOneOut =
        classifyWith (fun _ _ -> ()) chunkSize k reference referenceLabels queries leaveOneOut

    let private share (predicted: Tensor) (labels: Tensor) =
        use _ = torch.NewDisposeScope()
        predicted.eq(labels.detach().cpu().to_type(torch.int64)).to_type(torch.float64).mean().ToDouble()

    let private checkPrediction (chunkSize: int) (k: int) (reference: Tensor) (referenceLabels: Tensor) (queries: Tensor) =
        checkChunk chunkSize
        checkPoints "reference" reference 1L
        let m = reference.shape.[0]
        checkLabels "referenceLabels" referenceLabels m
        checkPoints "queries" queries 1L
        if queries.shape.[1] <> reference.shape.[1] then
            Errors.invalidArg "queries" (sprintf "points of dimension %d like the references" reference.shape.[1]) queries.shape.[1]
        checkK k m "the number of reference points"

    /// The labels [N] (int64) the k nearest references [M, D] (labels [M]) vote for each query [N, D],
    /// `chunkSize` queries per block of distances.
    let predictInChunks (chunkSize: int) (k: int) (reference: Tensor) (referenceLabels: Tensor) (queries: Tensor) : Tensor =
        checkPrediction chunkSize k reference referenceLabels queries
        classify chunkSize k reference referenceLabels queries false

    let private defaultChunk (reference: Tensor) = chunkSizeFor (if isNull reference || reference.dim () < 1L then 1L else reference.shape.[0])

    /// `predictInChunks` with `chunkSizeFor` the references.
    let predict (k: int) (reference: Tensor) (referenceLabels: Tensor) (queries: Tensor) : Tensor =
        predictInChunks (defaultChunk reference) k reference referenceLabels queries

    /// The share of queries [N, D] whose label (queryLabels [N]) is the one their k nearest references [M, D]
    /// (referenceLabels [M]) vote for: k-NN classification accuracy in [0, 1]. Each block of queries is a unit of
    /// `work` named "k-NN votes".
    let accuracyIn (work: Work) (k: int) (reference: Tensor) (referenceLabels: Tensor) (queries: Tensor) (queryLabels: Tensor) : float =
        let chunk = defaultChunk reference
        checkPrediction chunk k reference referenceLabels queries
        checkLabels "queryLabels" queryLabels queries.shape.[0]
        let block finished total = Work.step work "k-NN votes" finished total
        use predicted = classifyWith block chunk k reference referenceLabels queries false
        share predicted queryLabels

    /// `accuracyIn` with nothing to stop it.
    let accuracy (k: int) (reference: Tensor) (referenceLabels: Tensor) (queries: Tensor) (queryLabels: Tensor) : float =
        accuracyIn Work.none k reference referenceLabels queries queryLabels

    /// The label [N] (int64) each point [N, D] gets from its k nearest other points (itself excluded),
    /// `chunkSize` points per block of distances.
    let leaveOneOutPredictInChunks (chunkSize: int) (k: int) (points: Tensor) (labels: Tensor) : Tensor =
        checkChunk chunkSize
        checkPoints "points" points 2L
        let n = points.shape.[0]
        checkLabels "labels" labels n
        checkK k (n - 1L) "N - 1: a point is not its own neighbour"
        classify chunkSize k points labels points true

    /// Leave-one-out k-NN accuracy of labelled points [N, D] (labels [N]): the share of points whose label is the one
    /// their k nearest other points vote for. Measures how well an embedding keeps classes together.
    let leaveOneOutAccuracy (k: int) (points: Tensor) (labels: Tensor) : float =
        use predicted = leaveOneOutPredictInChunks (defaultChunk points) k points labels
        share predicted labels
