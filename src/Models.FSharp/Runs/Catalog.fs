namespace Generative

open System
open Plotly.NET
open TorchSharp

/// Pictures and charts a model draws once from the test set when a run ends (and when its report is rebuilt):
/// the things that explain a trained model, such as a latent scatter or a grid of samples.
type ReportExtras =
    { /// (title, chart), e.g. ("Test codes coloured by digit", a 3-D scatter).
      Charts: (string * GenericChart) list
      /// (title, caption, images [N, C, H, W] in the data's normalised space), drawn as one grid each.
      Pictures: (string * string * Tensor) list }

/// What a run needs from a model beyond training: pictures of a fixed batch, test metrics, and the operations
/// the `sample`, `reconstruct` and `encode` commands offer. Absent operations are `None`.
type RunModel =
    { Trainer: Trainer
      /// Named picture series of a fixed batch, as images [N, C, H, W] in the data's normalised space.
      Pictures: Batch -> (string * Tensor) list
      /// Test metrics: name, value, how it was measured.
      Evaluate: Split -> (string * float * string) list
      Reconstruct: (Tensor -> Tensor) option
      Encode: (Tensor -> Tensor) option
      Decode: (Tensor -> Tensor) option
      Sample: (int -> Tensor) option
      /// Extra report content from the test split and its class names; `Catalog.noExtras` when there is none.
      Extras: Split -> string list -> ReportExtras }

/// A model the CLI, the facade and saved runs can name.
type CatalogEntry =
    { /// The command-line name, e.g. "ae-linear".
      Id: string
      /// The seed-model id and a short description, e.g. "AE-LIN: single-layer autoencoder".
      Title: string
      /// Model settings (key, value) with their defaults; `--set key=value` overrides them.
      Defaults: (string * string) list
      /// The data's normalisation the model expects by default: "zero-one", "minus-one-one" or "mean-std".
      Normalization: string
      /// Builds the model on a device from settings (defaults overridden); call after seeding.
      Build: torch.Device -> (string * string) list -> RunModel }

/// Where sample-quality evaluation gets its feature network for a reference split: the network trained on the
/// same data set, the data set's name, and the function mapping the run's [-1, 1] images into the network's input;
/// or a message saying why there is none and what to run.
type FeatureSource = Split -> Result<FeatureNetwork * string * (Tensor -> Tensor), string>

/// The models runs can be made of.
[<RequireQualifiedAccess>]
module Catalog =
    /// No extra report content.
    let noExtras (_: Split) (_: string list) : ReportExtras = { Charts = []; Pictures = [] }

    /// Mean of a loss over a split in batches, without gradients, in evaluation mode.
    let meanOver (batchSize: int) (split: Split) (lossOf: Tensor -> Tensor) =
        use _ = torch.no_grad()
        let n = split.Count
        let mutable total = 0.0
        let mutable start = 0L
        while start < n do
            use _ = torch.NewDisposeScope()
            let len = min (int64 batchSize) (n - start)
            let x = split.Images.narrow(0L, start, len)
            total <- total + (lossOf x).ToDouble() * float len
            start <- start + len
        total / float n

    /// Interleaves rows of originals and their reconstructions: row 2k holds originals, row 2k+1 their
    /// reconstructions, `columns` images per row.
    let interleaveRows (columns: int) (originals: Tensor) (reconstructions: Tensor) =
        let n = originals.shape.[0]
        let rows = (n + int64 columns - 1L) / int64 columns
        [ for r in 0L .. rows - 1L do
            let s = r * int64 columns
            let len = min (int64 columns) (n - s)
            yield originals.narrow(0L, s, len)
            yield reconstructions.narrow(0L, s, len) ]
        |> fun parts -> torch.cat(parts |> List.toArray, 0L)

    let private autoencoderEntry id title (baseline: AutoencoderConfig) normalization =
        { Id = id
          Title = title
          Defaults = Autoencoder.toSettings baseline
          Normalization = normalization
          Build =
            fun device settings ->
                let m = Autoencoder.create (Autoencoder.ofSettings baseline settings) |> Autoencoder.moveTo device
                let trainer = Autoencoder.trainer m
                { Trainer = trainer
                  Pictures =
                    fun batch ->
                        use _ = torch.no_grad()
                        use r = Autoencoder.reconstruct m batch.Images
                        [ "Original (odd rows) and reconstruction (even rows)", interleaveRows 8 batch.Images r ]
                  Evaluate =
                    fun test ->
                        let c = m.Config
                        let mse = meanOver 1000 test (fun x -> use r = Autoencoder.reconstruct m x in Reconstruction.loss Mse ElementMean r x)
                        [ "test MSE per pixel", mse, sprintf "mean squared error per pixel over the %d test images, in the data's normalised units" test.Count
                          if c.Loss <> Mse || c.Reduction <> ElementMean then
                            let l = meanOver 1000 test (fun x -> use r = Autoencoder.reconstruct m x in Reconstruction.loss c.Loss c.Reduction r x)
                            "test loss", l, sprintf "the training loss (%s, %s) over the test set" (Reconstruction.name c.Loss) (Reconstruction.reductionName c.Reduction) ]
                  Reconstruct = Some (Autoencoder.reconstruct m)
                  Encode = Some (Autoencoder.encode m)
                  Decode = Some (Autoencoder.decode m)
                  Sample = None
                  Extras = noExtras } }

    /// Generated images scored by the GAN entries' sample-quality metrics.
    let qualitySamples = 10000

    /// The seed of the noise behind the quality metrics and the final sample grid, so re-evaluating a saved run
    /// gives the same figures.
    let qualitySeed = 0UL

    /// Feature networks for GAN evaluation. None is available yet: the metrics say how to get them.
    let featureSource : FeatureSource =
        fun _ -> Error "no feature network: train one with `generative features train --dataset mnist`, then run `generative eval <run>`"

    let private ganEntry id title (preset: (string * string) list -> GanConfig) (defaults: (string * string) list) =
        { Id = id
          Title = title
          Defaults = defaults
          Normalization = "minus-one-one"
          Build =
            fun device settings ->
                let m = Gan.create (Gan.ofSettings (preset settings) settings) |> Gan.moveTo device
                let trainer = Gan.trainer m
                // Evaluate and Extras both run at the end of a run on the same test split: measure once.
                let mutable measured : (Split * Result<QualityReport, string>) option = None
                let quality (test: Split) =
                    match measured with
                    | Some (split, r) when obj.ReferenceEquals(split, test) -> r
                    | _ ->
                        let r =
                            featureSource test
                            |> Result.map (fun (net, dataset, prepare) ->
                                use g = new torch.Generator(qualitySeed)
                                Quality.measure net prepare (Gan.sampleWith g m) test.Images
                                    (sprintf "%s test split (%d images)" dataset test.Count) qualitySamples)
                        measured <- Some(test, r)
                        r
                { Trainer = trainer
                  Pictures = fun _ -> [ "Samples from a fixed noise batch", Gan.fixedSamples m ]
                  Evaluate =
                    fun test ->
                        match quality test with
                        | Ok report -> Quality.metrics report
                        | Error why -> [ "Frechet distance", nan, "not measured: " + why ]
                  Reconstruct = None
                  Encode = None
                  Decode = Some (Gan.generate m)
                  Sample = Some (Gan.sample m)
                  Extras =
                    fun test _ ->
                        use g = new torch.Generator(qualitySeed)
                        let grid = "Samples at the end of training", sprintf "%d images from fresh noise (seed %d)." Gan.fixedNoiseCount qualitySeed, Gan.sampleWith g m Gan.fixedNoiseCount
                        match quality test with
                        | Ok r ->
                            { Charts =
                                [ sprintf "Predicted classes of %d generated images (%s)" r.Samples r.Network,
                                  Charts.classHistogram "Predicted class of generated images" r.Histogram r.Classes ]
                              Pictures = [ grid ] }
                        | Error _ -> { Charts = []; Pictures = [ grid ] } } }

    /// The GAN-MLP variant settings: "variant" picks the preset, every other setting defaults to the variant's own.
    let private ganMlpDefaults =
        ("variant", "a") :: (Gan.toSettings Gan.mlpA @ Gan.hiddenSettings Gan.mlpA |> List.map (fun (k, _) -> k, "auto"))

    let private variantOf (settings: (string * string) list) =
        settings |> List.tryFind (fun (k, _) -> k = "variant") |> Option.map snd |> Option.defaultValue "a" |> Gan.mlpVariant

    /// Every model, by id.
    let all : CatalogEntry list =
        [ autoencoderEntry "ae-linear" "AE-LIN: single-layer autoencoder (784-128-784, ReLU)" Autoencoder.linear "zero-one"
          ganEntry "gan-mlp" "GAN-MLP-A/B/C: fully connected GAN (variant a, b or c)" variantOf ganMlpDefaults
          ganEntry "lsgan" "LSGAN: least-squares GAN on GAN-MLP-C's networks" (fun _ -> Gan.lsgan) (Gan.toSettings Gan.lsgan)
          ganEntry "dcgan" "DCGAN-A: convolutional GAN (conv D with max pooling, transposed-conv G with batch norm)" (fun _ -> Gan.dcganA) (Gan.toSettings Gan.dcganA)
          ganEntry "dcgan-keras" "DCGAN-B: Keras-style DCGAN (tanh, upsampling, SGD with Nesterov momentum)" (fun _ -> Gan.dcganB) (Gan.toSettings Gan.dcganB) ]

    /// The entry for an id; the error lists the ids there are.
    let find (id: string) : CatalogEntry =
        match all |> List.tryFind (fun e -> String.Equals(e.Id, id, StringComparison.OrdinalIgnoreCase)) with
        | Some e -> e
        | None -> Errors.invalidArg "model" (sprintf "one of %s" (all |> List.map (fun e -> e.Id) |> String.concat ", ")) id
