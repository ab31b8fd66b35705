using TorchSharp;

namespace Generative.CSharp;

/// <summary>Saving image tensors as pictures.</summary>
public static class ImageExtensions
{
    /// <summary>Saves images [N, C, H, W] as one PNG grid, undoing <paramref name="normalization"/> first.</summary>
    /// <param name="images">C is 1 (grey) or 3 (RGB).</param>
    /// <param name="path">The PNG file to write (atomically).</param>
    /// <param name="normalization">How the images were normalised.</param>
    /// <param name="columns">Images per row.</param>
    public static void SaveGrid(this torch.Tensor images, string path, Normalization normalization = Normalization.ZeroToOne, int columns = 8)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (columns < 1) throw new ArgumentException($"columns: expected at least 1 but got {columns}.", nameof(columns));
        using var cpu = images.detach().cpu();
        using var pixels = Generative.Transforms.denormalize(NormalizationNames.ToCore(normalization), cpu);
        Generative.Images.saveGrid(path, columns, pixels);
    }
}
