using TorchSharp;

namespace Generative.CSharp;

/// <summary>A built (and possibly trained) variational autoencoder: an autoencoder that can also sample new images.</summary>
public sealed class VariationalAutoencoderModel : AutoencoderModel
{
    internal VariationalAutoencoderModel(GenerativeContext context, string modelId, IReadOnlyList<(string Key, string Value)> settings,
                                         ImageNormalization normalization, RunModel model)
        : base(context, modelId, settings, normalization, model) { }

    /// <summary>
    /// <paramref name="count"/> images [count, 1, 28, 28] (normalised like the training data) decoded from z ~ N(0, I).
    /// </summary>
    /// <param name="count">Number of images.</param>
    /// <param name="seed">Seeds the latent noise (the same seed gives the same images); null draws a new seed each call.</param>
    /// <exception cref="ArgumentException"><paramref name="count"/> is below 1; ParamName is "count".</exception>
    public torch.Tensor Sample(int count, long? seed = null) => SampleImages(count, seed, "at least 1 image");

    /// <summary>Loads a variational autoencoder saved with <see cref="TrainableModel.Save"/>.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a model file, not a VAE, or a damaged file; the message names the file.</exception>
    public static new VariationalAutoencoderModel Load(GenerativeContext context, string path) =>
        ModelLoader.Load<VariationalAutoencoderModel>(context, path);
}
