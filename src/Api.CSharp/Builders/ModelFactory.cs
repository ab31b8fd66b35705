namespace Generative.CSharp;

/// <summary>
/// Shared by the builders: turns a typed catalog model and its config record into a built core model, seeded by the
/// context. Validation is the F# spec's (<c>ModelSpec.configured</c>), so every builder reports a bad value as the
/// command line does: an ArgumentException whose ParamName is the setting key (e.g. "latent-dim").
/// </summary>
internal static class ModelFactory
{
    /// <summary>
    /// Validates <paramref name="config"/>, seeds libtorch with the context's seed (initial weights depend on the seed
    /// only), builds the model on the context's device and wraps it with the config's full settings (what Save and a
    /// training run's run.json store, the same text the command line writes for this config).
    /// </summary>
    public static T Build<TConfig, T>(GenerativeContext context, ModelSpec<TConfig> spec, TConfig config, ImageNormalization normalization,
                                      Func<GenerativeContext, string, IReadOnlyList<(string Key, string Value)>, ImageNormalization, RunModel, T> wrap) =>
        Build(context, spec, config, (ctx, id, settings, model) => wrap(ctx, id, settings, normalization, model));

    /// <summary>
    /// Validates <paramref name="config"/>, seeds libtorch with the context's seed, builds the model on the context's
    /// device and wraps it with the config's full settings: for models whose data has no normalisation (text).
    /// </summary>
    public static T Build<TConfig, T>(GenerativeContext context, ModelSpec<TConfig> spec, TConfig config,
                                      Func<GenerativeContext, string, IReadOnlyList<(string Key, string Value)>, RunModel, T> wrap)
    {
        var configured = ModelSpec.configured(spec, config);
        Generative.Device.seed(context.Seed);
        var model = configured.Build.Invoke(context.TorchDevice);
        return wrap(context, spec.Id, SettingsOf(configured), model);
    }

    /// <summary>The settings of a configured model as the facade exposes them.</summary>
    public static IReadOnlyList<(string Key, string Value)> SettingsOf(ConfiguredModel configured) =>
        configured.Settings.Select(s => (s.Item1, s.Item2)).ToList();

    /// <summary>The normalisation a catalog model expects by default ("zero-one", "minus-one-one" or "mean-std").</summary>
    public static ImageNormalization DefaultNormalization<TConfig>(ModelSpec<TConfig> spec) => NormalizationNames.Parse(spec.Normalization);
}
