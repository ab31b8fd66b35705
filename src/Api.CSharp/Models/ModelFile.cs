namespace Generative.CSharp;

/// <summary>
/// A model file read back: what <see cref="TrainableModel.Save"/> wrote, with the catalog's word on what kind of model
/// it holds (<c>CatalogEntry.Kind</c>), so each wrapper's Load checks the kind instead of probing which operations the
/// loaded model happens to offer.
/// </summary>
internal sealed record ModelFile(string Path, string ModelId, IReadOnlyList<(string Key, string Value)> Settings,
                                 string NormalizationName, RunModel Model, ModelKind Kind)
{
    /// <summary>The images' normalisation an image model's file names ("none" for a text generator's).</summary>
    public ImageNormalization Normalization => NormalizationNames.Parse(NormalizationName);

    /// <summary>Reads a model file on the context's device.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a model file, or a damaged one; the message names the file.</exception>
    public static ModelFile Read(GenerativeContext context, string path)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var (modelId, settings, normalization, model) = Experiment.loadModel(path, context.DeviceChoice).ToValueTuple();
        return new ModelFile(path, modelId, settings.Select(t => (t.Item1, t.Item2)).ToList(), normalization, model,
                             Catalog.find(modelId).Kind);
    }

    /// <summary>
    /// This file's model when its kind is one of <paramref name="accepted"/>; otherwise its weights are released and an
    /// InvalidDataException names the file, what it holds and <paramref name="expected"/> (e.g. "a GAN").
    /// </summary>
    public ModelFile Expect(string expected, params ModelKind[] accepted)
    {
        if (accepted.Contains(Kind)) return this;
        foreach (var (_, module) in Model.Trainer.Modules) module.Dispose();
        throw new InvalidDataException($"{Path}: holds a {ModelId} ({KindName(Kind)}), which is not {expected}.");
    }

    private static string KindName(ModelKind kind) => kind.Tag switch
    {
        ModelKind.Tags.Autoencoder => "an autoencoder",
        ModelKind.Tags.VariationalAutoencoder => "a variational autoencoder",
        ModelKind.Tags.AdversarialAutoencoder => "an adversarial autoencoder",
        ModelKind.Tags.Gan => "a GAN",
        ModelKind.Tags.TextGenerator => "a text generator",
        _ => "a classifier",
    };
}
