namespace Generative.CSharp;

/// <summary>
/// A differentiable augmentation applied alike to real and generated images before a GAN's discriminator sees them
/// (Zhao et al., 2020, "Differentiable Augmentation for Data-Efficient GAN Training"); see
/// <see cref="GanBuilder{TSelf}.WithDiffAugment"/>.
/// </summary>
public enum DiffAugmentation
{
    /// <summary>Shifts each image by a random whole number of pixels, up to 1/8 of its size each way, filling with zeros.</summary>
    Translation,

    /// <summary>Zeroes a square of half the image's size at a random position in each image.</summary>
    Cutout,
}
