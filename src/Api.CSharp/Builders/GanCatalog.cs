namespace Generative.CSharp;

/// <summary>The GANs, each as a typed builder: <c>ctx.Gans.Dcgan().WithLoss(GanLoss.LeastSquares).Build()</c>.</summary>
public sealed class GanCatalog
{
    private readonly GenerativeContext _context;

    internal GanCatalog(GenerativeContext context) => _context = context;

    /// <summary>GAN-MLP-A (default), -B or -C.</summary>
    public MlpGanBuilder Mlp() => new(_context);

    /// <summary>LSGAN.</summary>
    public LeastSquaresGanBuilder LeastSquares() => new(_context);

    /// <summary>DCGAN-A.</summary>
    public DcganBuilder Dcgan() => new(_context);

    /// <summary>DCGAN-B (Keras style).</summary>
    public KerasDcganBuilder KerasDcgan() => new(_context);
}
