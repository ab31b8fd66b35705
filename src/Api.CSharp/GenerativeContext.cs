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
    /// <param name="seed">Seeds initial weights, data order and noise.</param>
    /// <param name="device">Where to compute; <see cref="ComputeDevice.Auto"/> picks CUDA when available.</param>
    /// <exception cref="InvalidOperationException">libtorch could not be loaded; the message names the runtime package to add.</exception>
    public GenerativeContext(long seed = 42, ComputeDevice device = ComputeDevice.Auto)
    {
        if (!Enum.IsDefined(device))
            throw new ArgumentException($"device: expected Auto, Cpu or Cuda but got {device}.", nameof(device));
        // Load libtorch now: the first tensor (often a data set's) would otherwise fail with TorchSharp's message,
        // which names no package to add.
        Generative.Device.ensureNativeLoaded();
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

    /// <summary>GAN builders: <c>Mlp()</c>, <c>LeastSquares()</c>, <c>Dcgan()</c>, <c>KerasDcgan()</c>.</summary>
    public GanCatalog Gans { get; }

    /// <summary>Language model builders: <c>CharLstm()</c>, <c>WordLstm()</c>; they train on a <see cref="TextData"/>.</summary>
    public TextGeneratorCatalog TextGenerators { get; }

    /// <summary>The torch device this context computes on (resolving Auto).</summary>
    public torch.Device TorchDevice => Generative.Device.resolve(DeviceChoice);

    internal Generative.DeviceChoice DeviceChoice => Device switch
    {
        ComputeDevice.Cpu => Generative.DeviceChoice.Cpu,
        ComputeDevice.Cuda => Generative.DeviceChoice.Cuda,
        _ => Generative.DeviceChoice.Auto,
    };
}
