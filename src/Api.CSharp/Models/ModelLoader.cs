using Microsoft.FSharp.Collections;

namespace Generative.CSharp;

/// <summary>
/// Turns a model file, or a run folder's newest checkpoint, into the facade's wrapper of its kind (the catalog entry's
/// <c>ModelKind</c> decides): what <see cref="GenerativeContext.Load"/> and the catalogs' Load methods share.
/// </summary>
internal static class ModelLoader
{
    /// <summary>Reads <paramref name="path"/>: a model file written by Save, or a run folder (its newest checkpoint).</summary>
    /// <exception cref="FileNotFoundException">No such file or folder, or a run folder without a checkpoint.</exception>
    /// <exception cref="InvalidDataException">Not a model file or run folder, or a damaged one; the message names it.</exception>
    public static ModelFile Read(GenerativeContext context, string path)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!Directory.Exists(path)) return ModelFile.Read(context, path);
        var (settings, model) = Experiment.load(path, context.DeviceChoice).ToValueTuple();
        var entry = Catalog.find(settings.ModelId);
        return new ModelFile(path, settings.ModelId, settings.ModelSettings.Select(t => (t.Item1, t.Item2)).ToList(),
                             RunSettingsModule.normalizationOf(entry, settings), model, entry.Kind);
    }

    /// <summary>
    /// The catalog model <paramref name="modelId"/> built with <paramref name="settings"/> and holding the PyTorch state
    /// dict at <paramref name="path"/> (<c>Experiment.importPyTorch</c>: names, shapes and dtypes checked).
    /// </summary>
    public static ModelFile ImportPyTorch(GenerativeContext context, string modelId, string path,
                                          IReadOnlyDictionary<string, string>? settings)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var entry = Catalog.find(modelId);
        var pairs = (settings ?? new Dictionary<string, string>()).Select(kv => (kv.Key, kv.Value)).ToList();
        var model = Experiment.importPyTorch(entry.Id, ListModule.OfSeq(pairs.Select(p => Tuple.Create(p.Key, p.Value))), path,
                                             FSharpList<Tuple<string, string>>.Empty, context.DeviceChoice);
        return new ModelFile(path, entry.Id, pairs, entry.Normalization, model, entry.Kind);
    }

    /// <summary>The wrapper of the file's kind of model.</summary>
    public static TrainableModel Wrap(GenerativeContext context, ModelFile file) => file.Kind.Tag switch
    {
        ModelKind.Tags.Gan => new GanModel(context, file.ModelId, file.Settings, file.Normalization, file.Model),
        ModelKind.Tags.VariationalAutoencoder => new VariationalAutoencoderModel(context, file.ModelId, file.Settings, file.Normalization, file.Model),
        ModelKind.Tags.Autoencoder => new AutoencoderModel(context, file.ModelId, file.Settings, file.Normalization, file.Model),
        ModelKind.Tags.AdversarialAutoencoder => new AdversarialAutoencoderModel(context, file.ModelId, file.Settings, file.Normalization, file.Model),
        ModelKind.Tags.Classifier => new ClassifierModel(context, file.ModelId, file.Settings, file.Normalization, file.Model),
        _ => TextGeneratorModel.FromFile(context, file),
    };

    /// <summary>
    /// The file's model as a <typeparamref name="TModel"/>; otherwise its weights are released and an
    /// InvalidDataException names the file, what it holds and what was asked for.
    /// </summary>
    public static TModel Load<TModel>(GenerativeContext context, string path) where TModel : TrainableModel
    {
        var file = Read(context, path);
        var accepted = KindsOf(typeof(TModel));
        return (TModel)Wrap(context, file.Expect(NameOf(typeof(TModel)), accepted));
    }

    /// <summary>The kinds of model a wrapper type holds (a base type holds its subclasses' kinds).</summary>
    private static ModelKind[] KindsOf(Type type) =>
        new[] { ModelKind.Autoencoder, ModelKind.VariationalAutoencoder, ModelKind.AdversarialAutoencoder, ModelKind.Gan,
                ModelKind.Classifier, ModelKind.TextGenerator }
        .Where(kind => type.IsAssignableFrom(WrapperOf(kind))).ToArray();

    private static Type WrapperOf(ModelKind kind) => kind.Tag switch
    {
        ModelKind.Tags.Gan => typeof(GanModel),
        ModelKind.Tags.VariationalAutoencoder => typeof(VariationalAutoencoderModel),
        ModelKind.Tags.Autoencoder => typeof(AutoencoderModel),
        ModelKind.Tags.AdversarialAutoencoder => typeof(AdversarialAutoencoderModel),
        ModelKind.Tags.Classifier => typeof(ClassifierModel),
        _ => typeof(TextGeneratorModel),
    };

    private static string NameOf(Type type) =>
        type == typeof(GanModel) ? "a GAN"
        : type == typeof(VariationalAutoencoderModel) ? "a variational autoencoder"
        : type == typeof(AutoencoderModel) ? "an autoencoder"
        : type == typeof(AdversarialAutoencoderModel) ? "an adversarial autoencoder"
        : type == typeof(ClassifierModel) ? "a classifier"
        : type == typeof(TextGeneratorModel) ? "a text generator"
        : type == typeof(ImageModel) ? "an image model"
        : "a " + type.Name;
}
