namespace Generative

open System
open TorchSharp

/// The catalog entries of the adversarial autoencoders (AAE-U, AAE-S): per-phase losses on the training and held-out
/// images every epoch, reconstructions and prior samples per epoch, and at the end the source's claim made
/// measurable (k-nearest-neighbour label accuracy of the codes, a t-SNE scatter), how closely the codes match the
/// prior, the Frechet distance of decoded prior samples and, for AAE-S, the style grids.
[<RequireQualifiedAccess>]
module AdversarialAutoencoderEntries =
    /// Neighbours in the code-accuracy metric (k-NN vote of the training codes).
    let neighbours = 5

    /// Test codes in the t-SNE scatter: the exact t-SNE's cost grows with the square of it.
    let tsnePoints = 5000

    /// Points per row of the style traversal.
    let traversalSteps = 10

    /// Labels of the style traversal's rows (five per swept dimension, as in the source).
    let traversalLabels = [ 0 .. 4 ]

    /// Test images in the style-transfer grid.
    let transferImages = 8

    /// Decoded prior samples scored by the Frechet distance.
    let qualitySamples = 10000

    /// The seed of the prior codes behind every final measurement and picture, so re-evaluating a run gives the same
    /// figures.
    let evaluationSeed = 0UL

    /// `encodeBatch` applied to the first `count` images of a split in batches of 1000 on the model's device, without
    /// gradients, concatenated on the CPU: [N, CodeSize].
    let private encodedBy (encodeBatch: Tensor -> Tensor) (m: Aae) (split: Split) (count: int64) : Tensor =
        use _ = torch.no_grad()
        let n = min count split.Count
        let dev = Aae.device m
        let parts =
            [ for start in 0L .. 1000L .. n - 1L do
                use x = split.Images.narrow(0L, start, min 1000L (n - start)).``to``(dev)
                use z = encodeBatch x
                yield z.cpu() ]
        let codes = if parts.IsEmpty then torch.zeros([| 0L; int64 m.Config.CodeSize |]) else torch.cat(parts |> List.toArray, 0L)
        for p in parts do p.Dispose()
        codes

    /// The codes [N, CodeSize] and labels [N] of the first `count` images of a split (evaluation mode, no
    /// gradients), on the CPU.
    let codesOf (m: Aae) (split: Split) (count: int64) : Tensor * Tensor =
        let codes = encodedBy (Aae.encode m) m split count
        codes, split.Labels.narrow(0L, 0L, codes.shape.[0]).cpu().to_type(torch.int64)

    /// The codes the discriminator judges, [N, CodeSize] on the CPU, of the first `count` images of a split (evaluation
    /// mode, no gradients): `codesOf`'s for a deterministic encoder; for a Gaussian one, draws μ + σ·ε with a
    /// generator seeded with `evaluationSeed`. Training matches the distribution of these draws to the prior, so the
    /// prior match is measured on them: a Gaussian encoder's means alone are narrower than the prior.
    let judgedCodesOf (m: Aae) (split: Split) (count: int64) : Tensor =
        match m.Config.Encoder with
        | Deterministic -> encodedBy (Aae.encode m) m split count
        | Gaussian ->
            use g = new torch.Generator(evaluationSeed)
            encodedBy (Aae.trainingCodes g m) m split count

    /// The mean over a split of every phase's terms (`Aae.measure`), in batches of 1000, with prior codes drawn from a
    /// generator seeded with `evaluationSeed`.
    let phaseTerms (m: Aae) (split: Split) : Map<string, float> =
        use g = new torch.Generator(evaluationSeed)
        let dev = Aae.device m
        let n = split.Count
        let sums =
            [ for start in 0L .. 1000L .. n - 1L do
                let len = min 1000L (n - start)
                use x = split.Images.narrow(0L, start, len).``to``(dev)
                use labels = split.Labels.narrow(0L, start, len).``to``(dev)
                yield Aae.measure m g x labels |> Map.map (fun _ v -> v * float len) ]
        sums
        |> List.reduce (fun a b -> Map.map (fun k v -> v + b.[k]) a)
        |> Map.map (fun _ v -> v / float n)

    /// How far the codes' mean and covariance are from the prior's: the distance between the means, and the
    /// Frobenius norm of the covariances' difference relative to the prior covariance's.
    let priorMatch (prior: LatentPrior) (codes: Tensor) : float * float =
        use _ = torch.NewDisposeScope()
        let d = int codes.shape.[1]
        let z = codes.to_type(torch.float64)
        let mean = z.mean([| 0L |])
        let centred = z - mean
        let covariance = centred.t().matmul(centred) / float (codes.shape.[0] - 1L)
        let priorCovariance = LatentPrior.covariance prior d
        let meanDistance = (mean - LatentPrior.mean prior d).norm().ToDouble()
        let relative = ((covariance - priorCovariance).norm() / priorCovariance.norm()).ToDouble()
        meanDistance, relative

    let private rows (t: Tensor) : float[][] =
        let c = t.to_type(torch.float64).contiguous()
        let width = int c.shape.[1]
        let values = c.data<float>().ToArray()
        Array.init (int c.shape.[0]) (fun i -> Array.sub values (i * width) width)

    /// The t-SNE scatter of the first `tsnePoints` test codes, coloured by class; none for fewer than 4 test images.
    /// The perplexity is t-SNE's usual 30, or a third of the other points when there are fewer than 91.
    let tsneScatter (work: Work) (m: Aae) (test: Split) (classes: string list) : ReportArtifact list =
        let codes, labels = codesOf m test (int64 tsnePoints)
        use codes = codes
        use labels = labels
        let n = int codes.shape.[0]
        if n < 4 then []
        else
            let options = { Tsne.defaults with Seed = evaluationSeed; Perplexity = min Tsne.defaults.Perplexity (float (n - 1) / 3.0) }
            let embedding = Tsne.embedIn work options codes
            use points = embedding.Embedding
            let caption =
                sprintf "t-SNE (perplexity %g, %d iterations, seed %d; final KL %.3f) of the %d-d codes of the first %d test images, coloured by class"
                    options.Perplexity options.Iterations evaluationSeed embedding.KlDivergence m.Config.CodeSize n
            [ Chart(caption, Charts.latentScatter (rows points) (labels.data<int64>().ToArray() |> Array.map int) classes) ]

    /// The run model of an AAE on `device`.
    let runModel (device: torch.Device) (config: AaeConfig) : RunModel =
        let m = Aae.create config |> Aae.moveTo device
        let c = m.Config
        let trainer = Aae.trainer m
        // A fixed batch of prior codes, so the per-epoch sample grids are comparable; row r has label r (mod classes).
        let fixedLabels = torch.tensor(Array.init (8 * RunModel.gridColumns) (fun i -> int64 (i / RunModel.gridColumns % c.Classes)))
        let fixedCodes =
            use g = new torch.Generator(evaluationSeed)
            Aae.priorSample g m torch.CPU fixedLabels
        let decodeFixed () =
            use _ = torch.no_grad()
            use z = fixedCodes.``to``(device)
            use l = fixedLabels.``to``(device)
            Aae.decode m z (Some l)
        let reconstruct (x: Tensor) (labels: Tensor) =
            use z = Aae.encode m x
            Aae.decode m z (Some labels)
        let sampleCaption =
            if c.Supervised || c.TieLabelsToPrior then sprintf "Samples decoded from a fixed batch of prior codes (row r: class r mod %d)" c.Classes
            else "Samples decoded from a fixed batch of prior codes"
        let quality (work: Work) (data: ImageDataset) =
            GanEntries.featureSource data.Test
            |> Result.map (fun (net, dataset, prepare) ->
                use g = new torch.Generator(evaluationSeed)
                // Feature networks read [-1, 1] images; this model's are in [0, 1].
                let toGanRange (x: Tensor) = use y = x * 2.0f - 1.0f in prepare y
                Quality.measure work net toGanRange (Aae.sampleWith g m) data.Test.Images
                    (sprintf "%s test split (%d images)" dataset data.Test.Count) qualitySamples)
        { Trainer = trainer
          Pictures =
            fun batch ->
                use _ = torch.no_grad()
                use r = reconstruct batch.Inputs batch.Targets
                [ "Original (odd rows) and reconstruction (even rows)", RunModel.interleaveRows RunModel.gridColumns batch.Inputs r
                  sampleCaption, decodeFixed () ]
          ComparedTerms = [ "D(prior) against D(code)", [ "d_prior"; "d_code" ] ]
          Passages = RunModel.noPassages
          Evaluate =
            fun work data ->
                match data with
                | TextData t -> invalidOp (sprintf "an image model was given the text %s" t.Name)
                | ImageData d ->
                    let test = d.Test
                    // Each stage encodes a whole split (60,000 training images for the codes): checked between stages.
                    Work.step work "test terms" 0 3
                    let terms = phaseTerms m test
                    Work.step work "training codes" 1 3
                    let trainCodes, trainLabels = codesOf m d.Train d.Train.Count
                    Work.step work "test codes" 2 3
                    let testCodes, testLabels = codesOf m test test.Count
                    use trainCodes = trainCodes
                    use trainLabels = trainLabels
                    use testCodes = testCodes
                    use testLabels = testLabels
                    let accuracy = Knn.accuracyIn work neighbours trainCodes trainLabels testCodes testLabels
                    let meanDistance, covarianceError =
                        use judged = judgedCodesOf m test test.Count
                        priorMatch c.Prior judged
                    [ "test MSE per pixel", terms.["mse"],
                        sprintf "mean squared error per pixel between the %d test images and their reconstructions, in the data's normalised units" test.Count
                      "test reconstruction loss", terms.["reconstruction"],
                        sprintf "the phase-1 loss (%s, mean per pixel) over the %d test images" c.Loss.Name test.Count
                      sprintf "test code %d-NN accuracy" neighbours, accuracy,
                        sprintf "share of the %d test images whose code's %d nearest training codes (of %d, Euclidean) vote for its label: high when the codes cluster by class" test.Count neighbours d.Train.Count
                      "test code mean distance to the prior's", meanDistance,
                        sprintf "Euclidean distance between the mean of the test codes (for a Gaussian encoder: draws from it) and the prior's mean (prior %s)" (LatentPrior.describe c.Prior)
                      "test code covariance error", covarianceError,
                        "‖Σ_codes - Σ_prior‖ / ‖Σ_prior‖ (Frobenius norms): 0 when the codes' covariance is the prior's"
                      "test D(prior)", terms.["d_prior"], "mean discriminator output on prior codes (one per test image, fixed seed)"
                      "test D(code)", terms.["d_code"], "mean discriminator output on the test images' codes: near D(prior) when the codes match the prior"
                      match quality work d with
                      | Ok report ->
                          "Frechet distance of prior samples", report.FrechetDistance,
                          (Quality.metrics report |> List.head |> fun (_, _, how) -> how)
                      | Error why -> "Frechet distance of prior samples", nan, "not measured: " + why ]
          Reconstruct = None
          Encode = Some (Device.runOn device (Aae.encode m))
          Decode = Some (Device.runOn device (Aae.decodeInput m))
          Sample = Some (fun generator n -> Aae.sampleWith generator m n)
          Classify = None
          Generate = None
          Training =
            ShuffledImages
                { Validation =
                    if c.Validation = 0.0 then None
                    else Some { Fraction = c.Validation; Measure = phaseTerms m; EarlyStopping = None }
                  Inputs = if c.LabelledFraction < 1.0 then Some (Aae.hideLabels c) else None }
          EpochTest =
            let frechet =
                GanEntries.epochFrechetDistances GanEntries.featureSource (fun x -> x * 2.0f - 1.0f)
                    [ "Frechet distance of prior samples", fun g n -> Aae.sampleWith g m n ]
            Some (fun part -> frechet part |> Map.add "MSE per pixel" (phaseTerms m part).["mse"])
          Extras =
            fun work -> RunModel.onImages (fun test classes ->
                let samples =
                    use g = new torch.Generator(evaluationSeed + 1UL)
                    Aae.sampleWith g m (8 * c.Classes)
                [ yield! tsneScatter work m test classes
                  yield ImageGrid("Samples from the prior",
                            (if c.Supervised || c.TieLabelsToPrior then sprintf "Codes drawn from the prior (%s), decoded with class k in column k." (LatentPrior.describe c.Prior)
                             else sprintf "Codes drawn from the prior (%s), decoded." (LatentPrior.describe c.Prior)),
                            c.Classes, samples)
                  if c.Supervised then
                      yield ImageGrid("Style traversal",
                                sprintf "Each row keeps its class (%s) and sweeps one code dimension over ±%g (the prior's two standard deviations), the others at the prior's centre: dimension 1 in the first %d rows, dimension 2 in the next %d."
                                    (traversalLabels |> List.map string |> String.concat ", ") (LatentPrior.traversalHalfWidth c.Prior 0) traversalLabels.Length traversalLabels.Length,
                                traversalSteps, Aae.styleTraversal m traversalLabels traversalSteps)
                      let images = test.Images.narrow(0L, 0L, min (int64 transferImages) test.Count)
                      yield ImageGrid("Style transfer",
                                sprintf "Each row: a test image, then its code decoded as class 0 to %d: the code carries the style, the label the class." (c.Classes - 1),
                                c.Classes + 1, Aae.styleTransfer m images) ]) }

    /// The batch size of AAE-U's runs: the source's.
    let unsupervisedBatchSize = 1024

    /// The batch size of AAE-S's runs: at the source's 1024 (59 steps an epoch) the codes take many epochs just to
    /// reach the prior's scale; at 128 the adversarial game is balanced after one epoch (docs/models.md).
    let supervisedBatchSize = 128

    /// An AAE entry over a preset.
    let private model (id: string) (title: string) (preset: AaeConfig) (batchSize: int) : ModelSpec<AaeConfig> =
        { Id = id
          Title = title
          Kind = ModelKind.AdversarialAutoencoder
          Normalization = "zero-one"
          Defaults = preset
          Settings = Aae.settings
          Validate = Aae.validate
          BatchSize = batchSize
          FitToData = None
          InputShape = fun c -> Some c.InputShape
          Precision = fun c -> c.Precision
          Build = runModel }

    /// AAE-U.
    let unsupervised =
        model "aae" "AAE-U: adversarial autoencoder (784-392-392-10 and back, sigmoid; latent discriminator 10-1500-1500-1; prior N(0, 5²I))" Aae.unsupervised unsupervisedBatchSize

    /// AAE-S.
    let supervised =
        model "aae-s" "AAE-S: supervised adversarial autoencoder (the decoder takes [one-hot label, code]: the code holds the style)" Aae.supervised supervisedBatchSize

    /// The AAE entries.
    let all : CatalogEntry list = [ ModelSpec.entry unsupervised; ModelSpec.entry supervised ]

    /// The config of an AAE entry ("aae" or "aae-s") read from settings text (a run's or a model file's) over the
    /// entry's preset; ArgumentException (ParamName "model") for another id.
    let configOf (modelId: string) (settings: (string * string) list) : AaeConfig =
        let spec =
            [ unsupervised; supervised ]
            |> List.tryFind (fun s -> String.Equals(s.Id, modelId, StringComparison.OrdinalIgnoreCase))
            |> Option.defaultWith (fun () -> Errors.invalidArg "model" "an adversarial autoencoder (aae or aae-s)" modelId)
        ModelSpec.read spec settings

    /// The AAE behind a run model of an AAE entry built with `settings`: the config (`configOf`) and the run model's
    /// three networks, so what the catalog's operations do not offer (the labels at AAE-S's decoder, the style grids)
    /// reaches the same weights: the command line's `style` and the C# facade use it.
    let ofRunModel (modelId: string) (settings: (string * string) list) (model: RunModel) : Aae =
        let config = configOf modelId settings
        let net name =
            match model.Trainer.Modules |> List.tryFind (fun (n, _) -> n = name) with
            | Some (_, (:? Net as n)) -> n
            | _ -> invalidOp (sprintf "%s: the run model has no %s network: it is not an adversarial autoencoder's" modelId name)
        { Config = config; Encoder = net "encoder"; Decoder = net "decoder"; Discriminator = net "discriminator" }
