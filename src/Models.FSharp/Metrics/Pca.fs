namespace Generative

open TorchSharp

/// Principal component analysis of small point clouds (codes of a test set), for 2-D pictures of latent spaces.
[<RequireQualifiedAccess>]
module Pca =
    /// Projects points [N, D] onto their top `k` principal components: returns the projections [N, k] and the share
    /// of the total variance each component explains. Eigen-decomposes the D x D covariance (cheap for codes,
    /// D ≤ a few hundred). When D ≤ k the points are only centred, and every share is reported.
    let project (k: int) (points: Tensor) : Tensor * float list =
        if k < 1 then Errors.invalidArg "k" "at least one component" k
        if points.dim () <> 2L || points.shape.[0] < 2L then
            Errors.invalidArg "points" "a [N, D] tensor with N >= 2" (sprintf "%A" points.shape)
        use _ = torch.NewDisposeScope()
        let x = points.to_type(torch.float64)
        let centred = x - x.mean([| 0L |], true)
        let covariance = centred.t().matmul(centred) / float (points.shape.[0] - 1L)
        // eigh returns eigenvalues in ascending order; flip to take the largest first.
        let struct (values, vectors) = torch.linalg.eigh(covariance)
        let order = values.flip(0L)
        let basis = vectors.flip(1L)
        let d = int points.shape.[1]
        let keep = min k d
        let total = max 1e-30 (values.sum().ToDouble())
        let shares = [ for i in 0 .. keep - 1 -> max 0.0 (order.[int64 i].ToDouble()) / total ]
        let projected = centred.matmul(basis.narrow(1L, 0L, int64 keep)).to_type(torch.float32)
        projected.MoveToOuterDisposeScope(), shares
