namespace Generative

open TorchSharp

/// What kind of model a catalog entry builds: tells the CLI and the C# facade what they loaded.
[<RequireQualifiedAccess>]
type ModelKind =
    /// Reconstructs, encodes and decodes images (AE-LIN, AE-DEEP, AE-3D, AE-CONV, AE-DENOISE).
    | Autoencoder
    /// An autoencoder with a prior: it also samples (VAE).
    | VariationalAutoencoder
    /// An autoencoder whose codes a discriminator matches to a prior: it also samples, and the supervised one
    /// writes a code's style as any class (AAE-U, AAE-S).
    | AdversarialAutoencoder
    /// Samples images from noise (GAN-MLP, LSGAN, DCGAN).
    | Gan
    /// Predicts classes of images (CLS-*).
    | Classifier
    /// Writes text: a language model trained on a text (LM-LSTM).
    | TextGenerator

/// A catalog model, typed by its config record: the config's defaults, its settings table and how to build it.
/// The C# builders edit a `'Config` and build through `Build`; the CLI and run.json reach it through its
/// `CatalogEntry` (`ModelSpec.entry`), whose settings are text.
type ModelSpec<'Config> =
    { /// The command-line name, e.g. "ae-linear".
      Id: string
      /// The seed-model id and a short description, e.g. "AE-LIN: single-layer autoencoder".
      Title: string
      Kind: ModelKind
      /// The data's normalisation the model expects by default: "zero-one", "minus-one-one" or "mean-std".
      Normalization: string
      /// The source's settings.
      Defaults: 'Config
      /// Examples per step when a run is not told otherwise (`RunSettings.defaults`).
      BatchSize: int
      /// Every setting of the config, in the order they are applied.
      Settings: Setting<'Config> list
      /// Throws ArgumentException naming the setting (ParamName = its key) when the config cannot be built.
      Validate: 'Config -> unit
      /// Fills what a config takes from the training data before a new run builds it, e.g. a language model's
      /// vocabulary from the training text; None for models that take nothing from their data.
      FitToData: (RunData -> 'Config -> 'Config) option
      /// The shape of one example a config's model is built for ([channels; height; width] for images), checked
      /// against a run's data before the run starts; None for models of text.
      InputShape: 'Config -> int list option
      /// The number format a config's training passes compute in (`TrainingPrecision.Float32` for models without
      /// the "precision" setting).
      Precision: 'Config -> TrainingPrecision
      /// Builds the model on a device; call after seeding (initial weights come from libtorch's global generator).
      Build: torch.Device -> 'Config -> RunModel }

/// A setting as `generative models` lists it.
type SettingInfo = { Key: string; Doc: string; Default: string }

/// A model whose config has been read and validated, ready to build.
type ConfiguredModel =
    { /// Every setting of the config as (key, text): what run.json and model files store.
      Settings: (string * string) list
      /// The shape of one example the model takes ([channels; height; width]); None for models of text.
      InputShape: int list option
      /// The number format the training passes compute in.
      Precision: TrainingPrecision
      /// Builds the model on a device; call after seeding. A model whose training would need more than this machine's
      /// memory is refused first (ArgumentException, ParamName "model"), before anything large is allocated.
      Build: torch.Device -> RunModel }

/// A model the CLI, the facade and saved runs can name (a `ModelSpec` with its config type hidden).
type CatalogEntry =
    { Id: string
      Title: string
      Kind: ModelKind
      /// "zero-one", "minus-one-one" or "mean-std".
      Normalization: string
      /// Examples per step when a run is not told otherwise.
      BatchSize: int
      /// The settings with their documentation and default values.
      Settings: SettingInfo list
      /// Reads settings given as text over the defaults (a key the model does not have, or one given twice, is an
      /// ArgumentException naming it), validates the config and returns it ready to build.
      Configure: (string * string) list -> ConfiguredModel
      /// The settings (as text, read over the defaults) with what the model takes from a new run's data filled in,
      /// e.g. a language model's vocabulary: every setting of the config, in table order. Models that take nothing
      /// from their data return every setting unchanged.
      FitToData: RunData -> (string * string) list -> (string * string) list }

/// Typed catalog models.
[<RequireQualifiedAccess>]
module ModelSpec =
    /// The batch size of most sources, and of every model that does not name its own.
    let usualBatchSize = 64

    /// Bytes that training holds for a model of `elements` float32 parameter and buffer elements: the weights, their
    /// gradients and Adam's two moments (four float32 copies), and in bf16 also the working copy's bfloat16 weights
    /// and gradients (one more float32's worth).
    let trainingBytes (elements: int64) (precision: TrainingPrecision) : float =
        let copies = match precision with TrainingPrecision.Float32 -> 4.0 | TrainingPrecision.BFloat16 -> 5.0
        MemoryBudget.float32Bytes elements * copies

    /// Throws ArgumentException (ParamName "model") when training the config's model would need more than this
    /// machine's memory. The model is built on the meta device to count its elements (no storage is allocated), with
    /// libtorch's generator state put back afterwards, so the real build draws the same initial weights.
    let ensureFitsInMemory (spec: ModelSpec<'Config>) (config: 'Config) =
        let elements =
            Device.keepingRandomState (fun () -> Device.elementsOf (fun meta -> (spec.Build meta config).Trainer.Modules |> List.map snd))
        let given =
            let defaults = dict (SettingsTable.print spec.Settings spec.Defaults)
            SettingsTable.print spec.Settings config
            |> List.filter (fun (k, v) -> not (defaults.ContainsKey k) || defaults.[k] <> v)
            |> List.map (fun (k, v) -> k + "=" + v)
        let remedy =
            if given.IsEmpty then "Train it on a machine with more memory."
            else sprintf "Lower the sizes among the settings that differ from %s's defaults: %s." spec.Id (String.concat ", " given)
        let precision = spec.Precision config
        let held =
            match precision with
            | TrainingPrecision.Float32 -> "held four times over: weights, gradients and Adam's two moments"
            | TrainingPrecision.BFloat16 -> "held four times over (weights, gradients and Adam's two moments) and once more as bfloat16 weights and gradients"
        MemoryBudget.ensureFits "model"
            (sprintf "training %s (%s parameter and buffer elements, %s)" spec.Id (elements.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)) held)
            (trainingBytes elements precision) remedy

    /// A config of the model, validated, ready to build.
    let configured (spec: ModelSpec<'Config>) (config: 'Config) : ConfiguredModel =
        spec.Validate config
        { Settings = SettingsTable.print spec.Settings config
          InputShape = spec.InputShape config
          Precision = spec.Precision config
          Build = fun device -> ensureFitsInMemory spec config; spec.Build device config }

    /// Reads settings text over the model's defaults (see `SettingsTable.read`); not yet validated.
    let read (spec: ModelSpec<'Config>) (pairs: (string * string) list) : 'Config =
        SettingsTable.read spec.Settings spec.Defaults pairs

    /// The catalog entry of a typed model.
    let entry (spec: ModelSpec<'Config>) : CatalogEntry =
        { Id = spec.Id
          Title = spec.Title
          Kind = spec.Kind
          Normalization = spec.Normalization
          BatchSize = spec.BatchSize
          Settings = spec.Settings |> List.map (fun s -> { Key = s.Key; Doc = s.Doc; Default = s.Print spec.Defaults })
          Configure = fun pairs -> configured spec (read spec pairs)
          FitToData =
            fun data pairs ->
                let config = read spec pairs
                let fitted = match spec.FitToData with Some fit -> fit data config | None -> config
                SettingsTable.print spec.Settings fitted }

    /// What a model of a kind trains on.
    let dataKind (kind: ModelKind) : DataKind =
        match kind with
        | ModelKind.TextGenerator -> DataKind.Text
        | ModelKind.Autoencoder | ModelKind.VariationalAutoencoder | ModelKind.AdversarialAutoencoder | ModelKind.Gan
        | ModelKind.Classifier -> DataKind.Images

    /// The loss term every model of a kind reports at every step, the one to watch when only one is read: "loss"
    /// (autoencoders, the VAE's reconstruction + β·KL, classifiers, language models in nats per token), "g_loss"
    /// (GANs: the generator's loss, the network a GAN is kept for) and "reconstruction" (adversarial autoencoders:
    /// the autoencoder phase's loss; the phases' "d_loss" and "g_loss" are reported beside it).
    let lossTerm (kind: ModelKind) : string =
        match kind with
        | ModelKind.Gan -> "g_loss"
        | ModelKind.AdversarialAutoencoder -> "reconstruction"
        | ModelKind.Autoencoder | ModelKind.VariationalAutoencoder | ModelKind.Classifier | ModelKind.TextGenerator -> "loss"
