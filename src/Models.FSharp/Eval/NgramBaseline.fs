namespace Generative

open System
open System.Collections.Generic
open TorchSharp

/// Cross-entropy of trivial language models, to show how far a trained model is above them.
[<RequireQualifiedAccess>]
module NgramBaseline =
    let private idsOf (tokens: Tensor) : int64[] =
        if isNull tokens then nullArg "tokens"
        if tokens.dim () <> 1L then Errors.invalidArg "tokens" "a 1-D tensor of token ids" (sprintf "%A" tokens.shape)
        use cpu = tokens.cpu().to_type(torch.int64)
        cpu.data<int64>().ToArray()

    let private unigramCounts (vocabularySize: int) (ids: int64[]) =
        let counts = Array.zeroCreate<float> vocabularySize
        for id in ids do counts.[int id] <- counts.[int id] + 1.0
        counts

    /// Nats per token of `test` under the unigram model of `train` with add-one (Laplace) smoothing, so a token the
    /// training text lacks still has a probability. Every test token is scored, like a model predicting each token.
    let unigram (vocabularySize: int) (train: Tensor) (test: Tensor) : float =
        let counts = unigramCounts vocabularySize (idsOf train)
        let total = Array.sum counts + float vocabularySize
        let ids = idsOf test
        if ids.Length = 0 then Errors.invalidArg "test" "at least one token" 0
        ids |> Array.averageBy (fun id -> -Math.Log((counts.[int id] + 1.0) / total))

    /// Nats per token of the tokens of `test` after its first one under the bigram model of `train`, interpolated with
    /// the add-one unigram (Jelinek & Mercer, 1980): P(b | a) = λ c(a, b) / c(a) + (1 − λ) P(b), λ = `weight`
    /// (the unigram alone when a was never seen).
    let bigram (vocabularySize: int) (weight: float) (train: Tensor) (test: Tensor) : float =
        if not (weight >= 0.0 && weight < 1.0) then Errors.invalidArg "weight" "an interpolation weight in [0, 1)" weight
        let trainIds = idsOf train
        let unigrams = unigramCounts vocabularySize trainIds
        let total = Array.sum unigrams + float vocabularySize
        let pairs = Dictionary<struct (int64 * int64), float>()
        let contexts = Array.zeroCreate<float> vocabularySize
        for i in 1 .. trainIds.Length - 1 do
            let key = struct (trainIds.[i - 1], trainIds.[i])
            match pairs.TryGetValue key with
            | true, c -> pairs.[key] <- c + 1.0
            | _ -> pairs.[key] <- 1.0
            contexts.[int trainIds.[i - 1]] <- contexts.[int trainIds.[i - 1]] + 1.0
        let ids = idsOf test
        if ids.Length < 2 then Errors.invalidArg "test" "at least two tokens" ids.Length
        let mutable sum = 0.0
        for i in 1 .. ids.Length - 1 do
            let a, b = ids.[i - 1], ids.[i]
            let p1 = (unigrams.[int b] + 1.0) / total
            let p =
                match contexts.[int a] with
                | 0.0 -> p1
                | ca ->
                    let cab = match pairs.TryGetValue(struct (a, b)) with | true, c -> c | _ -> 0.0
                    weight * cab / ca + (1.0 - weight) * p1
            sum <- sum - Math.Log p
        sum / float (ids.Length - 1)

    /// The bigram's interpolation weight that scores `validation` best among 0.1, 0.2, ..., 0.9.
    let bestBigramWeight (vocabularySize: int) (train: Tensor) (validation: Tensor) : float =
        [ for k in 1 .. 9 -> float k / 10.0 ] |> List.minBy (fun w -> bigram vocabularySize w train validation)
