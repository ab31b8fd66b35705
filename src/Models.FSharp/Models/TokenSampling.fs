namespace Generative

open System
open TorchSharp

/// How the next token is drawn from a language model's scores.
type SamplingOptions =
    { /// Divides the logits before the softmax: below 1 sharper, above 1 flatter; 0 picks the most likely token
      /// (greedy decoding).
      Temperature: float
      /// Keep only the k most likely tokens (0: all).
      TopK: int
      /// Keep the smallest set of most likely tokens whose probabilities add up to at least p (nucleus sampling,
      /// Holtzman et al., 2019); 1: all.
      TopP: float }

/// Drawing tokens from logits with temperature, top-k and top-p.
[<RequireQualifiedAccess>]
module TokenSampling =
    /// Temperature 1, no top-k or top-p cut: the model's own distribution.
    let plain = { Temperature = 1.0; TopK = 0; TopP = 1.0 }

    /// Throws ArgumentException naming the option (ParamName "temperature", "top-k" or "top-p").
    let validate (o: SamplingOptions) =
        if not (o.Temperature >= 0.0) || Double.IsInfinity o.Temperature then
            Errors.invalidArg "temperature" "a finite temperature >= 0 (0: always the most likely token)" o.Temperature
        if o.TopK < 0 then Errors.invalidArg "top-k" "0 (off) or a number of tokens >= 1" o.TopK
        if not (o.TopP > 0.0 && o.TopP <= 1.0) then Errors.invalidArg "top-p" "a probability in (0, 1] (1: off)" o.TopP

    /// The probabilities [V] the options leave of logits [V]: scaled by the temperature, cut to the top k and to the
    /// top-p nucleus, renormalised. Tokens cut away have probability 0. (Temperature 0 is greedy: see `next`.)
    let probabilities (o: SamplingOptions) (logits: Tensor) : Tensor =
        use _ = torch.no_grad()
        let v = logits.shape.[0]
        let scaled = logits.to_type(torch.float64) / (max o.Temperature 1e-8)
        let scaled =
            if o.TopK > 0 && int64 o.TopK < v then
                let struct (top: Tensor, _) = scaled.topk(o.TopK)
                let kth = top.[int64 (o.TopK - 1)]
                scaled.masked_fill(scaled.lt(kth), Double.NegativeInfinity)
            else scaled
        let probs = scaled.softmax(0L)
        if o.TopP < 1.0 then
            let struct (sorted: Tensor, order: Tensor) = probs.sort(descending = true)
            // Keep a token when the probability mass before it is below p: the first token always stays.
            let before = sorted.cumsum(0L) - sorted
            use p = o.TopP.ToScalar()
            let keepSorted = before.lt(p)
            let keep = torch.zeros_like(keepSorted).scatter(0L, order, keepSorted)
            let cut = probs * keep.to_type(probs.dtype)
            cut / cut.sum()
        else probs

    /// The id of the next token drawn from logits [V] (any device) with `generator` (a CPU generator, so sampling
    /// never touches libtorch's global one); temperature 0 returns the most likely token.
    let next (o: SamplingOptions) (generator: torch.Generator) (logits: Tensor) : int =
        use _ = torch.NewDisposeScope()
        let logits = logits.cpu()
        if o.Temperature = 0.0 then int (logits.argmax().ToInt64())
        else int (torch.multinomial(probabilities o logits, 1L, generator = generator).ToInt64())
