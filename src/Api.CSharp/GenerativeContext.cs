using TorchSharp;

namespace Generative.CSharp;

/// <summary>Where computations run.</summary>
public enum ComputeDevice
{
    /// <summary>CUDA when available, else the CPU.</summary>
    Auto,
    /// <summary>Always the CPU.</summary>
    Cpu,
    /// <summary>CUDA device 0; an error when no CUDA runtime is available.</summary>
    Cuda,
}

/// <summary>
/// The entry point of the C# API, like ML.NET's MLContext: holds the seed and the device, and offers catalogs
/// of data sets and models. Every model built from one context with the same settings starts from the same weights.
/// <para>
/// Builders hold the library's config record of their catalog model and validate it with the library's own rules, the
/// ones <c>generative train --set key=value</c> and run.json go through. A bad value is an
/// <see cref="ArgumentException"/> whose ParamName is the setting key in kebab-case, as <c>--set</c> and run.json name
/// it: "latent-dim", "hidden-channels", "encoder-widths", "validation", "patience", "d-steps", "sequence-length", ...;
/// an optimiser's field is named as <see cref="Optimizer"/>'s parameters ("lr", "beta1", "alpha", "momentum",
/// "weightDecay"), a noise's as <see cref="Noise"/>'s ("std", "probability"), a latent prior's by its setting key ("prior") and a generation option by its
/// <c>generative generate</c> option ("temperature", "top-k", "top-p"). Checks that are C#'s own keep their C# names: a null argument is an
/// <see cref="ArgumentNullException"/> naming the parameter, and a value outside a C# enum is named by its setting key
/// ("network", "likelihood", "noise", "variant", "normalization").
/// </para>
/// </summary>
public sealed class GenerativeContext
{
    /// <summary>Creates a context.</summary>
    /// <exception cref="ArgumentException">An unknown device, or fewer than 1 thread (ParamName "threads").</exception>
    /// <param name="seed">Seeds initial weights, data order and noise.</param>
    /// <param name="device">Where to compute; <see cref="ComputeDevice.Auto"/> picks CUDA when available.</param>
    /// <param name="threads">CPU threads libtorch may use (see <see cref="Threads"/>); null leaves the current count.</param>
    /// <exception cref="InvalidOperationException">libtorch could not be loaded; the message names the runtime package to add.</exception>
    public GenerativeContext(long seed = 42, ComputeDevice device = ComputeDevice.Auto, int? threads = null)
    {
        if (!Enum.IsDefined(device))
            throw new ArgumentException($"device: expected Auto, Cpu or Cuda but got {device}.", nameof(device));
        // Load libtorch now: the first tensor (often a data set's) would otherwise fail with TorchSharp's message,
        // which names no package to add.
        Generative.Device.ensureNativeLoaded();
        if (threads is { } count) Threads = count;
        Seed = seed;
        Device = device;
        Data = new DataCatalog(this);
        Autoencoders = new AutoencoderCatalog(this);
        Classifiers = new ClassifierCatalog(this);
        Gans = new GanCatalog(this);
        TextGenerators = new TextGeneratorCatalog(this);
    }

    /// <summary>The seed of everything random in models built from this context.</summary>
    public long Seed { get; }

    /// <summary>The requested device.</summary>
    public ComputeDevice Device { get; }

    /// <summary>Data sets: MNIST and Fashion-MNIST (texts: <see cref="TextData.FromFile"/>, <see cref="TextData.FromString"/>).</summary>
    public DataCatalog Data { get; }

    /// <summary>Autoencoder builders.</summary>
    public AutoencoderCatalog Autoencoders { get; }

    /// <summary>Classifier builders (Fashion-MNIST, MNIST).</summary>
    public ClassifierCatalog Classifiers { get; }

    /// <summary>GAN builders: <c>Mlp()</c>, <c>LeastSquares()</c>, <c>Dcgan()</c>, <c>KerasDcgan()</c>, and beyond the sources <c>DcganPlus()</c> and <c>MlpPlus()</c>.</summary>
    public GanCatalog Gans { get; }

    /// <summary>Language model builders: <c>CharLstm()</c>, <c>WordLstm()</c>; they train on a <see cref="TextData"/>.</summary>
    public TextGeneratorCatalog TextGenerators { get; }

    /// <summary>
    /// CPU threads libtorch uses for one operation, as <c>generative --threads N</c> sets them (default: one per core).
    /// libtorch has one such setting per process, so this reads and sets it for every context. On a machine that other
    /// work keeps busy, fewer threads than free cores is often much faster: OpenMP threads waiting for a busy core spin
    /// against each other.
    /// </summary>
    /// <exception cref="ArgumentException">Set below 1; ParamName is "threads".</exception>
    public int Threads
    {
        get => torch.get_num_threads();
        set
        {
            if (value < 1) throw new ArgumentException($"threads: expected at least 1 CPU thread but got {value}.", "threads");
            torch.set_num_threads(value);
        }
    }

    /// <summary>
    /// Loads a model saved with <see cref="TrainableModel.Save"/>, or the newest checkpoint of a run folder, as the
    /// wrapper of its kind: a <see cref="GanModel"/>, <see cref="AutoencoderModel"/>, <see cref="VariationalAutoencoderModel"/>,
    /// <see cref="AdversarialAutoencoderModel"/>, <see cref="ClassifierModel"/> or <see cref="TextGeneratorModel"/>
    /// (test it with <c>is</c>, or ask for one with <see cref="Load{TModel}"/>).
    /// </summary>
    /// <param name="path">A .safetensors model file or a run folder.</param>
    /// <exception cref="FileNotFoundException">No such file or folder, or a run folder without a checkpoint.</exception>
    /// <exception cref="InvalidDataException">Not a model file or run folder, or a damaged one; the message names it.</exception>
    public TrainableModel Load(string path) => ModelLoader.Wrap(this, ModelLoader.Read(this, path));

    /// <summary>
    /// Loads a model file or a run folder's newest checkpoint as a <typeparamref name="TModel"/>, e.g.
    /// <c>ctx.Load&lt;GanModel&gt;("gan.safetensors")</c>; <see cref="AutoencoderModel"/> also takes a variational
    /// autoencoder, <see cref="ImageModel"/> any image model.
    /// </summary>
    /// <param name="path">A .safetensors model file or a run folder.</param>
    /// <exception cref="FileNotFoundException">No such file or folder, or a run folder without a checkpoint.</exception>
    /// <exception cref="InvalidDataException">Not a model file, a damaged one, or another kind of model: the message names
    /// the file and what it holds, e.g. "holds a ae-linear (an autoencoder), which is not a GAN".</exception>
    public TModel Load<TModel>(string path) where TModel : TrainableModel => ModelLoader.Load<TModel>(this, path);

    /// <summary>
    /// Builds the catalog model <paramref name="modelId"/> (e.g. "ae-linear") and copies into it a PyTorch state dict,
    /// <c>torch.save(model.state_dict(), path)</c>, whose names are the model's (docs/pytorch.md): every expected tensor
    /// must be there with its shape and dtype, and no other. Returns the wrapper of its kind, as <see cref="Load"/> does;
    /// <see cref="TrainableModel.Save"/> then writes a model file.
    /// </summary>
    /// <param name="modelId">A catalog id (<c>generative models</c>).</param>
    /// <param name="path">A .pth/.pt file written by <c>torch.save</c> (PyTorch 1.6 or later).</param>
    /// <param name="settings">The model's settings as <c>--set key=value</c> takes them (default: the catalog's).</param>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a state dict, or a tensor missing, extra or of another shape; the
    /// message names the file and the tensor.</exception>
    public TrainableModel ImportPyTorch(string modelId, string path, IReadOnlyDictionary<string, string>? settings = null) =>
        ModelLoader.Wrap(this, ModelLoader.ImportPyTorch(this, modelId, path, settings));

    /// <summary>
    /// Continues the run in <paramref name="runFolder"/> from its newest checkpoint on a background thread, as
    /// <c>generative train --resume</c> does: the model is built from the run's settings and the data is the data set
    /// (from the cache) or text file its run.json names. A run trained on data given in code (an IDX folder, a string)
    /// resumes with the model's own <see cref="ImageModel.ResumeAsync"/> instead.
    /// </summary>
    /// <param name="runFolder">The run folder.</param>
    /// <param name="epochs">The run's new epoch count; null keeps its own length.</param>
    /// <param name="maxSteps">A new step budget instead, counted from the run's first step; null keeps its own length.</param>
    /// <param name="progress">Receives a snapshot after every step.</param>
    /// <param name="cancellationToken">Stops training after the current step, or skips the test evaluation after it (within about a second); a checkpoint is saved first.</param>
    /// <returns>The trained model (yours to dispose) and the run.</returns>
    /// <exception cref="ArgumentException">Both <paramref name="epochs"/> and <paramref name="maxSteps"/>, a value below 1,
    /// or a run whose data was given in code (ParamName "runFolder").</exception>
    /// <exception cref="FileNotFoundException">Not a run folder, no checkpoint in it yet, or its data set is not fetched.</exception>
    public Task<ResumedRun> ResumeAsync(string runFolder, int? epochs = null, long? maxSteps = null,
                                        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        RunResumption.ResumeAsync(this, runFolder, epochs, maxSteps, progress, cancellationToken);

    /// <summary>The torch device this context computes on (resolving Auto).</summary>
    public torch.Device TorchDevice => Generative.Device.resolve(DeviceChoice);

    internal Generative.DeviceChoice DeviceChoice => Device switch
    {
        ComputeDevice.Cpu => Generative.DeviceChoice.Cpu,
        ComputeDevice.Cuda => Generative.DeviceChoice.Cuda,
        _ => Generative.DeviceChoice.Auto,
    };
}
