namespace Generative
// TEMPORARY stub until the data branch lands (same signatures).
open TorchSharp
[<RequireQualifiedAccess>]
module Batches =
    let permutation (seed: int64) (epoch: int) (count: int64) : Tensor =
        use g = new torch.Generator(uint64 (seed * 1000003L + int64 epoch))
        torch.randperm(count, generator = g)
    let batchCount (count: int64) (batchSize: int) (dropLast: bool) =
        if dropLast then int (count / int64 batchSize) else int ((count + int64 batchSize - 1L) / int64 batchSize)
    let indices (perm: Tensor) (batchIndex: int) (batchSize: int) : Tensor =
        let start = int64 batchIndex * int64 batchSize
        perm.narrow(0L, start, min (int64 batchSize) (perm.shape.[0] - start))
