namespace Generative.CSharp;

/// <summary>The GANs, each as a typed builder: <c>ctx.Gans.Dcgan().WithLoss(AdversarialLoss.LeastSquares).Build()</c>.</summary>
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

    /// <summary>DCGAN-PLUS: DCGAN-A with the hinge loss, spectral norm on D and a moving average of the generator (beyond the sources).</summary>
    public DcganPlusBuilder DcganPlus() => new(_context);

    /// <summary>GAN-MLP-PLUS: GAN-MLP-C with the hinge loss, the minibatch standard deviation in D and a moving average of the generator (beyond the sources).</summary>
    public MlpPlusGanBuilder MlpPlus() => new(_context);

    /// <summary>DCGAN-B (Keras style).</summary>
    public KerasDcganBuilder KerasDcgan() => new(_context);

    /// <summary>
    /// Loads a GAN saved with <see cref="TrainableModel.Save"/>, or the newest checkpoint of a run folder of one.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such file or folder.</exception>
    /// <exception cref="InvalidDataException">Not a model file, a damaged one, or another kind of model; the message names
    /// the file and what it holds.</exception>
    public GanModel Load(string path) => ModelLoader.Load<GanModel>(_context, path);
}
