namespace Generative

open System
open TorchSharp

/// The catalog entries of the autoencoder family (AE-LIN, AE-DEEP, AE-3D, AE-CONV, AE-DENOISE, VAE): how each is
/// built from settings, what it draws per epoch, what it measures on the test set and the pictures that explain it.
[<RequireQualifiedAccess>]
module AutoencoderEntries =
    /// Test images drawn in latent scatters: enough to see clusters, few enough for a light report.
    let scatterPoints = 5000

    let private reconstructionPictures (reconstruct: Tensor -> Tensor) (batch: Batch) =
        use _ = torch.no_grad()
        use r = reconstruct batch.Inputs
        [ "Original (odd rows) and reconstruction (even rows)", RunModel.interleaveRows 8 batch.Inputs r ]

    /// The codes of the first `count` test images, in batches, on the CPU.
    let private codesOf (encode: Tensor -> Tensor) (test: Split) (count: int) : Tensor =
        use _ = torch.no_grad()
        let n = min (int64 count) test.Count
        [ for start in 0L .. 1000L .. n - 1L do
            let len = min 1000L (n - start)
            use x = test.Images.narrow(0L, start, len)
            use z = encode x
            yield z.flatten(1L).cpu() ]
        |> fun parts ->
            let all = torch.cat(parts |> List.toArray, 0L)
            for p in parts do p.Dispose()
            all

    let private rows (t: Tensor) : float[][] =
        let c = t.to_type(torch.float64).contiguous()
        let width = int c.shape.[1]
        let values = c.data<float>().ToArray()
        Array.init (int c.shape.[0]) (fun i -> Array.sub values (i * width) width)

    /// A scatter of test-set codes coloured by class: the codes themselves when they are 2- or 3-d (AE-3D's 3-D
    /// scatter), otherwise their projection on the first two principal components (PCA), with the variance kept.
    let codeScatter (encode: Tensor -> Tensor) (test: Split) (classes: string list) : string * Plotly.NET.GenericChart =
        use codes = codesOf encode test scatterPoints
        let n = int codes.shape.[0]
        let labels = test.Labels.narrow(0L, 0L, int64 n).cpu().data<int64>().ToArray() |> Array.map int
        let dim = int codes.shape.[1]
        if dim = 2 || dim = 3 then
            sprintf "The %d-d codes of the first %d test images, coloured by class (drag to rotate a 3-D plot)" dim n,
            Charts.latentScatter (rows codes) labels classes
        else
            let projected, shares = Pca.project 2 codes
            use projected = projected
            let percent = shares |> List.sumBy id |> (*) 100.0
            sprintf "The %d-d codes of the first %d test images projected on their first two principal components (PCA, %.0f%% of the codes' variance), coloured by class" dim n percent,
            Charts.latentScatter (rows projected) labels classes

    /// Mean squared error per pixel between the images of `split` and their reconstructions.
    let private mseOf (work: Work) (device: torch.Device) (reconstruct: Tensor -> Tensor) (split: Split) =
        RunModel.meanOver work "test MSE" device 1000 split (fun x -> use r = reconstruct x in Reconstruction.loss Reconstruction.mse ElementMean r x)

    /// The training loss (`loss` reduced by `reduction`) of the images of `split` and their reconstructions.
    let private lossOf (work: Work) (device: torch.Device) (reconstruct: Tensor -> Tensor) (loss: ReconstructionLoss) (reduction: Reduction) (split: Split) =
        RunModel.meanOver work "test loss" device 1000 split (fun x -> use r = reconstruct x in Reconstruction.loss loss reduction r x)

    let private mseMetric (work: Work) (device: torch.Device) (reconstruct: Tensor -> Tensor) (test: Split) =
        "test MSE per pixel", mseOf work device reconstruct test,
        sprintf "mean squared error per pixel between the %d test images and their reconstructions, in the data's normalised units" test.Count

    let private lossMetric (work: Work) (device: torch.Device) (reconstruct: Tensor -> Tensor) (loss: ReconstructionLoss) (reduction: Reduction) (test: Split) =
        "test loss", lossOf work device reconstruct loss reduction test,
        sprintf "the training loss (%s, %s) over the test set" loss.Name (Reconstruction.reductionName reduction)

    /// The scatter of the test codes, as a report chart.
    let private codeChart (work: Work) (encode: Tensor -> Tensor) (test: Split) (classes: string list) : ReportArtifact =
        Work.step work "code scatter" 0 1
        Chart (codeScatter encode test classes)

    let private codeExtras (work: Work) (encode: Tensor -> Tensor) (test: Split) (classes: string list) = [ codeChart work encode test classes ]

    /// The run model of an encoder–decoder on `device` trained by `trainer` with `loss` reduced by `reduction`:
    /// reconstructions of the fixed batch per epoch; the test MSE per pixel, and the training loss over the test set
    /// when that is not the same number; a scatter of the test codes. Entries replace what they draw or measure
    /// differently (`{ encoderDecoderModel ... with Pictures = ... }`).
    let encoderDecoderModel (device: torch.Device) (network: EncoderDecoder) (trainer: Trainer)
                            (loss: ReconstructionLoss) (reduction: Reduction) : RunModel =
        let reconstruct = Device.runOn device (EncoderDecoder.reconstruct network)
        let encode = Device.runOn device network.Encode
        { Trainer = trainer
          Pictures = reconstructionPictures reconstruct
          ComparedTerms = []
          Passages = RunModel.noPassages
          Evaluate =
            fun work -> RunModel.onImages (fun test _ ->
                [ mseMetric work device reconstruct test
                  if loss <> Reconstruction.mse || reduction <> ElementMean then lossMetric work device reconstruct loss reduction test ])
          Reconstruct = Some reconstruct
          Encode = Some encode
          Decode = Some (Device.runOn device network.Decode)
          Sample = None
          Classify = None
          Generate = None
          Training = RunModel.plainTraining
          EpochTest =
            Some (fun part ->
                Map.ofList
                    [ "MSE per pixel", mseOf Work.none device reconstruct part
                      if loss <> Reconstruction.mse || reduction <> ElementMean then "loss", lossOf Work.none device reconstruct loss reduction part ])
          Extras = fun work -> RunModel.onImages (codeExtras work encode) }

    /// The spec of an entry of the family: its defaults, settings table and validation come from the variant's module,
    /// `build` makes the run model of a config on a device.
    let private spec (kind: ModelKind) (id: string) (title: string) (normalization: string) (defaults: 'Config)
                     (settings: Setting<'Config> list) (validate: 'Config -> unit) (inputShape: 'Config -> int list)
                     (precision: 'Config -> TrainingPrecision) (build: torch.Device -> 'Config -> RunModel) : ModelSpec<'Config> =
        { Id = id
          Title = title
          Kind = kind
          Normalization = normalization
          Defaults = defaults
          Settings = settings
          Validate = validate
          BatchSize = ModelSpec.usualBatchSize
          FitToData = None
          InputShape = inputShape >> Some
          Precision = precision
          Build = build }

    /// A fully connected autoencoder's model (AE-LIN, AE-DEEP, AE-3D): reconstructions per epoch, test MSE, a code scatter.
    let fullyConnected (id: string) (title: string) (baseline: AutoencoderConfig) (normalization: string) : ModelSpec<AutoencoderConfig> =
        spec ModelKind.Autoencoder id title normalization baseline Autoencoder.settings Autoencoder.validate (fun c -> c.InputShape) (fun c -> c.Precision) (fun device config ->
            let m = Autoencoder.create config |> Autoencoder.moveTo device
            encoderDecoderModel device m.Network (Autoencoder.trainer m) config.Loss config.Reduction)

    /// AE-CONV: reconstructions per epoch, test MSE and loss, a PCA scatter of the 32-d codes.
    let convolutional : ModelSpec<ConvAutoencoderConfig> =
        spec ModelKind.Autoencoder "ae-conv"
            "AE-CONV: convolutional autoencoder (conv 16-8 + max pooling, code 8x2x2, transposed convs, Tanh; the source uses batch 128)"
            "minus-one-one" ConvAutoencoder.source ConvAutoencoder.settings ConvAutoencoder.validate ConvAutoencoder.inputShape (fun c -> c.Precision) (fun device config ->
                let m = ConvAutoencoder.create config |> ConvAutoencoder.moveTo device
                encoderDecoderModel device m.Network (ConvAutoencoder.trainer m) config.Loss config.Reduction)

    /// Corrupts `x` with noise drawn from a generator seeded with `seed` (on the CPU, then moved), so pictures and
    /// metrics see the same noise every time.
    let private corruptSeeded (seed: uint64) (c: Corruption) (x: Tensor) : Tensor =
        use g = new torch.Generator(seed)
        Corruption.apply (Seeded g) c x

    /// Noisy, clean and denoised versions of `clean` in groups of three rows of 8 (noisy above clean above denoised).
    let private triptych (denoise: Tensor -> Tensor) (corruption: Corruption) (clean: Tensor) : Tensor =
        use _ = torch.no_grad()
        use _ = torch.NewDisposeScope()
        let noisy = corruptSeeded 1UL corruption clean
        let denoised = denoise noisy
        let n = clean.shape.[0]
        [ for s in 0L .. 8L .. n - 1L do
            let len = min 8L (n - s)
            yield noisy.narrow(0L, s, len)
            yield clean.narrow(0L, s, len)
            yield denoised.narrow(0L, s, len) ]
        |> fun parts -> torch.cat(parts |> List.toArray, 0L).MoveToOuterDisposeScope()

    /// The Gaussian and masking noise shown at the end of every denoising run, whatever the training noise was.
    let private shownCorruptions (trained: Corruption) =
        match trained with
        | GaussianNoise s -> [ GaussianNoise s; MaskingNoise 0.5 ]
        | MaskingNoise p -> [ GaussianNoise 0.5; MaskingNoise p ]

    let private describe (c: Corruption) =
        match c with
        | GaussianNoise s -> sprintf "Gaussian noise (std %g)" s
        | MaskingNoise p -> sprintf "masking noise (each pixel zeroed with probability %g)" p

    /// AE-DENOISE's entry: per-epoch triptychs of the fixed batch under the training noise, test MSE of denoised vs
    /// clean images under Gaussian and masking noise, final triptychs for both kinds of noise, a code scatter.
    let denoising : ModelSpec<DenoisingConfig> =
        spec ModelKind.Autoencoder "ae-denoise"
            "AE-DENOISE: denoising autoencoder (AE-LIN's 784-128-784 network by default; Gaussian or masking noise on the input, clean target)"
            "zero-one" DenoisingAutoencoder.defaults DenoisingAutoencoder.settings DenoisingAutoencoder.validate
                (fun c -> match c.Network with FullyConnected a -> a.InputShape | Convolutional v -> ConvAutoencoder.inputShape v)
                DenoisingAutoencoder.precision (fun device config ->
                let m = DenoisingAutoencoder.create config |> DenoisingAutoencoder.moveTo device
                let reconstruct = Device.runOn device (DenoisingAutoencoder.reconstruct m)
                let encode = Device.runOn device m.Network.Encode
                let corruption = m.Config.Corruption
                let denoisedMseOf (work: Work) (c: Corruption) (split: Split) =
                    RunModel.meanOver work (sprintf "test MSE, denoising %s" (Corruption.name c)) device 1000 split (fun x ->
                        use noisy = corruptSeeded 2UL c x
                        use r = reconstruct noisy
                        Reconstruction.loss Reconstruction.mse ElementMean r x)
                let denoisedName (c: Corruption) = sprintf "MSE per pixel, denoising %s" (Corruption.name c)
                let denoisedMse (work: Work) (c: Corruption) (test: Split) =
                    "test " + denoisedName c, denoisedMseOf work c test,
                    sprintf "mean squared error per pixel between the %d clean test images and the network's output for them corrupted with %s (noise from a fixed seed)" test.Count (describe c)
                let plain = encoderDecoderModel device m.Network (DenoisingAutoencoder.trainer m) Reconstruction.mse ElementMean
                { plain with
                    Pictures =
                      fun batch ->
                          [ sprintf "Noisy, clean and denoised rows (%s)" (describe corruption), triptych reconstruct corruption batch.Inputs ]
                    Evaluate =
                      fun work -> RunModel.onImages (fun test _ ->
                          [ yield mseMetric work device reconstruct test
                            for c in shownCorruptions corruption -> denoisedMse work c test ])
                    // What the network is trained for: denoising the training noise.
                    EpochTest =
                      plain.EpochTest |> Option.map (fun clean part ->
                          clean part |> Map.add (denoisedName corruption) (denoisedMseOf Work.none corruption part))
                    Extras =
                      fun work -> RunModel.onImages (fun test classes ->
                          let clean = test.Images.narrow(0L, 0L, min 16L test.Count)
                          [ yield codeChart work encode test classes
                            for c in shownCorruptions corruption ->
                                ImageGrid(sprintf "Denoising %s" (describe c),
                                          "Groups of three rows: the noisy input, the clean test image, the network's output for the noisy input.",
                                          RunModel.gridColumns,
                                          triptych reconstruct c clean) ]) })

    /// Decodes points on the segment between the posterior means of test images a and b (6 points, ends
    /// included), framed by the two originals: rows of 8 images.
    let private interpolationStrip (m: Vae) (test: Split) (pairs: (int64 * int64) list) : Tensor =
        use _ = torch.no_grad()
        use _ = torch.NewDisposeScope()
        let device = Device.ofModule m.Network.Decoder
        let rowsOf (a, b) =
            let xa = test.Images.narrow(0L, a, 1L).``to``(device)
            let xb = test.Images.narrow(0L, b, 1L).``to``(device)
            let za = Vae.encode m xa
            let zb = Vae.encode m xb
            let ts = torch.linspace(0.0, 1.0, 6L, device = device).unsqueeze(1L)
            let zs = za * (1.0f - ts) + zb * ts
            torch.cat([| xa; Vae.decode m zs; xb |], 0L)
        torch.cat(pairs |> List.map rowsOf |> List.toArray, 0L).MoveToOuterDisposeScope()

    /// The VAE's entry: reconstructions and fixed-noise samples per epoch; test MSE, the ELBO's terms, the negative
    /// ELBO and the IWAE NLL in nats; a grid of samples from N(0, I), interpolation strips and a PCA code scatter.
    let variational : ModelSpec<VaeConfig> =
        spec ModelKind.VariationalAutoencoder "vae"
            "VAE: variational autoencoder (784-400-20x2 / 20-400-784, Tanh; Gaussian or Bernoulli likelihood, β on the KL; the source uses batch 128)"
            "minus-one-one" Vae.source Vae.settings Vae.validate (fun c -> c.InputShape) (fun c -> c.Precision) (fun device config ->
                let m = Vae.create config |> Vae.moveTo device
                let c = m.Config
                let reconstruct = Device.runOn device (Vae.reconstruct m)
                let encode = Device.runOn device (Vae.encode m)
                // A fixed batch of latent points, so the per-epoch sample grids are comparable across epochs.
                let fixedNoise =
                    use g = new torch.Generator(0UL)
                    torch.randn([| 32L; int64 c.LatentDim |], generator = g).``to``(device)
                let likelihoodText =
                    c.Likelihood.Description
                let plain = encoderDecoderModel device m.Network (Vae.trainer m) Reconstruction.mse ElementMean
                // The ELBO's constant for images of the split's size.
                let likelihoodConstantOf (split: Split) = Vae.likelihoodConstant c.Likelihood (int (split.Images.numel() / split.Count))
                // The ELBO's reconstruction term (one z ~ q(z|x) per image, from a fixed seed) and KL, means over the split.
                let elboTerms (work: Work) (split: Split) =
                    use g = new torch.Generator(0UL)
                    let recon =
                        RunModel.meanOver work "test reconstruction term" device 500 split (fun x ->
                            let mu, logVar = Vae.posterior m x
                            use eps = torch.randn(mu.shape, generator = g).``to``(mu.device)
                            use z = Vae.reparameterize mu logVar eps
                            use r = Vae.decode m z
                            (Vae.reconstructionPerSample c.Likelihood r x).mean())
                    let kl = RunModel.meanOver work "test KL" device 500 split (fun x -> let mu, logVar = Vae.posterior m x in (Divergence.gaussianKl mu logVar).mean())
                    recon, kl
                { plain with
                    EpochTest =
                      plain.EpochTest |> Option.map (fun reconstruction part ->
                          let recon, kl = elboTerms Work.none part
                          reconstruction part |> Map.add "negative ELBO (nats)" (recon + likelihoodConstantOf part + kl))
                    Pictures =
                      fun batch ->
                          use _ = torch.no_grad()
                          use r = reconstruct batch.Inputs
                          [ "Original (odd rows) and reconstruction (even rows)", RunModel.interleaveRows 8 batch.Inputs r
                            "Samples decoded from a fixed batch of z ~ N(0, I)", Vae.decode m fixedNoise ]
                    Evaluate =
                      fun work -> RunModel.onImages (fun test _ ->
                          let constant = likelihoodConstantOf test
                          let recon, kl = elboTerms work test
                          use gi = new torch.Generator(1UL)
                          let nll = RunModel.meanOver work "test NLL (IWAE)" device 250 test (fun x -> use w = Vae.logImportanceWeights m gi c.IwaeSamples x in (Vae.iwaeNegativeLogLikelihood w).mean())
                          let n = test.Count
                          [ mseMetric work device reconstruct test
                            "test reconstruction term", recon,
                              sprintf "mean over the %d test images of %s with one z ~ q(z|x) each (the ELBO's first term, without its constant)" n (sprintf "Σ of the %s" c.Likelihood.Reconstruction.Description)
                            "test KL", kl, sprintf "mean over the %d test images of KL(q(z|x) ‖ N(0, I)) in nats, closed form" n
                            "test loss", recon + c.Beta * kl, sprintf "the training objective: reconstruction term + β·KL with β = %g" c.Beta
                            "test negative ELBO (nats)", recon + constant + kl, sprintf "reconstruction term + %.1f + KL: -ELBO per image for the %s" constant likelihoodText
                            sprintf "test NLL, IWAE k=%d (nats)" c.IwaeSamples, nll,
                              sprintf "importance-sampled estimate of -log p(x) per image (Burda et al. 2016), %d samples of q(z|x) per test image, same likelihood; it is never above the negative ELBO" c.IwaeSamples ])
                    Sample = Some (fun generator n -> Vae.sampleWith generator m n)
                    Extras =
                      fun work -> RunModel.onImages (fun test classes ->
                          let samples =
                              use g = new torch.Generator(3UL)
                              use z = torch.randn([| 64L; int64 c.LatentDim |], generator = g).``to``(device)
                              use _ = torch.no_grad()
                              Vae.decode m z
                          let pairs = [ 0L, 1L; 2L, 3L; 4L, 5L; 6L, 7L ] |> List.filter (fun (_, b) -> b < test.Count)
                          [ codeChart work encode test classes
                            ImageGrid("Samples from the prior", "64 images decoded from z ~ N(0, I) (a fixed seed): what the model generates.", RunModel.gridColumns, samples)
                            if not pairs.IsEmpty then
                                ImageGrid("Latent interpolation between test images",
                                          "Each row: a test image, the decoded points on the straight line between its posterior mean and the next test image's (6 steps, ends included), then that image.",
                                          RunModel.gridColumns,
                                          interpolationStrip m test pairs) ]) })

    /// AE-LIN.
    let linear = fullyConnected "ae-linear" "AE-LIN: single-layer autoencoder (784-128-784, ReLU)" Autoencoder.linear "zero-one"

    /// AE-DEEP.
    let deep =
        fullyConnected "ae-deep"
            "AE-DEEP: deep autoencoder (784-128-64-36-18-9 and back, Sigmoid; Adam lr 1e-3, the source's lr 0.1 via --set optimizer=adam:lr=0.1,wd=1e-6)"
            Autoencoder.deep "zero-one"

    /// AE-3D, on [-1,1] data rather than MNIST's mean/std: Tanh cannot reach the 13.8% of mean/std pixels above 1
    /// (see Autoencoder.threeD).
    let threeD =
        fullyConnected "ae-3d" "AE-3D: autoencoder with a 3-d code (784-128-64-12-3 and back, Tanh, [-1,1] data; the source uses batch 128)"
            Autoencoder.threeD "minus-one-one"

    /// Every autoencoder entry, in the order `generative models` lists them.
    let all : CatalogEntry list =
        [ ModelSpec.entry linear
          ModelSpec.entry deep
          ModelSpec.entry threeD
          ModelSpec.entry convolutional
          ModelSpec.entry denoising
          ModelSpec.entry variational ]
