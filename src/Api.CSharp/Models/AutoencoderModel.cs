using TorchSharp;

namespace Generative.CSharp;

/// <summary>A built (and possibly trained) autoencoder.</summary>
public class AutoencoderModel : ImageModel
{
    internal AutoencoderModel(GenerativeContext context, string modelId, IReadOnlyList<(string Key, string Value)> settings,
                              ImageNormalization normalization, RunModel model)
        : base(context, modelId, settings, normalization, model) { }

    /// <summary>Reconstructions of images [N, 1, 28, 28] (normalised like the training data).</summary>
    public torch.Tensor Reconstruct(torch.Tensor images) => Apply(Model.Reconstruct, images, "reconstruction");

    /// <summary>Codes [N, code size] of images [N, 1, 28, 28].</summary>
    public torch.Tensor Encode(torch.Tensor images) => Apply(Model.Encode, images, "encoding");

    /// <summary>Images [N, 1, 28, 28] decoded from codes [N, code size].</summary>
    public torch.Tensor Decode(torch.Tensor codes) => Apply(Model.Decode, codes, "decoding");

    /// <summary>
    /// Loads an autoencoder saved with <see cref="TrainableModel.Save"/>; a variational autoencoder's file gives a
    /// <see cref="VariationalAutoencoderModel"/> (the catalog entry's kind decides).
    /// </summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a model file, a damaged one, or not an autoencoder; the message names the file.</exception>
    public static AutoencoderModel Load(GenerativeContext context, string path) =>
        ModelLoader.Load<AutoencoderModel>(context, path);
}
