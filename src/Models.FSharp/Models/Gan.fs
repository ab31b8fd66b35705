namespace Generative

open System
open System.Globalization
open TorchSharp

/// The distribution the generator's input noise z is drawn from.
type LatentNoise =
    /// z ~ N(0, I).
    | Normal
    /// z ~ U[-1, 1]^d.
    | Uniform

/// The generator and discriminator networks of the seed GANs (docs/models.md).
type GanArchitecture =
    /// GAN-MLP-A: G z-256-512-784 (LeakyReLU 0.1, Tanh); D 784-256-128-1 (LeakyReLU 0.1, Sigmoid).
    | MlpA
    /// GAN-MLP-B: G z-H-784 (LeakyReLU 0.2, Tanh); D 784-H (LeakyReLU 0.2, Dropout)-1 Sigmoid.
    | MlpB
    /// GAN-MLP-C (and LSGAN): G z-1024-1024-784 (ReLU, Tanh); D 784-256-256-1 (LeakyReLU 0.2, logits).
    | MlpC
    /// DCGAN-A: conv D with max pooling and logits; G FC-BN-FC-BN, two transposed convolutions, Tanh.
    | DcganA
    /// DCGAN-B (Keras cookbook): tanh conv D with a sigmoid; G dense-BN, upsampling and 'same' convolutions.
    | DcganB

/// A differentiable augmentation applied alike to real and generated images before the discriminator sees them, in
/// its step and in the generator's, so D never sees an image that G could not have been trained to match (Zhao et
/// al., 2020, "Differentiable Augmentation for Data-Efficient GAN Training", the policies of their DiffAugment code).
[<RequireQualifiedAccess>]
type GanAugmentation =
    /// Shifts each image by a random whole number of pixels, up to 1/8 of its size each way, filling with zeros.
    | Translation
    /// Zeroes a square of half the image's size at a random position in each image.
    | Cutout

/// A GAN: networks, noise, objective, schedule and optimisers.
type GanConfig =
    { Architecture: GanArchitecture
      /// Size of z.
      LatentSize: int
      Noise: LatentNoise
      /// GAN-MLP-B only: width of the hidden layer of G and D.
      HiddenWidth: int
      /// GAN-MLP-B only: dropout probability after D's hidden layer.
      Dropout: float
      Loss: GanLoss
      /// Multiplies the discriminator loss: 0.5 gives the "(real + fake) / 2" form of GAN-MLP-A and of Keras'
      /// concatenated real+fake batch (DCGAN-B); 1 the summed form of the other sources.
      DiscriminatorLossScale: float
      /// Discriminator updates per generator update (each on its own batch; the generator trains after every k-th).
      DiscriminatorSteps: int
      GeneratorOptimizer: OptimizerSpec
      DiscriminatorOptimizer: OptimizerSpec
      /// Probability of flipping each real image horizontally before the discriminator sees it (0: off).
      FlipProbability: float
      // The techniques beyond the sources below are off in every faithful preset.
      /// Decay of an exponential moving average of the generator's weights, which sampling and evaluation then use
      /// (Yazıcı et al., 2019; Karras et al., 2018), e.g. 0.999; 0: off, the raw generator.
      EmaDecay: float
      /// Spectral normalisation of the discriminator's linear and convolutional layers (Miyato et al., 2018).
      SpectralNorm: bool
      /// Weight γ of the R1 penalty γ/2·E‖∇D(x)‖² on real images added to D's loss (Mescheder et al., 2018); 0: off.
      R1Weight: float
      /// Differentiable augmentations of real and generated images before D, applied in this order; []: none.
      Augmentations: GanAugmentation list
      /// The minibatch standard deviation feature (Karras et al., 2018) appended to the input of D's output layer
      /// (`MinibatchStddev`), so D sees how varied each batch is and a collapsing G loses.
      MinibatchStddev: bool
      /// The number format of the training passes: BFloat16 runs G's and D's linear and convolution layers in
      /// bfloat16 on working copies (see `MixedPrecision.computeLayersCopy`); weights, optimisers, batch norm, the
      /// losses and everything saved stay fp32.
      Precision: TrainingPrecision }

/// A created GAN: its two registered networks, the moving average of the generator when the config asks for one,
/// the fixed noise batch pictures are drawn from, and its config.
type Gan =
    { Config: GanConfig
      /// The generator the optimiser trains.
      Generator: Net
      Discriminator: Net
      /// The exponential moving average of the generator's weights (`GanConfig.EmaDecay` > 0), which sampling and
      /// evaluation use instead of `Generator`; None when the decay is 0. It has the generator's architecture, is
      /// never trained by an optimiser (its parameters do not require gradients) and follows G through `Gan.updateEma`.
      Ema: Net option
      /// 64 noise vectors drawn once at creation: the same faces every epoch, so progress can be watched.
      FixedNoise: Tensor }

/// GANs (section order: config, validate, create, forward, loss, step). Goodfellow et al., 2014.
[<RequireQualifiedAccess>]
module Gan =
    /// Number of fixed-noise samples drawn in the per-epoch grid.
    let fixedNoiseCount = 64

    /// The trainer's name of the generator's moving average, so checkpoints and model files save it as
    /// `generator-ema.<entry>`.
    let emaModuleName = "generator-ema"

    /// GAN-MLP-A (tutorial 1): z 64 ~ N(0,I), BCE with the non-saturating G, D loss (real+fake)/2, Adam 3e-4 for
    /// both, random horizontal flip of the real images.
    let mlpA =
        { Architecture = MlpA; LatentSize = 64; Noise = Normal; HiddenWidth = 256; Dropout = 0.0
          Loss = GanLoss.nonSaturating; DiscriminatorLossScale = 0.5; DiscriminatorSteps = 1
          GeneratorOptimizer = Optim.adam 3e-4; DiscriminatorOptimizer = Optim.adam 3e-4; FlipProbability = 0.5
          EmaDecay = 0.0; SpectralNorm = false; R1Weight = 0.0; Augmentations = []; MinibatchStddev = false
          Precision = TrainingPrecision.Float32 }

    /// GAN-MLP-B (article 2): z 20, one hidden layer of 256 in G and D, dropout 0.3 in D, BCE summed over real and
    /// fake, non-saturating G. The source says only "Adam": lr 2e-4 with beta1 0.5 (Radford et al., 2016) is used.
    let mlpB =
        { mlpA with
            Architecture = MlpB; LatentSize = 20; HiddenWidth = 256; Dropout = 0.3; DiscriminatorLossScale = 1.0
            FlipProbability = 0.0
            GeneratorOptimizer = Adam(2e-4, 0.5, 0.999, 0.0); DiscriminatorOptimizer = Adam(2e-4, 0.5, 0.999, 0.0) }

    /// GAN-MLP-C (chapter): z 96 ~ U[-1,1], BCE with logits (non-saturating G), Adam 3e-4 betas (0.5, 0.999).
    let mlpC =
        { mlpA with
            Architecture = MlpC; LatentSize = 96; Noise = Uniform; DiscriminatorLossScale = 1.0; FlipProbability = 0.0
            GeneratorOptimizer = Adam(3e-4, 0.5, 0.999, 0.0); DiscriminatorOptimizer = Adam(3e-4, 0.5, 0.999, 0.0) }

    /// LSGAN: GAN-MLP-C's networks with the least-squares loss.
    let lsgan = { mlpC with Loss = GanLoss.leastSquares }

    /// DCGAN-A (chapter): conv D, FC+transposed-conv G with batch norm, z 96 ~ U[-1,1], BCE with logits,
    /// Adam 3e-4 betas (0.5, 0.999).
    let dcganA = { mlpC with Architecture = DcganA }

    /// DCGAN-PLUS, beyond the sources: DCGAN-A's networks, noise and optimisers trained with the hinge loss and a
    /// spectrally normalised D, sampled from a moving average of G's weights (decay 0.995: a horizon of 200 steps,
    /// short enough for 5 epochs), the combination that measured best (bench/gan/README.md).
    let dcganPlus = { dcganA with Loss = GanLoss.hinge; SpectralNorm = true; EmaDecay = 0.995 }

    /// GAN-MLP-PLUS, beyond the sources: GAN-MLP-C's networks, noise and optimisers trained with the hinge loss and a
    /// minibatch standard deviation feature in D, sampled from a moving average of G's weights (decay 0.999: a horizon
    /// of 1,000 steps, well within the 18,750 of 5 epochs at the entry's batch 16), the combination that measured best
    /// against the MLP's mode collapse (bench/gan/README.md).
    let mlpPlus = { mlpC with Loss = GanLoss.hinge; EmaDecay = 0.999; MinibatchStddev = true }

    /// DCGAN-B (Keras cookbook): z 100 ~ U[-1,1], BCE on sigmoid outputs with D's loss over the concatenated
    /// real+fake batch (so halved), SGD lr 5e-4 momentum 0.9 Nesterov for both, Keras initialisation.
    let dcganB =
        { mlpA with
            Architecture = DcganB; LatentSize = 100; Noise = Uniform; FlipProbability = 0.0
            GeneratorOptimizer = Sgd(5e-4, 0.9, true, 0.0); DiscriminatorOptimizer = Sgd(5e-4, 0.9, true, 0.0) }

    /// What the architecture's discriminator outputs.
    let discriminatorOutput (a: GanArchitecture) =
        match a with
        | MlpA | MlpB | DcganB -> Probability
        | MlpC | DcganA -> Score

    /// Throws ArgumentException naming the field when the config cannot be built or trained.
    let validate (c: GanConfig) =
        if c.LatentSize < 1 then Errors.invalidArg "latent-size" "a positive size" c.LatentSize
        if c.HiddenWidth < 1 then Errors.invalidArg "hidden-width" "a positive width" c.HiddenWidth
        if not (c.Dropout >= 0.0 && c.Dropout < 1.0) then Errors.invalidArg "dropout" "a probability in [0, 1)" c.Dropout
        if not (c.DiscriminatorLossScale > 0.0) || Double.IsInfinity c.DiscriminatorLossScale then
            Errors.invalidArg "d-loss-scale" "a positive finite number" c.DiscriminatorLossScale
        if c.DiscriminatorSteps < 1 then Errors.invalidArg "d-steps" "at least 1" c.DiscriminatorSteps
        if not (c.FlipProbability >= 0.0 && c.FlipProbability <= 1.0) then
            Errors.invalidArg "flip" "a probability in [0, 1]" c.FlipProbability
        if not (c.EmaDecay >= 0.0 && c.EmaDecay < 1.0) then Errors.invalidArg "ema" "a decay in [0, 1) (0: off), e.g. 0.999" c.EmaDecay
        if not (c.R1Weight >= 0.0) || Double.IsInfinity c.R1Weight then Errors.invalidArg "r1" "a finite weight >= 0 (0: off)" c.R1Weight
        if List.length (List.distinct c.Augmentations) <> List.length c.Augmentations then
            Errors.invalidArg "augment" "each augmentation once" (c.Augmentations |> List.map string |> String.concat ",")
        GanLoss.validateFor (discriminatorOutput c.Architecture) c.Loss
        Optim.validate c.GeneratorOptimizer
        Optim.validate c.DiscriminatorOptimizer

    // ---- networks ------------------------------------------------------------------------------------------

    /// The shape of the images every GAN of the catalog draws and discriminates.
    let imageShape = [ 1; 28; 28 ]

    let private image = imageShape
    let private pixels = 784

    let private generatorOf (c: GanConfig) : Net =
        let z = c.LatentSize
        match c.Architecture with
        | MlpA -> Mlp.create [ z; 256; 512; pixels ] (LeakyRelu 0.1) Tanh >-> Layers.reshape image
        | MlpB -> Mlp.create [ z; c.HiddenWidth; pixels ] (LeakyRelu 0.2) Tanh >-> Layers.reshape image
        | MlpC -> Mlp.create [ z; 1024; 1024; pixels ] Relu Tanh >-> Layers.reshape image
        | DcganA ->
            Layers.sequence
                [ Layers.linear z 1024; Layers.relu (); Conv.batchNorm1d 1024 1e-5 0.1
                  Layers.linear 1024 (7 * 7 * 128); Layers.relu (); Conv.batchNorm1d (7 * 7 * 128) 1e-5 0.1
                  Layers.reshapeChannelsLast [ 128; 7; 7 ]
                  Conv.convTranspose2d 128 64 4 2 1; Layers.relu (); Conv.batchNorm2d 64 1e-5 0.1
                  Conv.convTranspose2d 64 1 4 2 1; Layers.tanh () ]
        | DcganB ->
            // Keras BatchNormalization defaults: momentum 0.99 (PyTorch 0.01), epsilon 1e-3.
            Layers.sequence
                [ Layers.linear z 1024; Layers.tanh ()
                  Layers.linear 1024 (128 * 7 * 7); Conv.batchNorm1d (128 * 7 * 7) 1e-3 0.01; Layers.tanh ()
                  Layers.reshapeChannelsLast [ 128; 7; 7 ]
                  Conv.upsample 2; Conv.conv2dSame 128 64 5; Layers.tanh ()
                  Conv.upsample 2; Conv.conv2dSame 64 1 5; Layers.tanh () ]
            |> Conv.glorotInit

    let private plainDiscriminatorOf (c: GanConfig) : Net =
        // D's output layer from `inputs` features, preceded by the minibatch standard deviation when the config asks
        // for it (one more input); without it the layers, their order and their names are the sources'.
        let output inputs =
            if c.MinibatchStddev then [ MinibatchStddev.layer (); Layers.linear (inputs + 1) 1 ]
            else [ Layers.linear inputs 1 ]
        match c.Architecture with
        | MlpA ->
            Layers.sequence
                ([ Layers.flatten (); Layers.linear pixels 256; Layers.leakyRelu 0.1; Layers.linear 256 128; Layers.leakyRelu 0.1 ]
                 @ output 128 @ [ Layers.sigmoid () ])
        | MlpB ->
            Layers.sequence
                ([ Layers.flatten (); Layers.linear pixels c.HiddenWidth; Layers.leakyRelu 0.2; Layers.dropout c.Dropout ]
                 @ output c.HiddenWidth @ [ Layers.sigmoid () ])
        | MlpC ->
            Layers.sequence
                ([ Layers.flatten (); Layers.linear pixels 256; Layers.leakyRelu 0.2; Layers.linear 256 256; Layers.leakyRelu 0.2 ]
                 @ output 256)
        | DcganA ->
            // 28 -conv5-> 24 -pool-> 12 -conv5-> 8 -pool-> 4: 64·4·4 = 1024 features.
            Layers.sequence
                ([ Conv.conv2d 1 32 5 1 0; Layers.leakyRelu 0.01; Conv.maxPool2d 2 2
                   Conv.conv2d 32 64 5 1 0; Layers.leakyRelu 0.01; Conv.maxPool2d 2 2
                   Layers.flatten (); Layers.linear 1024 1024; Layers.leakyRelu 0.01 ]
                 @ output 1024)
        | DcganB ->
            // 28 -same conv-> 28 -pool-> 14 -valid conv5-> 10 -pool-> 5: 128·5·5 = 3200 features.
            Layers.sequence
                ([ Conv.conv2dSame 1 64 5; Layers.tanh (); Conv.maxPool2d 2 2
                   Conv.conv2d 64 128 5 1 0; Layers.tanh (); Conv.maxPool2d 2 2
                   Layers.flatten (); Layers.linear 3200 1024; Layers.tanh () ]
                 @ output 1024 @ [ Layers.sigmoid () ])
            |> Conv.glorotInit

    /// D as the sources build it, then, with `SpectralNorm`, every linear and convolution layer spectrally normalised
    /// (after any re-initialisation, so the raw weights are the same with and without it; u and v come after them
    /// from the global generator). Without it the parameter names are unchanged ("1.weight"); with it a layer holds
    /// "1.weight_orig", "1.bias", "1.weight_u" and "1.weight_v".
    let private discriminatorOf (c: GanConfig) : Net =
        let d = plainDiscriminatorOf c
        let d = if c.SpectralNorm then SpectralNorm.apply d else d
        // The convolutional Ds run channels-last from their first convolution on: the same numbers, faster
        // (docs/torchsharp.md, "Channels-last convolutions"). A no-op for the MLPs, and for spectrally normalised
        // layers, which are not `Conv2d` modules.
        ChannelsLast.fromFirstConvolution d
        d

    /// Draws `count` noise vectors [count, LatentSize] from the config's distribution with `generator` (null: the
    /// global generator), on `device`.
    let noiseWith (generator: torch.Generator) (c: GanConfig) (device: torch.Device) (count: int64) : Tensor =
        if count < 0L then Errors.invalidArg "count" "a count >= 0" count
        match c.Noise with
        | Normal -> torch.randn([| count; int64 c.LatentSize |], device = device, generator = generator)
        | Uniform ->
            use u = torch.rand([| count; int64 c.LatentSize |], device = device, generator = generator)
            u * 2.0f - 1.0f

    /// Draws `count` noise vectors [count, LatentSize] from the config's distribution (global generator).
    let noise (c: GanConfig) (device: torch.Device) (count: int64) : Tensor = noiseWith null c device count

    /// A copy of the generator `g` of config `c` for the moving average (`WeightAverage.copyOf`: building it leaves
    /// the random stream alone, so turning the average on changes nothing else a seed determines: G, D and the fixed
    /// noise stay those of the same run without it, and the training that follows draws the same numbers).
    let private emaOf (c: GanConfig) (g: Net) : Net = WeightAverage.copyOf (fun () -> generatorOf c) g

    /// Creates generator, discriminator, the generator's moving average when `EmaDecay` > 0 (a copy of G) and the
    /// fixed noise batch (from libtorch's global generator: seed it first).
    let create (c: GanConfig) : Gan =
        validate c
        let g = generatorOf c
        let d = discriminatorOf c
        let fixedNoise = noise c torch.CPU (int64 fixedNoiseCount)
        let ema = if c.EmaDecay > 0.0 then Some (emaOf c g) else None
        { Config = c; Generator = g; Discriminator = d; Ema = ema; FixedNoise = fixedNoise }

    /// The device the networks' parameters are on.
    let device (m: Gan) : torch.Device = Device.ofModule m.Generator

    /// Moves the networks (the moving average too) and the fixed noise to a device; do it before `trainer` so the
    /// optimisers hold the moved parameters.
    let moveTo (dev: torch.Device) (m: Gan) =
        m.Generator.``to``(dev) |> ignore
        m.Discriminator.``to``(dev) |> ignore
        m.Ema |> Option.iter (fun ema -> ema.``to``(dev) |> ignore)
        { m with FixedNoise = m.FixedNoise.``to``(dev) }

    // ---- forward -------------------------------------------------------------------------------------------

    /// Images [N, 1, 28, 28] in [-1, 1] from noise [N, LatentSize] by the trained generator G (what its loss
    /// sees; sampling uses `generateSamples`).
    let generate (m: Gan) (z: Tensor) : Tensor = m.Generator.forward(z)

    /// The network samples and evaluation draw from: the moving average of G when there is one, else G itself.
    let samplingNetwork (m: Gan) : Net = defaultArg m.Ema m.Generator

    /// Images [N, 1, 28, 28] in [-1, 1] from noise [N, LatentSize] by `samplingNetwork` (the moving average when
    /// there is one).
    let generateSamples (m: Gan) (z: Tensor) : Tensor = (samplingNetwork m).forward(z)

    /// D's outputs [N, 1] on images [N, 1, 28, 28]: probabilities or scores, see `discriminatorOutput`.
    let discriminate (m: Gan) (images: Tensor) : Tensor = m.Discriminator.forward(images)

    /// `count` new images from fresh noise by `samplingNetwork`, without gradients (the network's mode is the
    /// caller's choice).
    let sample (m: Gan) (count: int) : Tensor =
        if count < 1 then Errors.invalidArg "count" "at least 1" count
        use _ = torch.no_grad()
        use z = noise m.Config (device m) (int64 count)
        generateSamples m z

    /// `count` new images by `samplingNetwork` from noise drawn with an explicit CPU generator (reproducible
    /// evaluation samples).
    let sampleWith (generator: torch.Generator) (m: Gan) (count: int) : Tensor =
        if count < 1 then Errors.invalidArg "count" "at least 1" count
        use _ = torch.no_grad()
        use z = noiseWith generator m.Config torch.CPU (int64 count)
        use onDevice = z.``to``(device m)
        generateSamples m onDevice

    /// `sampleWith` from the trained generator G, even when there is a moving average (to compare the two).
    let sampleRawWith (generator: torch.Generator) (m: Gan) (count: int) : Tensor =
        sampleWith generator { m with Ema = None } count

    /// The fixed noise batch rendered by `samplingNetwork`, without gradients.
    let fixedSamples (m: Gan) : Tensor =
        use _ = torch.no_grad()
        generateSamples m m.FixedNoise

    // ---- loss ----------------------------------------------------------------------------------------------

    /// What the discriminator sees of a batch: the config's differentiable augmentations applied in order, each
    /// drawing from libtorch's global generator (a new tensor even without any, so callers may dispose it).
    let seenByDiscriminator (c: GanConfig) (images: Tensor) : Tensor =
        let apply (x: Tensor) (a: GanAugmentation) =
            match a with
            | GanAugmentation.Translation -> DiffAugment.translation GlobalGenerator x
            | GanAugmentation.Cutout -> DiffAugment.cutout GlobalGenerator x
        match c.Augmentations with
        | [] -> images.alias()
        | first :: rest ->
            rest |> List.fold (fun (x: Tensor) a -> (use previous = x in apply previous a)) (apply images first)

    /// The discriminator's named loss terms on a real batch and a fake batch (the fakes are detached here, so no
    /// gradient reaches the generator), both as D sees them (`seenByDiscriminator`): "d_loss" (scaled loss plus
    /// penalty), "d_real" = mean D(x), "d_fake" = mean D(G(z)) (D's raw outputs: probabilities or scores),
    /// "d_penalty" when the loss has one, and "d_r1" = R1Weight/2 · E‖∇D(x)‖² on the real batch D saw when
    /// R1Weight > 0 (see `GanLoss.r1Penalty`), included in "d_loss".
    let discriminatorLoss (m: Gan) (real: Tensor) (fake: Tensor) : Map<string, Tensor> =
        let c = m.Config
        let output = discriminatorOutput c.Architecture
        use seenFake = fake.detach()
        use real = seenByDiscriminator c real
        use detached = seenByDiscriminator c seenFake
        let dReal = discriminate m real
        let dFake = discriminate m detached
        use raw = c.Loss.Discriminator output dReal dFake
        let scaled = raw * float32 c.DiscriminatorLossScale
        let terms = [ "d_real", dReal.mean().detach(); "d_fake", dFake.mean().detach() ]
        let lossTerms =
            match c.Loss.Penalty with
            | None -> Map(("d_loss", scaled) :: terms)
            | Some penalty ->
                let p = penalty (discriminate m) real detached
                Map(("d_loss", scaled + p) :: ("d_penalty", p) :: terms)
        // R1 on the real batch D saw, with a forward of its own; added unscaled (R1Weight is γ itself).
        if c.R1Weight > 0.0 then
            let r1 = GanLoss.r1Penalty c.R1Weight (discriminate m) real
            lossTerms |> Map.add "d_loss" (lossTerms.["d_loss"] + r1) |> Map.add "d_r1" r1
        else lossTerms

    /// The generator's named loss term "g_loss" on fakes that still carry the generator's graph, as D sees them
    /// (`seenByDiscriminator`: the augmentations are differentiable, so the gradient reaches G through them).
    let generatorLoss (m: Gan) (fake: Tensor) : Map<string, Tensor> =
        let output = discriminatorOutput m.Config.Architecture
        use seen = seenByDiscriminator m.Config fake
        use d = discriminate m seen
        Map [ "g_loss", m.Config.Loss.Generator output d ]

    // ---- step ----------------------------------------------------------------------------------------------

    let private setRequiresGrad (net: Net) (on: bool) =
        for p in net.parameters() do p.requires_grad <- on

    let private numbers (terms: Map<string, Tensor>) = terms |> Map.map (fun _ t -> t.ToDouble())

    /// One discriminator update: zero D's gradients, D loss on (real, detached fakes), backward, `handBack` (which
    /// moves a working copy's gradients to the master's parameters; nothing in fp32), step D's optimiser.
    let private discriminatorUpdate (m: Gan) (optimizer: Modules.OptimizerHelper) (handBack: unit -> unit)
                                    (real: Tensor) (fake: Tensor) : Map<string, float> =
        optimizer.zero_grad()
        let terms = discriminatorLoss m real fake
        terms.["d_loss"].backward()
        handBack ()
        optimizer.step() |> ignore
        numbers terms

    /// One generator update through the frozen D: as `discriminatorUpdate`, for G's loss on the fakes.
    let private generatorUpdate (m: Gan) (optimizer: Modules.OptimizerHelper) (handBack: unit -> unit) (fake: Tensor) : Map<string, float> =
        setRequiresGrad m.Discriminator false
        try
            optimizer.zero_grad()
            let terms = generatorLoss m fake
            terms.["g_loss"].backward()
            handBack ()
            optimizer.step() |> ignore
            numbers terms
        finally
            setRequiresGrad m.Discriminator true

    /// One discriminator update: zero D's gradients, D loss on (real, detached fakes), backward, step D's
    /// optimiser. Only D's parameters change. Returns the named terms as numbers.
    let discriminatorStep (m: Gan) (optimizer: Modules.OptimizerHelper) (real: Tensor) (fake: Tensor) : Map<string, float> =
        discriminatorUpdate m optimizer ignore real fake

    /// One generator update with D frozen (requires_grad off, so no gradient is even computed for it): zero G's
    /// gradients, G loss on the fakes, backward, step G's optimiser. Only G's parameters change.
    let generatorStep (m: Gan) (optimizer: Modules.OptimizerHelper) (fake: Tensor) : Map<string, float> =
        generatorUpdate m optimizer ignore fake

    /// Moves the generator's moving average towards G after a generator update: every parameter becomes
    /// decay · average + (1 - decay) · G's, in place and without gradients, and every buffer (batch norm's running
    /// statistics and counter) becomes G's, since buffers are not learned and G's describe the current activations.
    /// Nothing happens without a moving average.
    let updateEma (m: Gan) =
        m.Ema |> Option.iter (fun ema -> WeightAverage.update m.Config.EmaDecay ema m.Generator)

    /// Flips each image of a real batch horizontally with the config's probability (global generator, so a
    /// checkpoint's RNG state covers it).
    let augment (c: GanConfig) (images: Tensor) : Tensor =
        if c.FlipProbability <= 0.0 then images.alias()
        else
            Transforms.randomHorizontalFlip c.FlipProbability GlobalGenerator images

    /// A trainer whose step names what it updates: D on the (augmented) real batch and detached fakes with the
    /// "discriminator" optimiser over D's parameters, then, after every `DiscriminatorSteps`-th D update, G
    /// through the frozen D with the "generator" optimiser over G's parameters. The D and G steps of one trainer
    /// step share the same fakes G(z) (the PyTorch DCGAN example's pattern), so G runs forward once. Each G update
    /// is followed by `updateEma`. The moving average, when there is one, is the module "generator-ema", so
    /// checkpoints and model files hold it (and evaluation mode reaches it); no optimiser holds its parameters.
    /// With `Precision` BFloat16 the passes run through working copies of G and D (`MixedPrecision.computeLayersCopy`),
    /// which receive the masters' weights before the step and D's again before G's update.
    let trainer (m: Gan) : Trainer =
        let c = m.Config
        let gOptimizer = Optim.create c.GeneratorOptimizer (m.Generator.parameters())
        let dOptimizer = Optim.create c.DiscriminatorOptimizer (m.Discriminator.parameters())
        // In a lower precision the passes run through working copies of G and D (built with the global generator put
        // back, so a seed draws the same numbers in either precision); G and D stay the fp32 masters.
        let working =
            match c.Precision with
            | TrainingPrecision.Float32 -> None
            | precision ->
                let g, d = Device.keepingRandomState (fun () -> generatorOf c, discriminatorOf c)
                Some ({ m with Generator = g; Discriminator = d; Ema = None },
                      MixedPrecision.computeLayersCopy precision m.Generator g,
                      MixedPrecision.computeLayersCopy precision m.Discriminator d)
        let passes = match working with Some (w, _, _) -> w | None -> m
        let onCopies f = working |> Option.iter (fun (_, g, d) -> f g; f d)
        let handBack pick () = working |> Option.iter (fun w -> MixedPrecision.storeGradients (pick w))
        // Counts D updates so G trains after every k-th; a resumed run restarts the cycle (harmless for k = 1).
        let mutable discriminatorUpdates = 0
        { Modules =
            [ "generator", m.Generator :> torch.nn.Module; "discriminator", m.Discriminator :> torch.nn.Module ]
            @ (m.Ema |> Option.map (fun ema -> emaModuleName, ema :> torch.nn.Module) |> Option.toList)
          Optimizers = [ "generator", gOptimizer; "discriminator", dOptimizer ]
          Carried = None
          Step =
            fun batch ->
                let real = augment c batch.Inputs
                let trainGenerator = (discriminatorUpdates + 1) % c.DiscriminatorSteps = 0
                let z = noise c real.device real.shape.[0]
                onCopies MixedPrecision.loadWeights
                let fake =
                    if trainGenerator then generate passes z
                    else
                        use _ = torch.no_grad()
                        generate passes z
                let dTerms = discriminatorUpdate passes dOptimizer (handBack (fun (_, _, d) -> d)) real fake
                discriminatorUpdates <- discriminatorUpdates + 1
                let terms =
                    if trainGenerator then
                        // G trains against the D just updated.
                        working |> Option.iter (fun (_, _, d) -> MixedPrecision.loadWeights d)
                        let gTerms = generatorUpdate passes gOptimizer (handBack (fun (_, g, _) -> g)) fake
                        Map.fold (fun acc k v -> Map.add k v acc) dTerms gTerms
                    else dTerms
                // Batch norm's running statistics, updated by the working copies' forward passes.
                onCopies MixedPrecision.storeBuffers
                if trainGenerator then updateEma m
                terms }

    // ---- settings ------------------------------------------------------------------------------------------

    /// "normal" | "uniform".
    let noiseName = function Normal -> "normal" | Uniform -> "uniform"

    /// Inverse of `noiseName`.
    let parseNoise (text: string) =
        match text.Trim().ToLowerInvariant() with
        | "normal" | "gaussian" -> Normal
        | "uniform" -> Uniform
        | other -> Errors.invalidArg "noise" "normal or uniform (in [-1,1])" other

    /// "none" | "translation" | "cutout" | "translation,cutout" (in the order applied).
    let augmentationsName (augmentations: GanAugmentation list) =
        match augmentations with
        | [] -> "none"
        | xs -> xs |> List.map (function GanAugmentation.Translation -> "translation" | GanAugmentation.Cutout -> "cutout") |> String.concat ","

    /// Inverse of `augmentationsName` ("+" also separates).
    let parseAugmentations (text: string) : GanAugmentation list =
        match text.Trim().ToLowerInvariant() with
        | "" | "none" | "off" -> []
        | t ->
            t.Split([| ','; '+' |], StringSplitOptions.RemoveEmptyEntries ||| StringSplitOptions.TrimEntries)
            |> Array.map (function
                | "translation" -> GanAugmentation.Translation
                | "cutout" -> GanAugmentation.Cutout
                | other -> Errors.invalidArg "augment" "none, or translation and/or cutout separated by commas" other)
            |> List.ofArray

    /// The settings every GAN has, declared once: `--set`, run.json and model files use them.
    let settings : Setting<GanConfig> list =
        [ Setting.int "latent-size" "size of the noise z" (fun c -> c.LatentSize) (fun v c -> { c with LatentSize = v })
          Setting.create "noise" "distribution of z: normal or uniform (in [-1,1])" noiseName parseNoise (fun c -> c.Noise) (fun v c -> { c with Noise = v })
          Setting.create "loss" (sprintf "the GAN objective: %s" (GanLoss.all |> List.map (fun l -> l.Name) |> String.concat ", "))
              (fun (l: GanLoss) -> l.Name) GanLoss.parse (fun c -> c.Loss) (fun v c -> { c with Loss = v })
          Setting.float "d-loss-scale" "multiplies the discriminator loss (0.5: the (real + fake) / 2 form)"
              (fun c -> c.DiscriminatorLossScale) (fun v c -> { c with DiscriminatorLossScale = v })
          Setting.int "d-steps" "discriminator updates per generator update" (fun c -> c.DiscriminatorSteps) (fun v c -> { c with DiscriminatorSteps = v })
          Optim.setting "g-optimizer" "the generator's optimiser" (fun c -> c.GeneratorOptimizer) (fun v c -> { c with GeneratorOptimizer = v })
          Optim.setting "d-optimizer" "the discriminator's optimiser" (fun c -> c.DiscriminatorOptimizer) (fun v c -> { c with DiscriminatorOptimizer = v })
          Setting.float "flip" "probability of flipping each real image horizontally (0: off)"
              (fun c -> c.FlipProbability) (fun v c -> { c with FlipProbability = v })
          Setting.float "ema" "decay of a moving average of G's weights that sampling and evaluation use, e.g. 0.999 (0: off, the raw G; beyond the sources)"
              (fun c -> c.EmaDecay) (fun v c -> { c with EmaDecay = v })
          Setting.bool "spectral-norm" "spectral normalisation of D's linear and convolutional layers (beyond the sources)"
              (fun c -> c.SpectralNorm) (fun v c -> { c with SpectralNorm = v })
          Setting.float "r1" "weight γ of the R1 penalty γ/2·E‖∇D(x)‖² on real images (0: off; beyond the sources)"
              (fun c -> c.R1Weight) (fun v c -> { c with R1Weight = v })
          Setting.create "augment" "differentiable augmentation of real and fake images before D: none, translation, cutout or translation,cutout (beyond the sources)"
              augmentationsName parseAugmentations (fun c -> c.Augmentations) (fun v c -> { c with Augmentations = v })
          Setting.bool "minibatch-stddev" "append the batch's standard deviation to the input of D's output layer, against mode collapse (beyond the sources)"
              (fun c -> c.MinibatchStddev) (fun v c -> { c with MinibatchStddev = v })
          MixedPrecision.setting (fun c -> c.Precision) (fun v c -> { c with Precision = v }) ]

    /// GAN-MLP-B's extra settings (the other architectures ignore them).
    let hiddenSettings : Setting<GanConfig> list =
        [ Setting.int "hidden-width" "GAN-MLP-B: width of the hidden layer of G and D" (fun c -> c.HiddenWidth) (fun v c -> { c with HiddenWidth = v })
          Setting.float "dropout" "GAN-MLP-B: dropout probability after D's hidden layer" (fun c -> c.Dropout) (fun v c -> { c with Dropout = v }) ]

    /// The GAN-MLP preset of a variant letter "a" | "b" | "c".
    let mlpVariant (text: string) =
        match text.Trim().ToLowerInvariant() with
        | "a" -> mlpA
        | "b" -> mlpB
        | "c" -> mlpC
        | other -> Errors.invalidArg "variant" "a, b or c (GAN-MLP-A, -B, -C)" other

    /// GAN-MLP's "variant" setting: a, b or c picks the preset, which the other settings then refine (it comes first
    /// in the table, see `SettingsTable`).
    let variantSetting : Setting<GanConfig> =
        let letter (c: GanConfig) =
            match c.Architecture with
            | MlpA -> "a"
            | MlpB -> "b"
            | MlpC -> "c"
            | other -> invalidOp (sprintf "%A is not a GAN-MLP variant" other)
        { Key = "variant"; Doc = "a, b or c: the GAN-MLP-A, -B or -C preset"; Print = letter; Apply = fun text _ -> mlpVariant text }
