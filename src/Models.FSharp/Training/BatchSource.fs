namespace Generative

open TorchSharp

/// Where the training loop takes its batches from: a fixed number of steps per epoch and the batch of any
/// (epoch, step), so a run resumed in the middle of an epoch takes exactly the batches it would have taken.
type BatchSource =
    { /// Steps in every epoch.
      StepsPerEpoch: int
      /// The batch of step `step` (0-based) of epoch `epoch` (1-based), on the CPU: new tensors, which the loop
      /// frees after the step (it calls this inside the step's dispose scope).
      Take: int -> int -> Batch }

/// The batch sources of the library's data.
[<RequireQualifiedAccess>]
module BatchSource =
    /// Mini-batches of an in-memory image split in a fresh order every epoch (`Batches.permutation` of the seed and
    /// the epoch); the last, smaller batch is dropped when `dropLast`. Inputs are the images, targets the labels.
    let shuffled (seed: int64) (batchSize: int) (dropLast: bool) (split: Split) : BatchSource =
        let count = split.Count
        if count = 0L then Errors.invalidArg "data" "at least one example" 0
        let steps = Batches.batchCount count batchSize dropLast
        if steps = 0 then
            Errors.invalidArg "BatchSize" (sprintf "at most %d (the number of examples) when DropLast is set" count) batchSize
        // The permutation of the current epoch, computed at its first batch and kept outside the steps' dispose scopes.
        let mutable current : (int * Tensor) option = None
        let permutationOf epoch =
            match current with
            | Some (e, perm) when e = epoch -> perm
            | previous ->
                previous |> Option.iter (fun (_, perm) -> perm.Dispose())
                let perm = (Batches.permutation seed epoch count).DetachFromDisposeScope()
                current <- Some (epoch, perm)
                perm
        { StepsPerEpoch = steps
          Take =
            fun epoch step ->
                let inputs, targets = Batches.take split (Batches.indices (permutationOf epoch) step batchSize)
                { Inputs = inputs; Targets = targets } }

    /// The stateful layout of a token stream [N] for truncated backpropagation through time: the stream is cut into
    /// `rows` rows of L = (N - 1) / rows consecutive tokens (row r starts at token r * L), and step k of every epoch
    /// takes columns [k * length, (k + 1) * length) of all rows, so chunk k + 1 of a row continues chunk k of the same
    /// row. Inputs are those tokens, targets the tokens one position later ([rows, length] each, int64). The layout is
    /// the same every epoch; a model carries its hidden state from one chunk to the next (see `CarriedState`).
    let contiguous (rows: int) (length: int) (tokens: Tensor) : BatchSource =
        if isNull tokens then nullArg "tokens"
        if tokens.dim () <> 1L then Errors.invalidArg "tokens" "a 1-D tensor of token ids" (sprintf "%A" tokens.shape)
        if rows < 1 then Errors.invalidArg "batch-size" "at least 1 row" rows
        if length < 1 then Errors.invalidArg "sequence-length" "at least 1 token" length
        let n = tokens.shape.[0]
        let rowLength = (n - 1L) / int64 rows
        let steps = rowLength / int64 length
        if steps < 1L then
            Errors.invalidArg "batch-size" (sprintf "a batch size and sequence length whose product (%d x %d) is below the %d tokens of the training text" rows length n) rows
        // Row r's first rows * rowLength + 1 tokens, as [rows, rowLength] views of inputs and of targets (no copy).
        let inputs = tokens.narrow(0L, 0L, int64 rows * rowLength).view(int64 rows, rowLength)
        let targets = tokens.narrow(0L, 1L, int64 rows * rowLength).view(int64 rows, rowLength)
        { StepsPerEpoch = int steps
          Take =
            fun _ step ->
                let start = int64 step * int64 length
                { Inputs = inputs.narrow(1L, start, int64 length).contiguous()
                  Targets = targets.narrow(1L, start, int64 length).contiguous() } }
