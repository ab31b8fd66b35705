namespace Generative.CSharp;

/// <summary>The autoencoders, each as a typed builder: <c>ctx.Autoencoders.Linear().WithHiddenSize(64).Build()</c>.</summary>
public sealed class AutoencoderCatalog
{
    private readonly GenerativeContext _context;

    internal AutoencoderCatalog(GenerativeContext context) => _context = context;

    /// <summary>AE-LIN: the single-layer autoencoder (784-128-784, ReLU, MSE, Adam 1e-3).</summary>
    public LinearAutoencoderBuilder Linear() => new(_context);
}
