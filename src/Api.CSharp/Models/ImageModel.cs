using Microsoft.FSharp.Core;
using TorchSharp;

namespace Generative.CSharp;

/// <summary>
/// What the image models share (autoencoders, GANs, classifiers): the normalisation of the images they expect and
/// training on an <see cref="ImageData"/> (<see cref="FitAsync"/>).
/// </summary>
public abstract class ImageModel : TrainableModel
{
    private protected ImageModel(GenerativeContext context, string modelId, IReadOnlyList<(string Key, string Value)> settings,
                                 Normalization normalization, RunModel model)
        : base(context, modelId, settings, NormalizationNames.Of(normalization), model)
    {
        Normalization = normalization;
    }

    /// <summary>The data normalisation the model expects.</summary>
    public Normalization Normalization { get; }

    /// <summary>
    /// Trains the model on <paramref name="data"/>'s training split into a run folder (checkpoints, picture grids,
    /// metrics.csv and report.html), on a background thread.
    /// </summary>
    /// <param name="data">The data set; its test split draws the pictures and measures the metrics.</param>
    /// <param name="options">Epochs, batch size (images per step) and folder; null takes the defaults.</param>
    /// <param name="progress">Receives a snapshot after every step.</param>
    /// <param name="cancellationToken">Stops training after the current step; a checkpoint is saved first, and the
    /// returned task is cancelled.</param>
    /// <exception cref="ArgumentException">Bad options; ParamName names the field.</exception>
    /// <exception cref="NonFiniteLossException">A loss term became NaN or infinite.</exception>
    public Task<TrainingRun> FitAsync(ImageData data, TrainingOptions? options = null, IProgress<TrainingProgress>? progress = null,
                                      CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ThrowIfDisposed();
        options ??= new TrainingOptions();
        options.Validate();
        if (data.Normalization != Normalization)
            throw new ArgumentException(
                $"data: expected images normalised as {Normalization} (what this model was built for) but got {data.Normalization}.", nameof(data));
        var settings = RunSettingsFor(options, data.Dataset.Name.ToLowerInvariant(), textFile: null, data.NormalizationName, options.RunFolder);
        return FitCore(() => (settings, RunData.NewImageData(data.Dataset)), progress, cancellationToken);
    }

    /// <summary>Runs <paramref name="f"/> on <paramref name="input"/> without gradients, on the model's device.</summary>
    private protected torch.Tensor Apply(FSharpOption<FSharpFunc<torch.Tensor, torch.Tensor>> f, torch.Tensor input, string operation)
    {
        ArgumentNullException.ThrowIfNull(input);
        ThrowIfDisposed();
        if (FSharpOption<FSharpFunc<torch.Tensor, torch.Tensor>>.get_IsNone(f))
            throw new NotSupportedException($"{ModelId} does not support {operation}.");
        Generative.TrainerModule.eval(Model.Trainer);
        using var _ = torch.no_grad();
        using var onDevice = input.to(Context.TorchDevice);
        return f.Value.Invoke(onDevice);
    }

    /// <summary>
    /// <paramref name="count"/> images from the model's sampler (GANs and VAEs), without gradients, in evaluation mode.
    /// </summary>
    /// <param name="count">Number of images.</param>
    /// <param name="seed">Seeds the sampler's noise; null draws a new seed each call.</param>
    /// <param name="countExpected">What <paramref name="count"/> must be, as the ArgumentException words it.</param>
    /// <exception cref="ArgumentException"><paramref name="count"/> is below 1; ParamName is "count".</exception>
    private protected torch.Tensor SampleImages(int count, long? seed, string countExpected)
    {
        if (count < 1) throw new ArgumentException($"count: expected {countExpected} but got {count}.", nameof(count));
        Generative.TrainerModule.eval(Model.Trainer);
        // A generator of its own, so sampling leaves libtorch's global generator (training's) where it was.
        using var generator = new torch.Generator((ulong)(seed ?? Random.Shared.NextInt64()));
        using var _ = torch.no_grad();
        return Model.Sample.Value.Invoke(generator).Invoke(count);
    }
}
