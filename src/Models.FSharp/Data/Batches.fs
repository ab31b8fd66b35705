namespace Generative

open TorchSharp

/// Mini-batches from a preloaded Split: a per-epoch permutation, `narrow` for a batch's indices and one
/// `index_select` per tensor (about 12x faster than DataLoader for in-memory data, see docs/torchsharp.md, "Batches without DataLoader").
[<RequireQualifiedAccess>]
module Batches =
    // SplitMix64's finaliser: mixes (seed, epoch) into a generator seed so that nearby pairs such as (1, 0)
    // and (0, 1) give unrelated permutations, unlike seed + epoch.
    let private mix (x: uint64) =
        let mutable z = x + 0x9E3779B97F4A7C15UL
        z <- (z ^^^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL
        z <- (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
        z ^^^ (z >>> 31)

    /// The generator seed used for (seed, epoch); public so other components can derive the same stream.
    let epochSeed (seed: int64) (epoch: int) : uint64 = mix (mix (uint64 seed) ^^^ uint64 (int64 epoch))

    /// A random permutation of 0..count-1 (int64, CPU) that depends only on (seed, epoch): a run resumed
    /// mid-epoch recomputes the same order and skips the batches already done. Uses its own torch.Generator,
    /// so it neither reads nor advances the global RNG.
    let permutation (seed: int64) (epoch: int) (count: int64) : Tensor =
        if count < 0L then Errors.invalidArg "count" "a count >= 0" count
        if epoch < 0 then Errors.invalidArg "epoch" "an epoch >= 0" epoch
        use generator = new torch.Generator(epochSeed seed epoch)
        torch.randperm(count, dtype = torch.ScalarType.Int64, generator = generator)

    let private checkBatchSize (batchSize: int) =
        if batchSize <= 0 then Errors.invalidArg "batchSize" "a batch size > 0" batchSize

    /// Number of batches in an epoch of `count` samples: the last, smaller batch is dropped when `dropLast`.
    let batchCount (count: int64) (batchSize: int) (dropLast: bool) : int =
        checkBatchSize batchSize
        if count < 0L then Errors.invalidArg "count" "a count >= 0" count
        let b = int64 batchSize
        int (if dropLast then count / b else (count + b - 1L) / b)

    /// The sample indices of batch `batchIndex` (0-based) of the permutation: a view (narrow), no copy.
    /// The last batch may be smaller than `batchSize`.
    let indices (perm: Tensor) (batchIndex: int) (batchSize: int) : Tensor =
        checkBatchSize batchSize
        if isNull perm then nullArg "perm"
        if perm.dim () <> 1L then Errors.invalidArg "perm" "a 1-D index tensor" (sprintf "%A" perm.shape)
        let n = perm.shape.[0]
        let start = int64 batchIndex * int64 batchSize
        if batchIndex < 0 || start >= n then
            Errors.invalidArg "batchIndex" (sprintf "a batch index in [0, %d)" (batchCount n batchSize false)) batchIndex
        perm.narrow(0L, start, min (int64 batchSize) (n - start))

    /// The images and labels at `idx` (one index_select each; new tensors the caller disposes).
    let take (split: Split) (idx: Tensor) : Tensor * Tensor =
        if isNull idx then nullArg "idx"
        let x = split.Images.index_select(0L, idx)
        let y = try split.Labels.index_select(0L, idx) with _ -> x.Dispose(); reraise ()
        x, y

    /// [N,C,H,W] images as [N, C*H*W] rows (784 columns for MNIST), for fully connected models.
    let flatten (images: Tensor) : Tensor =
        if isNull images then nullArg "images"
        if images.dim () < 2L then Errors.invalidArg "images" "a tensor with a batch dimension" (sprintf "%A" images.shape)
        images.flatten(1L, -1L)
