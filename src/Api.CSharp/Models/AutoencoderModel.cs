using Microsoft.FSharp.Core;
using TorchSharp;

namespace Generative.CSharp;

/// <summary>A built (and possibly trained) autoencoder.</summary>
public class AutoencoderModel : TrainableModel
{
    internal AutoencoderModel(GenerativeContext context, string modelId, IReadOnlyList<(string Key, string Value)> settings,
                              Normalization normalization, RunModel model)
        : base(context, modelId, settings, normalization, model) { }

    /// <summary>Reconstructions of images [N, 1, 28, 28] (normalised like the training data).</summary>
    public torch.Tensor Reconstruct(torch.Tensor images) => Apply(Model.Reconstruct, images, "reconstruction");

    /// <summary>Codes [N, code size] of images [N, 1, 28, 28].</summary>
    public torch.Tensor Encode(torch.Tensor images) => Apply(Model.Encode, images, "encoding");

    /// <summary>Images [N, 1, 28, 28] decoded from codes [N, code size].</summary>
    public torch.Tensor Decode(torch.Tensor codes) => Apply(Model.Decode, codes, "decoding");

    /// <summary>Loads an autoencoder saved with <see cref="TrainableModel.Save"/>.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a model file, or a damaged one; the message names the file.</exception>
    public static AutoencoderModel Load(GenerativeContext context, string path)
    {
        var (modelId, settings, normalization, model) = LoadCore(context, path);
        return FSharpOption<FSharpFunc<torch.Generator, FSharpFunc<int, torch.Tensor>>>.get_IsSome(model.Sample)
            ? new VariationalAutoencoderModel(context, modelId, settings, normalization, model)
            : new AutoencoderModel(context, modelId, settings, normalization, model);
    }

    /// <summary>Reads a model file and checks that it holds an autoencoder.</summary>
    private protected static (string ModelId, IReadOnlyList<(string Key, string Value)> Settings, Normalization Normalization, RunModel Model)
        LoadCore(GenerativeContext context, string path)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var (modelId, settings, normalization, model) = Experiment.loadModel(path, context.DeviceChoice).ToValueTuple();
        if (FSharpOption<FSharpFunc<torch.Tensor, torch.Tensor>>.get_IsNone(model.Reconstruct))
            throw new InvalidDataException($"{path}: holds a {modelId}, which is not an autoencoder.");
        return (modelId, settings.Select(t => (t.Item1, t.Item2)).ToList(), NormalizationNames.Parse(normalization), model);
    }
}
