namespace Generative

open System
open TorchSharp

/// Where sample-quality evaluation gets its feature network for a reference split: the network trained on the
/// same data set, the data set's name, and the function mapping the run's [-1, 1] images into the network's input;
/// or a message saying why there is none and what to run.
type FeatureSource = Split -> Result<FeatureNetwork * string * (Tensor -> Tensor), string>

/// The GAN catalog entries: fixed-noise grids per epoch, and sample quality (Frechet distance, inception score,
/// predicted-class histogram) measured with a saved feature classifier at the end of a run.
[<RequireQualifiedAccess>]
module GanEntries =
    /// Generated images scored by the GAN entries' sample-quality metrics.
    let qualitySamples = 10000

    /// The seed of the noise behind the quality metrics and the final sample grid, so re-evaluating a saved run
    /// gives the same figures.
    let qualitySeed = 0UL

    /// Test images the feature-network choice is checked on.
    let private recognitionSample = 2000L

    /// The saved feature classifier (FeatureNets) that recognises the reference split's labels: MNIST's or
    /// Fashion-MNIST's, whichever classifies the first 2000 test images with at least 50% accuracy (best first).
    /// Choosing by the labels needs no data-set name, and proves the network fits the data it measures.
    /// The network runs on the CPU, and its inputs are [-1, 1] images like a GAN's, so `prepare` only moves them.
    let featureSource : FeatureSource =
        fun test ->
            let candidates = DatasetCatalog.all |> List.map (fun d -> d.Name) |> List.filter (fun d -> IO.File.Exists(FeatureNets.path d))
            if candidates.IsEmpty then
                Error "no feature classifier saved yet: make one with `generative features train --dataset mnist` (or fashion-mnist), then re-measure with `generative report <run>`"
            else
                use _ = torch.no_grad()
                let n = min recognitionSample test.Count
                use images = test.Images.narrow(0L, 0L, n).cpu()
                use labels = test.Labels.narrow(0L, 0L, n).cpu()
                let accuracyOf (net: FeatureNetwork) =
                    use _ = torch.NewDisposeScope()
                    (net.Probabilities images).argmax(1L).eq(labels).to_type(torch.float64).mean().ToDouble()
                let scored = candidates |> List.map (fun d -> let net = FeatureNets.load d Cpu in d, net, accuracyOf net)
                match scored |> List.filter (fun (_, _, a) -> a >= 0.5) |> List.sortByDescending (fun (_, _, a) -> a) with
                | (d, net, a) :: _ ->
                    let name = (DatasetCatalog.find d).DisplayName
                    let described = { net with Description = sprintf "%s; %.1f%% on the first %d reference images" net.Description (100.0 * a) n }
                    Ok (described, name, fun (x: Tensor) -> x.cpu())
                | [] ->
                    Error (sprintf "none of the saved feature classifiers (%s) recognises this data set's labels" (String.concat ", " candidates))

    /// The per-epoch Frechet distances of several samplers of a generative model (`RunModel.EpochTest`), each
    /// named by its term (e.g. "Frechet distance" and "Frechet distance (raw G)"): as many images as the test part
    /// has, drawn by each sampler from its own generator seeded with `qualitySeed` (the same noise every epoch and
    /// for every sampler, so they are compared on the same z), against the test part's images, with the feature
    /// network `source` chooses (`featureSource` in a run); `rescale` maps both into [-1, 1], the networks' range.
    /// The network and the test part's statistics are computed once, at the first epoch, for all the samplers, and
    /// kept. No term when there is no feature network (the end-of-run metric says why) or fewer than 2 images.
    let epochFrechetDistances (source: FeatureSource) (rescale: Tensor -> Tensor)
                              (samplers: (string * (torch.Generator -> int -> Tensor)) list) : Split -> Map<string, float> =
        let mutable reference : (Split * Result<FeatureNetwork * (Tensor -> Tensor) * FeatureStatistics, string>) option = None
        fun part ->
            let prepared =
                match reference with
                | Some (split, r) when obj.ReferenceEquals(split, part) -> r
                | _ ->
                    let r =
                        if part.Count < 2L then Error "fewer than 2 test images"
                        else
                            source part
                            |> Result.map (fun (net, _, prepare) ->
                                // Quality's batches run in a dispose scope, which frees the rescaled copy.
                                let toNetwork (x: Tensor) = prepare (rescale x)
                                let statistics = Quality.featureStatisticsOf net toNetwork part.Images
                                // Kept for the whole run: out of the dispose scope the loop measures each epoch in.
                                statistics.Mean.DetachFromDisposeScope() |> ignore
                                statistics.Covariance.DetachFromDisposeScope() |> ignore
                                net, toNetwork, statistics)
                    reference <- Some (part, r)
                    r
            match prepared with
            | Error _ -> Map.empty
            | Ok (net, toNetwork, referenceStatistics) ->
                samplers
                |> List.map (fun (name, sample) ->
                    use g = new torch.Generator(qualitySeed)
                    let generated = Quality.generatedStatisticsOf net toNetwork (sample g) (int part.Count)
                    try name, Quality.frechetDistance generated referenceStatistics
                    finally
                        generated.Mean.Dispose()
                        generated.Covariance.Dispose())
                |> Map.ofList

    /// `epochFrechetDistances` of one sampler, named "Frechet distance".
    let epochFrechetDistance (source: FeatureSource) (rescale: Tensor -> Tensor) (sample: torch.Generator -> int -> Tensor) : Split -> Map<string, float> =
        epochFrechetDistances source rescale [ "Frechet distance", sample ]

    /// The per-epoch term of the trained generator's Frechet distance when sampling uses the moving average of its
    /// weights, beside the average's "Frechet distance" (recorded as "test Frechet distance (raw G)").
    let rawFrechetDistance = "Frechet distance (raw G)"

    /// The per-epoch test metrics of a GAN: the Frechet distance of its samples (`Gan.sampleWith`, so of the
    /// moving average when there is one) and, with a moving average, that of the trained generator G beside it
    /// (`rawFrechetDistance`), on the same noise and reference statistics, so the report shows what averaging gains.
    let ganEpochTest (source: FeatureSource) (m: Gan) : Split -> Map<string, float> =
        let samples : torch.Generator -> int -> Tensor = fun g n -> Gan.sampleWith g m n
        let raw : torch.Generator -> int -> Tensor = fun g n -> Gan.sampleRawWith g m n
        epochFrechetDistances source id
            ([ "Frechet distance", samples ] @ (if m.Ema.IsSome then [ rawFrechetDistance, raw ] else []))

    /// A GAN model over a preset and its settings table.
    let model id title (preset: GanConfig) (settings: Setting<GanConfig> list) : ModelSpec<GanConfig> =
        { Id = id
          Title = title
          Kind = ModelKind.Gan
          Normalization = "minus-one-one"
          Defaults = preset
          Settings = settings
          Validate = Gan.validate
          BatchSize = ModelSpec.usualBatchSize
          FitToData = None
          InputShape = fun _ -> Some Gan.imageShape
          Precision = fun c -> c.Precision
          Build =
            fun device config ->
                let m = Gan.create config |> Gan.moveTo device
                let trainer = Gan.trainer m
                // Evaluate and Extras both run at the end of a run on the same test split: measure once.
                let mutable measured : (Split * Result<QualityReport, string>) option = None
                let quality (work: Work) (test: Split) =
                    match measured with
                    | Some (split, r) when obj.ReferenceEquals(split, test) -> r
                    | _ ->
                        let r =
                            featureSource test
                            |> Result.map (fun (net, dataset, prepare) ->
                                use g = new torch.Generator(qualitySeed)
                                Quality.measure work net prepare (Gan.sampleWith g m) test.Images
                                    (sprintf "%s test split (%d images)" dataset test.Count) qualitySamples)
                        measured <- Some(test, r)
                        r
                { Trainer = trainer
                  Pictures = fun _ -> [ "Samples from a fixed noise batch", Gan.fixedSamples m ]
                  ComparedTerms = [ "D(real) against D(fake)", [ "d_real"; "d_fake" ] ]
                  Passages = RunModel.noPassages
                  Evaluate =
                    fun work -> RunModel.onImages (fun test _ ->
                        match quality work test with
                        | Ok report -> Quality.metrics report
                        | Error why -> [ "Frechet distance", nan, "not measured: " + why ])
                  Reconstruct = None
                  Encode = None
                  Decode = Some (Device.runOn device (Gan.generateSamples m))
                  Sample = Some (fun generator n -> Gan.sampleWith generator m n)
                  Classify = None
                  Generate = None
                  Training = RunModel.plainTraining
                  EpochTest = Some (ganEpochTest featureSource m)
                  Extras =
                    fun work -> RunModel.onImages (fun test _ ->
                        use g = new torch.Generator(qualitySeed)
                        let grid =
                            ImageGrid("Samples at the end of training", sprintf "%d images from fresh noise (seed %d)." Gan.fixedNoiseCount qualitySeed,
                                      RunModel.gridColumns, Gan.sampleWith g m Gan.fixedNoiseCount)
                        match quality work test with
                        | Ok r ->
                            [ Chart(sprintf "Predicted classes of %d generated images (%s)" r.Samples r.Network,
                                    Charts.classHistogram "Predicted class of generated images" r.Histogram r.Classes)
                              grid ]
                        | Error _ -> [ grid ]) } }

    /// GAN-MLP-A, -B or -C: "variant" picks the preset, the other settings refine it.
    let mlp = model "gan-mlp" "GAN-MLP-A/B/C: fully connected GAN (variant a, b or c)" Gan.mlpA (Gan.variantSetting :: Gan.settings @ Gan.hiddenSettings)

    /// LSGAN.
    let leastSquares = model "lsgan" "LSGAN: least-squares GAN on GAN-MLP-C's networks" Gan.lsgan Gan.settings

    /// DCGAN-A.
    let dcgan = model "dcgan" "DCGAN-A: convolutional GAN (conv D with max pooling, transposed-conv G with batch norm)" Gan.dcganA Gan.settings

    /// DCGAN-PLUS (beyond the sources): DCGAN-A with the hinge loss, spectral normalisation of D and a moving average
    /// of G, batch 128 as DCGAN-A's source.
    let dcganPlus =
        { model "dcgan-plus" "DCGAN-PLUS: DCGAN-A's networks with the hinge loss, spectral norm on D and a moving average of G (ema 0.995); beyond the sources, batch 128"
              Gan.dcganPlus Gan.settings with
            BatchSize = 128 }

    /// GAN-MLP-PLUS (beyond the sources): GAN-MLP-C with the hinge loss, a minibatch standard deviation feature in D
    /// and a moving average of G, at batch 16: four times the steps per epoch of batch 64, which the MLP needs to
    /// cover every digit within 5 epochs (measured in bench/gan/README.md).
    let mlpPlus =
        { model "gan-mlp-plus" "GAN-MLP-PLUS: GAN-MLP-C's networks with the hinge loss, the minibatch standard deviation in D and a moving average of G (ema 0.999); beyond the sources, batch 16"
              Gan.mlpPlus Gan.settings with
            BatchSize = 16 }

    /// DCGAN-B.
    let kerasDcgan = model "dcgan-keras" "DCGAN-B: Keras-style DCGAN (tanh, upsampling, SGD with Nesterov momentum)" Gan.dcganB Gan.settings

    /// The GAN models, by id.
    let all : CatalogEntry list = [ ModelSpec.entry mlp; ModelSpec.entry leastSquares; ModelSpec.entry dcgan; ModelSpec.entry kerasDcgan; ModelSpec.entry dcganPlus; ModelSpec.entry mlpPlus ]
