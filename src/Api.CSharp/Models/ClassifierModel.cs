using TorchSharp;

namespace Generative.CSharp;

/// <summary>A built (and possibly trained) image classifier.</summary>
public sealed class ClassifierModel : ImageModel
{
    internal ClassifierModel(GenerativeContext context, string modelId, IReadOnlyList<(string Key, string Value)> settings,
                             ImageNormalization normalization, RunModel model)
        : base(context, modelId, settings, normalization, model) { }

    /// <summary>Class probabilities [N, classes] (softmax) of images [N, 1, 28, 28] normalised like the training data.</summary>
    public torch.Tensor PredictProbabilities(torch.Tensor images) => Apply(Model.Classify, images, "classification");

    /// <summary>The most probable class of each image [N, 1, 28, 28].</summary>
    public int[] Predict(torch.Tensor images)
    {
        using var p = PredictProbabilities(images);
        using var best = p.argmax(1L);
        using var cpu = best.cpu();
        return cpu.data<long>().ToArray().Select(v => (int)v).ToArray();
    }

    /// <summary>Penultimate-layer features [N, D] of images [N, 1, 28, 28].</summary>
    public torch.Tensor Features(torch.Tensor images) => Apply(Model.Encode, images, "feature extraction");

    /// <summary>Loads a classifier saved with <see cref="TrainableModel.Save"/>.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a model file, a damaged one, or not a classifier.</exception>
    public static ClassifierModel Load(GenerativeContext context, string path) =>
        ModelLoader.Load<ClassifierModel>(context, path);
}
