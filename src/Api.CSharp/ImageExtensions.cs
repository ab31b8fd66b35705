using TorchSharp;

namespace Generative.CSharp;

/// <summary>Saving image tensors as pictures.</summary>
public static class ImageExtensions
{
    /// <summary>
    /// Saves images [N, C, H, W] a model made or takes as one PNG grid, undoing the model's normalisation first: a
    /// GAN's samples in [-1, 1] and an autoencoder's reconstructions in [0, 1] both come out as they should.
    /// </summary>
    /// <param name="images">C is 1 (grey) or 3 (RGB).</param>
    /// <param name="path">The PNG file to write (atomically).</param>
    /// <param name="model">The model whose <see cref="ImageModel.Normalization"/> the images are in.</param>
    /// <param name="columns">Images per row.</param>
    public static void SaveGrid(this torch.Tensor images, string path, ImageModel model, int columns = 8)
    {
        ArgumentNullException.ThrowIfNull(model);
        images.SaveGrid(path, model.Normalization, columns);
    }

    /// <summary>Saves images [N, C, H, W] of a data set as one PNG grid, undoing its normalisation first.</summary>
    /// <param name="images">C is 1 (grey) or 3 (RGB).</param>
    /// <param name="path">The PNG file to write (atomically).</param>
    /// <param name="data">The data set whose <see cref="ImageData.Normalization"/> the images are in.</param>
    /// <param name="columns">Images per row.</param>
    public static void SaveGrid(this torch.Tensor images, string path, ImageData data, int columns = 8)
    {
        ArgumentNullException.ThrowIfNull(data);
        images.SaveGrid(path, data.Normalization, columns);
    }

    /// <summary>
    /// Saves images [N, C, H, W] as one PNG grid, undoing <paramref name="normalization"/> first. It has no default on
    /// purpose: [-1, 1] images saved as [0, 1] come out dark and clipped. The overloads taking a model or a data set
    /// take it from them.
    /// </summary>
    /// <param name="images">C is 1 (grey) or 3 (RGB).</param>
    /// <param name="path">The PNG file to write (atomically).</param>
    /// <param name="normalization">How the images were normalised.</param>
    /// <param name="columns">Images per row.</param>
    public static void SaveGrid(this torch.Tensor images, string path, ImageNormalization normalization, int columns = 8)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!Enum.IsDefined(normalization))
            throw new ArgumentException($"normalization: expected an ImageNormalization value but got {normalization}.", nameof(normalization));
        if (columns < 1) throw new ArgumentException($"columns: expected at least 1 but got {columns}.", nameof(columns));
        using var cpu = images.detach().cpu();
        using var pixels = Generative.Transforms.denormalize(NormalizationNames.ToCore(normalization), cpu);
        Generative.Images.saveGrid(path, columns, pixels);
    }
}
