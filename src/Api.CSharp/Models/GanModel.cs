using TorchSharp;

namespace Generative.CSharp;

/// <summary>A built (and possibly trained) GAN: train it with <see cref="ImageModel.FitAsync"/>, then sample.</summary>
public sealed class GanModel : ImageModel
{
    internal GanModel(GenerativeContext context, string modelId, IReadOnlyList<(string Key, string Value)> settings,
                      ImageNormalization normalization, RunModel model)
        : base(context, modelId, settings, normalization, model) { }

    /// <summary>
    /// <paramref name="count"/> new images [count, 1, 28, 28] in [-1, 1] from fresh noise, without gradients, in
    /// evaluation mode; drawn by the moving average of the generator's weights when the model has one
    /// (<see cref="GanBuilder{TSelf}.WithEma"/>), else by the trained generator.
    /// </summary>
    /// <param name="count">Number of images.</param>
    /// <param name="seed">Seeds the noise (the same seed gives the same images); null draws a new seed each call.</param>
    /// <exception cref="ArgumentException">count is below 1.</exception>
    public torch.Tensor Sample(int count, long? seed = null) => SampleImages(count, seed, "at least 1");

    /// <summary>
    /// Images [N, 1, 28, 28] generated from given noise vectors [N, latent size], by the same network as
    /// <see cref="Sample"/> (the generator's moving average when there is one).
    /// </summary>
    public torch.Tensor Generate(torch.Tensor noise) => Apply(Model.Decode, noise, "generation");

    /// <summary>Loads a GAN saved with <see cref="TrainableModel.Save"/>.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a model file, a damaged one, or not a GAN; the message names the file.</exception>
    public static GanModel Load(GenerativeContext context, string path) =>
        ModelLoader.Load<GanModel>(context, path);
}
