using Microsoft.FSharp.Collections;

namespace Generative.CSharp;

/// <summary>
/// The Fashion-MNIST / MNIST classifiers, each as a typed builder over its catalog model (<c>ClassifierEntries</c>):
/// <c>ctx.Classifiers.LeNet5().WithValidation(0.1, patience: 10).Build()</c>.
/// </summary>
public sealed class ClassifierCatalog
{
    private readonly GenerativeContext _context;

    internal ClassifierCatalog(GenerativeContext context) => _context = context;

    /// <summary>CLS-MLP: Flatten -> Dense(hidden) ReLU -> Dense 10, cross-entropy, Adam 1e-3, [0, 1] input.</summary>
    /// <param name="hiddenSize">Width of the hidden layer: the architecture <c>Perceptron [hiddenSize]</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="hiddenSize"/> is not positive; ParamName is "architecture",
    /// the setting key (checked here by the library's rule, so the mistake surfaces where it is made).</exception>
    public ClassifierBuilder Mlp(int hiddenSize = 128)
    {
        var spec = ClassifierEntries.mlp;
        var architecture = ClassifierArchitecture.NewPerceptron(FSharpList<int>.Cons(hiddenSize, FSharpList<int>.Empty));
        var builder = new ClassifierBuilder(_context, spec).WithModel(m => ClassifierBuilder.Copy(m, architecture: architecture));
        spec.Validate.Invoke(builder.Config);
        return builder;
    }

    /// <summary>CLS-LENET: LeNet-5 with tanh and max pooling, cross-entropy, Adam 1e-3, [0, 1] input.</summary>
    public ClassifierBuilder LeNet5() => new(_context, ClassifierEntries.leNet5);

    /// <summary>cls-cnn: batch-normalised CNN with dropout and shift/flip augmentation, mean/std input.</summary>
    public ClassifierBuilder Cnn() => new(_context, ClassifierEntries.cnn);

    /// <summary>
    /// CLS-MOBILENET: frozen MobileNetV2 with torchvision's ImageNet weights (a safetensors file of
    /// <c>torchvision.models.mobilenet_v2(weights='IMAGENET1K_V1').state_dict()</c>), global average pooling and a
    /// new 10-class head; features are computed once per training run. [0, 1] input.
    /// </summary>
    /// <param name="weightsPath">The weights file: the config's Weights (an empty path is rejected by Build() with
    /// ParamName "weights", the setting key).</param>
    /// <exception cref="ArgumentNullException"><paramref name="weightsPath"/> is null.</exception>
    public ClassifierBuilder MobileNetV2(string weightsPath)
    {
        ArgumentNullException.ThrowIfNull(weightsPath);
        return new ClassifierBuilder(_context, ClassifierEntries.mobileNetV2).WithModel(m => ClassifierBuilder.Copy(m, weights: weightsPath));
    }

    /// <summary>CLS-PYR: Gaussian-pyramid features and a one-vs-rest linear SVM (hinge loss, C = 1), [0, 1] input.</summary>
    public ClassifierBuilder PyramidSvm() => new(_context, ClassifierEntries.pyramidSvm);

    /// <summary>
    /// Loads a classifier saved with <see cref="TrainableModel.Save"/>, or the newest checkpoint of a run folder of one.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such file or folder.</exception>
    /// <exception cref="InvalidDataException">Not a model file, a damaged one, or another kind of model; the message names
    /// the file and what it holds.</exception>
    public ClassifierModel Load(string path) => ModelLoader.Load<ClassifierModel>(_context, path);
}
