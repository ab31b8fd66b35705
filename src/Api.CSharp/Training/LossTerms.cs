using System.Collections;

namespace Generative.CSharp;

/// <summary>
/// A step's named loss terms ("loss"; a GAN's "d_loss", "g_loss", "d_real", "d_fake"; ...) with the one every model
/// has, <see cref="Loss"/>. Reading a term the model does not report gives NaN instead of throwing: progress handlers
/// often run on the thread pool (<see cref="Progress{T}"/> posts there), where an exception ends the process. Use
/// <see cref="Names"/> or <see cref="ContainsKey"/> to see which terms there are.
/// </summary>
public sealed class LossTerms : IEnumerable<KeyValuePair<string, double>>
{
    private readonly IReadOnlyDictionary<string, double> _terms;

    internal LossTerms(IReadOnlyDictionary<string, double> terms, string lossTerm)
    {
        _terms = terms;
        LossTerm = lossTerm;
    }

    /// <summary>
    /// The name of the term <see cref="Loss"/> reads: "loss" for autoencoders, variational autoencoders
    /// (reconstruction + β·KL), classifiers and text generators (nats per token); "g_loss" for GANs (the generator's
    /// loss); "reconstruction" for adversarial autoencoders (the autoencoder phase's loss).
    /// </summary>
    public string LossTerm { get; }

    /// <summary>The model's main loss term (see <see cref="LossTerm"/>); NaN only if the step did not report it.</summary>
    public double Loss => this[LossTerm];

    /// <summary>The names of the terms this step reported, in alphabetical order.</summary>
    public IReadOnlyList<string> Names => _terms.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>Number of terms.</summary>
    public int Count => _terms.Count;

    /// <summary>The term called <paramref name="name"/>, or NaN when the model does not report it (never throws).</summary>
    public double this[string name] => name is not null && _terms.TryGetValue(name, out var value) ? value : double.NaN;

    /// <summary>True when the step reported a term called <paramref name="name"/>.</summary>
    public bool ContainsKey(string name) => name is not null && _terms.ContainsKey(name);

    /// <summary>The term called <paramref name="name"/>, when the step reported it.</summary>
    public bool TryGetValue(string name, out double value)
    {
        value = double.NaN;
        return name is not null && _terms.TryGetValue(name, out value);
    }

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, double>> GetEnumerator() => _terms.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The terms as "name value" pairs, e.g. "d_loss 0.693  g_loss 0.701".</summary>
    public override string ToString() => string.Join("  ", Names.Select(n => $"{n} {_terms[n]:G4}"));
}
