using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using TorchSharp;

namespace Generative.CSharp;

/// <summary>
/// A built (and possibly trained) adversarial autoencoder: encodes images, decodes codes, samples from its prior and,
/// supervised (AAE-S), writes a code's style as any class. Train it with <see cref="ImageModel.FitAsync"/> on [0, 1]
/// images.
/// </summary>
public sealed class AdversarialAutoencoderModel : ImageModel
{
    // The model's networks with their config: what the catalog's operations do not offer (labels at AAE-S's decoder,
    // the style grids) reaches the same weights through it.
    private readonly Aae _aae;

    internal AdversarialAutoencoderModel(GenerativeContext context, string modelId, IReadOnlyList<(string Key, string Value)> settings,
                                         ImageNormalization normalization, RunModel model)
        : base(context, modelId, settings, normalization, model)
    {
        _aae = AdversarialAutoencoderEntries.ofRunModel(modelId, ListModule.OfSeq(settings.Select(s => Tuple.Create(s.Key, s.Value))), model);
    }

    /// <summary>True for AAE-S: its decoder takes each code's label (<see cref="Decode(torch.Tensor, torch.Tensor)"/>).</summary>
    public bool IsSupervised => _aae.Config.Supervised;

    /// <summary>Size of the codes.</summary>
    public int CodeSize => _aae.Config.CodeSize;

    /// <summary>Number of classes of the labels.</summary>
    public int Classes => _aae.Config.Classes;

    /// <summary>The prior the codes were matched to.</summary>
    public CodePrior Prior => CodePrior.Of(_aae.Config.Prior);

    /// <summary>Codes [N, <see cref="CodeSize"/>] of images [N, 1, 28, 28].</summary>
    public torch.Tensor Encode(torch.Tensor images) => Apply(Model.Encode, images, "encoding");

    /// <summary>Images [N, 1, 28, 28] in [0, 1] decoded from codes [N, <see cref="CodeSize"/>] (AAE-U).</summary>
    /// <exception cref="InvalidOperationException">The model is AAE-S, whose decoder also takes each code's label: call
    /// <see cref="Decode(torch.Tensor, torch.Tensor)"/>.</exception>
    /// <exception cref="ArgumentException">Codes of another shape; ParamName is "codes".</exception>
    public torch.Tensor Decode(torch.Tensor codes)
    {
        if (IsSupervised)
            throw new InvalidOperationException(
                $"{ModelId}'s decoder writes each code as a class: give the labels too, with Decode(codes, labels).");
        return Apply(Model.Decode, codes, "decoding");
    }

    /// <summary>
    /// Images [N, 1, 28, 28] in [0, 1] decoded from codes [N, <see cref="CodeSize"/>], each written as the class of its
    /// label (AAE-S).
    /// </summary>
    /// <param name="codes">Codes [N, <see cref="CodeSize"/>], e.g. from <see cref="Encode"/>.</param>
    /// <param name="labels">Class indices [N] in [0, <see cref="Classes"/>).</param>
    /// <exception cref="InvalidOperationException">The model is AAE-U, whose decoder takes codes only: call
    /// <see cref="Decode(torch.Tensor)"/>.</exception>
    /// <exception cref="ArgumentException">Codes of another shape (ParamName "codes"), or labels of another shape or out
    /// of range (ParamName "labels").</exception>
    public torch.Tensor Decode(torch.Tensor codes, torch.Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(codes);
        ArgumentNullException.ThrowIfNull(labels);
        if (!IsSupervised)
            throw new InvalidOperationException($"{ModelId}'s decoder takes codes only, without labels: call Decode(codes).");
        return Run(() =>
        {
            using var z = codes.to(Context.TorchDevice);
            using var l = labels.to(Context.TorchDevice);
            return AaeModule.decode(_aae, z, FSharpOption<torch.Tensor>.Some(l));
        });
    }

    /// <summary>
    /// <paramref name="count"/> images [count, 1, 28, 28] in [0, 1] decoded from codes drawn from the prior. For AAE-S
    /// (or labels tied to the prior) image i is written as class i mod <see cref="Classes"/>, so a grid of
    /// <see cref="Classes"/> columns counts through the classes in every row.
    /// </summary>
    /// <param name="count">Number of images.</param>
    /// <param name="seed">Seeds the prior draws (the same seed gives the same images); null draws a new seed each call.</param>
    /// <exception cref="ArgumentException"><paramref name="count"/> is below 1; ParamName is "count".</exception>
    public torch.Tensor Sample(int count, long? seed = null) => SampleImages(count, seed, "at least 1 image");

    /// <summary>
    /// AAE-S's style traversal: for code dimension 1 and then 2, one row per label of <paramref name="labels"/> whose
    /// codes sit at the prior's centre (the label's component centre when labels are tied to a mixture) with that
    /// dimension swept over <paramref name="steps"/> points across ± two of the prior's standard deviations. Images
    /// [2 · labels · steps, 1, 28, 28] in [0, 1]; save them as a grid of <paramref name="steps"/> columns.
    /// </summary>
    /// <param name="labels">The rows' classes (null: 0 to 4, as the source draws it).</param>
    /// <param name="steps">Points per row (at least 2; default 10).</param>
    /// <exception cref="InvalidOperationException">The model is AAE-U: its decoder takes no label.</exception>
    /// <exception cref="ArgumentException">No label or one out of [0, <see cref="Classes"/>) (ParamName "labels"), fewer
    /// than 2 steps ("steps"), or a code of one dimension ("code-size").</exception>
    public torch.Tensor StyleTraversal(IReadOnlyList<int>? labels = null, int steps = 10)
    {
        RequireSupervised("style traversal");
        var rows = labels ?? AdversarialAutoencoderEntries.traversalLabels.ToList();
        if (rows.Count == 0) throw new ArgumentException("labels: expected at least one label but got none.", nameof(labels));
        foreach (var label in rows)
            if (label < 0 || label >= Classes)
                throw new ArgumentException($"labels: expected class indices in [0, {Classes}) but got {label}.", nameof(labels));
        return Run(() => AaeModule.styleTraversal(_aae, ListModule.OfSeq(rows), steps));
    }

    /// <summary>
    /// AAE-S's style transfer: each image is encoded, and its code decoded as every class. Rows of 1 +
    /// <see cref="Classes"/> images: the image, then its style written as class 0, 1, ...; images
    /// [N · (1 + <see cref="Classes"/>), 1, 28, 28] in [0, 1]; save them as a grid of 1 + <see cref="Classes"/> columns.
    /// </summary>
    /// <param name="images">Images [N, 1, 28, 28] in [0, 1], e.g. test images.</param>
    /// <exception cref="InvalidOperationException">The model is AAE-U: its decoder takes no label.</exception>
    /// <exception cref="ArgumentException">Images of another shape; ParamName is "images".</exception>
    public torch.Tensor StyleTransfer(torch.Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        RequireSupervised("style transfer");
        return Run(() => AaeModule.styleTransfer(_aae, images));
    }

    /// <summary>Loads an adversarial autoencoder (aae or aae-s) saved with <see cref="TrainableModel.Save"/>.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a model file, a damaged one, or not an adversarial autoencoder; the
    /// message names the file.</exception>
    public static AdversarialAutoencoderModel Load(GenerativeContext context, string path) =>
        ModelLoader.Load<AdversarialAutoencoderModel>(context, path);

    private void RequireSupervised(string operation)
    {
        if (!IsSupervised)
            throw new InvalidOperationException(
                $"{ModelId} has no {operation}: it needs the supervised adversarial autoencoder (aae-s), whose decoder takes the label.");
    }

    // Runs an operation of the networks in evaluation mode, without gradients.
    private torch.Tensor Run(Func<torch.Tensor> operation)
    {
        ThrowIfDisposed();
        Generative.TrainerModule.eval(Model.Trainer);
        using var _ = torch.no_grad();
        return operation();
    }
}
