namespace Generative.CSharp;

/// <summary>The autoencoders, each as a typed builder: <c>ctx.Autoencoders.Linear().WithHiddenSize(64).Build()</c>.</summary>
public sealed class AutoencoderCatalog
{
    private readonly GenerativeContext _context;

    internal AutoencoderCatalog(GenerativeContext context) => _context = context;

    /// <summary>AE-LIN: the single-layer autoencoder (784-128-784, ReLU, MSE, Adam 1e-3).</summary>
    public LinearAutoencoderBuilder Linear() => new(_context);

    /// <summary>
    /// AE-DEEP: 784-128-64-36-18-9 and back, ReLU between layers, Sigmoid out, MSE on [0, 1] images, Adam lr 1e-3 with
    /// weight decay 1e-6. The source's lr 0.1 does not train; it stays selectable with
    /// <c>WithOptimizer(Optimizer.Adam(lr: 0.1, weightDecay: 1e-6))</c>.
    /// </summary>
    public DeepAutoencoderBuilder Deep() => new(_context);

    /// <summary>AE-3D: 784-128-64-12-3 and back, Tanh out, MSE summed per image, Adam 1e-3, on [-1, 1] images.</summary>
    public ThreeDAutoencoderBuilder ThreeD() => new(_context);

    /// <summary>AE-CONV: strided convolutions and max pooling to an 8x2x2 code, transposed convolutions back, Tanh out.</summary>
    public ConvolutionalAutoencoderBuilder Convolutional() => new(_context);

    /// <summary>AE-DENOISE: an autoencoder trained to map images corrupted by <paramref name="noise"/> to the clean ones.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="noise"/> is null.</exception>
    public DenoisingAutoencoderBuilder Denoising(Noise noise) => new(_context, noise ?? throw new ArgumentNullException(nameof(noise)));

    /// <summary>VAE: 784-400-(μ, log σ²) / z-400-784, reparameterised sampling, reconstruction + β·KL.</summary>
    /// <param name="latentDim">Dimension of the latent space (the source uses 20); checked by Build() (ParamName "latent-dim").</param>
    public VariationalAutoencoderBuilder Variational(int latentDim = 20) => new(_context, latentDim);

    /// <summary>
    /// AAE-U: an adversarial autoencoder (784-392-392-10 and back with a sigmoid output; a discriminator 10-1500-1500-1
    /// matches the codes to N(0, 5² I)), trained in the source's three phases on [0, 1] images, 1024 per step unless
    /// <see cref="TrainingOptions.BatchSize"/> says otherwise.
    /// </summary>
    public AdversarialAutoencoderBuilder Adversarial() => new(_context, AdversarialAutoencoderEntries.unsupervised);

    /// <summary>
    /// AAE-S: the supervised adversarial autoencoder, AAE-U whose decoder also takes the one-hot label, so the code
    /// holds only the style: a code can be written as any class (<see cref="AdversarialAutoencoderModel.StyleTransfer"/>).
    /// </summary>
    /// <remarks>The library's AAE-S: the discriminator on logits and also reading the label, which the Gaussian prior
    /// ignores, so the codes learn to carry no digit; 128 images per step unless <see cref="TrainingOptions.BatchSize"/>
    /// says otherwise. Its codes stop clustering by digit after about 20 to 30 epochs (docs/models.md).
    /// <see cref="SupervisedAdversarialAsInSource"/> is the source's setting.</remarks>
    public AdversarialAutoencoderBuilder SupervisedAdversarial() => new(_context, AdversarialAutoencoderEntries.supervised);

    /// <summary>
    /// AAE-S as the source trains it (<c>Aae.supervisedSource</c>): a discriminator on probabilities that does not read
    /// the label, and the encoder's adversarial phase at Adam 1e-4. Its codes keep clustering by digit. The run is still
    /// an <c>aae-s</c> run whose settings record the differences; give <c>TrainingOptions.BatchSize = 1024</c> for the
    /// source's batch size.
    /// </summary>
    public AdversarialAutoencoderBuilder SupervisedAdversarialAsInSource() =>
        new(_context, AdversarialAutoencoderEntries.supervised, AaeModule.supervisedSource);

    /// <summary>
    /// Loads an autoencoder (a variational autoencoder's file gives a <see cref="VariationalAutoencoderModel"/>; an adversarial autoencoder loads with <c>ctx.Load&lt;AdversarialAutoencoderModel&gt;(path)</c>) saved with <see cref="TrainableModel.Save"/>, or the newest checkpoint of a run folder of one.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such file or folder.</exception>
    /// <exception cref="InvalidDataException">Not a model file, a damaged one, or another kind of model; the message names
    /// the file and what it holds.</exception>
    public AutoencoderModel Load(string path) => ModelLoader.Load<AutoencoderModel>(_context, path);
}
