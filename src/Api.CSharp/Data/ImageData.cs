using TorchSharp;

namespace Generative.CSharp;

/// <summary>How pixel values are scaled before a model sees them.</summary>
public enum ImageNormalization
{
    /// <summary>[0, 1] (torchvision's ToTensor).</summary>
    ZeroToOne,
    /// <summary>[-1, 1], i.e. (x - 0.5) / 0.5; the GAN sources use it with Tanh outputs.</summary>
    MinusOneToOne,
    /// <summary>(x - 0.1307) / 0.3081, MNIST's mean and standard deviation.</summary>
    MeanStd,
}

/// <summary>An image data set held in memory: a training and a test split.</summary>
public sealed class ImageData
{
    internal ImageData(Generative.ImageDataset dataset, ImageNormalization normalization)
    {
        Dataset = dataset;
        Normalization = normalization;
    }

    internal Generative.ImageDataset Dataset { get; }

    /// <summary>"MNIST" or "Fashion-MNIST".</summary>
    public string Name => Dataset.Name;

    /// <summary>The normalisation applied to the images.</summary>
    public ImageNormalization Normalization { get; }

    /// <summary>Class names, by label.</summary>
    public IReadOnlyList<string> Classes => Dataset.Classes.ToList();

    /// <summary>Training images [N, 1, 28, 28] (float32, normalised).</summary>
    public torch.Tensor TrainImages => Dataset.Train.Images;

    /// <summary>Training labels [N] (int64).</summary>
    public torch.Tensor TrainLabels => Dataset.Train.Labels;

    /// <summary>Test images [N, 1, 28, 28] (float32, normalised).</summary>
    public torch.Tensor TestImages => Dataset.Test.Images;

    /// <summary>Test labels [N] (int64).</summary>
    public torch.Tensor TestLabels => Dataset.Test.Labels;

    internal string NormalizationName => NormalizationNames.Of(Normalization);
}

internal static class NormalizationNames
{
    public static string Of(ImageNormalization n) => n switch
    {
        ImageNormalization.MinusOneToOne => "minus-one-one",
        ImageNormalization.MeanStd => "mean-std",
        _ => "zero-one",
    };

    public static ImageNormalization Parse(string name) => name switch
    {
        "minus-one-one" => ImageNormalization.MinusOneToOne,
        "mean-std" => ImageNormalization.MeanStd,
        _ => ImageNormalization.ZeroToOne,
    };

    public static Generative.Normalization ToCore(ImageNormalization n) => Generative.Experiment.parseNormalization(Of(n));
}
