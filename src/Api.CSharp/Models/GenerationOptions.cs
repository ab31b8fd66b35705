namespace Generative.CSharp;

/// <summary>
/// How a <see cref="TextGeneratorModel"/> draws each next token, as <c>generative generate</c> does (its options
/// <c>--temperature</c>, <c>--top-k</c>, <c>--top-p</c>, <c>--seed</c>). Checked when used, by the library's own rule
/// (<c>TokenSampling.validate</c>): a bad value is an ArgumentException whose ParamName is "temperature", "top-k" or
/// "top-p".
/// </summary>
public sealed record GenerationOptions
{
    /// <summary>Divides the scores before the softmax: below 1 sharper, above 1 flatter; 0 always picks the most
    /// likely token (greedy decoding). Default 0.8; finite, at least 0.</summary>
    public double Temperature { get; init; } = 0.8;

    /// <summary>Draws only among the k most likely tokens (0, the default: all).</summary>
    public int TopK { get; init; }

    /// <summary>Draws only among the smallest set of most likely tokens whose probabilities add up to at least p
    /// (nucleus sampling); 1, the default: all. In (0, 1].</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Seeds the draws: the same seed, prompt and model give the same text. Null (the default) draws a new
    /// seed each call.</summary>
    public long? Seed { get; init; }

    /// <summary>The library's sampling options, checked.</summary>
    internal SamplingOptions ToCore()
    {
        var core = new SamplingOptions(Temperature, TopK, TopP);
        TokenSampling.validate(core);
        return core;
    }
}
