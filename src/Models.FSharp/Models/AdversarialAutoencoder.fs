namespace Generative

open System
open TorchSharp

/// How an adversarial autoencoder's encoder maps an image to its code (Makhzani et al. 2015, section 2).
type AaeEncoder =
    /// The code is a function of the image (the source).
    | Deterministic
    /// The encoder outputs a mean and a log-variance, and training codes are drawn from that Gaussian (the
    /// reparameterisation); `Aae.encode` gives the mean. The noise makes information in the code costly, so a
    /// supervised AAE has a reason to leave the label (which its decoder gets anyway) out of the code.
    | Gaussian

/// An adversarial autoencoder (Makhzani et al. 2015): an autoencoder whose codes a discriminator pushes towards a
/// prior. Unsupervised (AAE-U) or supervised (AAE-S: the decoder also takes the one-hot label, so the code is free
/// to hold only the style).
type AaeConfig =
    { /// Shape of one example, e.g. [1; 28; 28]; flattened for the linear layers.
      InputShape: int list
      /// Width of the encoder's and the decoder's two hidden layers (392 in the source).
      HiddenWidth: int
      /// Size of the code (10 in the source).
      CodeSize: int
      /// Width of the discriminator's two hidden layers (1500 in the source).
      DiscriminatorWidth: int
      /// Dropout probability after every hidden linear layer of the three networks (0.2 in the source).
      Dropout: float
      /// A deterministic encoder (the source) or a Gaussian one.
      Encoder: AaeEncoder
      /// AAE-S: the decoder's input is [one-hot label, code].
      Supervised: bool
      /// Number of classes of the labels (one-hot width).
      Classes: int
      /// What the codes are matched to.
      Prior: LatentPrior
      /// The discriminator also sees each code's one-hot label, and each "real" code is drawn from the prior given
      /// that label: with a mixture prior of one component per class, from the label's component (the paper's
      /// Figure 4); with a Gaussian prior, from the same Gaussian for every label, so that codes carrying the label
      /// are told apart (for AAE-S: the code is left with the style).
      TieLabelsToPrior: bool
      /// With `TieLabelsToPrior`: the share of training images whose label the discriminator sees (semi-supervised
      /// below 1). The others are unlabelled (label -1 in the batch): the discriminator sees the extra "no label"
      /// class, and their prior codes come from a random component.
      LabelledFraction: float
      /// The reconstruction loss (mean over pixels), against a sigmoid output.
      Loss: ReconstructionLoss
      /// Phase 1: the optimiser of encoder and decoder.
      ReconstructionOptimizer: OptimizerSpec
      /// Phase 2: the discriminator's optimiser.
      DiscriminatorOptimizer: OptimizerSpec
      /// Phase 3: the encoder's optimiser as a generator.
      GeneratorOptimizer: OptimizerSpec
      /// Multiplies the generator's loss in phase 3 (1 in the source).
      AdversarialWeight: float
      /// Fraction of the training split held out to measure every phase's loss after each epoch (0: none).
      Validation: float
      /// How the discriminator's last layer reads: `Probability`, a sigmoid with PyTorch's BCE on probabilities (the
      /// source), or `Score`, a linear layer with BCE on logits: the same loss, but its gradient never vanishes. On
      /// probabilities, once D's output rounds to exactly 1 (or 0) in float32, BCE's clamped log has no gradient:
      /// D and the encoder then stop learning from each other (docs/models.md, "Adversarial autoencoders").
      DiscriminatorOutput: DiscriminatorOutput
      /// The number format of the training passes: BFloat16 runs the three networks' linear layers in bfloat16 on
      /// working copies (see `MixedPrecision.computeLayersCopy`); weights, optimisers, the losses and everything
      /// saved stay fp32.
      Precision: TrainingPrecision }

/// A created adversarial autoencoder: its three registered networks and the config they came from.
type Aae =
    { Config: AaeConfig
      /// Images [N, D] flattened -> codes [N, CodeSize].
      Encoder: Net
      /// [one-hot label,] code -> pixels [N, D] in (0, 1).
      Decoder: Net
      /// Codes [, one-hot label] -> probability [N, 1] that the code came from the prior.
      Discriminator: Net }

/// The three optimisers of an AAE's phases.
type AaeOptimizers =
    { /// Encoder and decoder (phase 1).
      Reconstruction: Modules.OptimizerHelper
      /// Discriminator (phase 2).
      Discriminator: Modules.OptimizerHelper
      /// Encoder (phase 3).
      Generator: Modules.OptimizerHelper }

/// Adversarial autoencoders (section order: config, validate, create, forward, loss, phases, trainer, pictures,
/// settings).
[<RequireQualifiedAccess>]
module Aae =
    /// AAE-U as the source trains it: encoder 784-392-392-10, decoder 10-392-392-784 with a sigmoid output,
    /// discriminator 10-1500-1500-1, dropout 0.2, prior N(0, 5² I), BCE, Adam 1e-3 for reconstruction and the
    /// discriminator, Adam 1e-4 (the source's lr × 0.1) for the encoder as a generator. The source normalises its
    /// input with MNIST's mean and std, which a sigmoid cannot reach and BCE does not accept as targets: the library's
    /// runs default to [0, 1] data (docs/models.md).
    let unsupervised =
        { InputShape = [ 1; 28; 28 ]
          HiddenWidth = 392
          CodeSize = 10
          DiscriminatorWidth = 1500
          Dropout = 0.2
          Encoder = Deterministic
          Supervised = false
          Classes = 10
          Prior = LatentPrior.source
          TieLabelsToPrior = false
          LabelledFraction = 1.0
          Loss = Reconstruction.bce
          ReconstructionOptimizer = Optim.adam 1e-3
          DiscriminatorOptimizer = Optim.adam 1e-3
          GeneratorOptimizer = Optim.adam 1e-4
          AdversarialWeight = 1.0
          Validation = 0.1
          DiscriminatorOutput = Probability
          Precision = TrainingPrecision.Float32 }

    /// AAE-S as the source trains it: AAE-U with the one-hot label beside the code at the decoder's input, the encoder's
    /// adversarial phase at a tenth of the other phases' learning rate.
    let supervisedSource = { unsupervised with Supervised = true }

    /// AAE-S as the library trains it by default, the setting under which its codes stop clustering by digit (the
    /// source's claim; measured in docs/models.md, "Does the claim hold?"): the source's, with
    /// - the encoder's adversarial phase at the other phases' learning rate (Adam 1e-3): at the source's 1e-4 the
    ///   discriminator wins outright and the codes keep the digit;
    /// - a discriminator on logits (`Score`): on probabilities its BCE loses its gradient once D is certain, and long
    ///   runs then train as plain autoencoders;
    /// - the label tied to the Gaussian prior: D also reads the label, and the prior is the same for every label, so
    ///   any trace of the digit left in the codes is what D learns to spot and the encoder learns to remove.
    /// Runs of it train on batches of 128 (the catalog entry's batch size), and the codes lose the digit over about
    /// 20 to 30 epochs.
    let supervised =
        { supervisedSource with GeneratorOptimizer = Optim.adam 1e-3; DiscriminatorOutput = Score; TieLabelsToPrior = true }

    /// Number of inputs once an example is flattened.
    let inputSize (c: AaeConfig) = c.InputShape |> List.fold (*) 1

    /// Width of the decoder's input: the code, after the one-hot label for AAE-S.
    let decoderInputSize (c: AaeConfig) = c.CodeSize + (if c.Supervised then c.Classes else 0)

    /// Width of the discriminator's input: the code, with the one-hot label (and a "no label" class) when labels are
    /// tied to the prior.
    let discriminatorInputSize (c: AaeConfig) = c.CodeSize + (if c.TieLabelsToPrior then c.Classes + 1 else 0)

    /// Throws ArgumentException naming the setting when the config cannot be built or trained.
    let validate (c: AaeConfig) =
        if c.InputShape.IsEmpty || c.InputShape |> List.exists (fun d -> d <= 0) then
            Errors.invalidArg "input-shape" "positive dimensions" (sprintf "%A" c.InputShape)
        let bounded key what (v: int) =
            if v < 1 || v > 1_000_000 then Errors.invalidArg key (sprintf "a positive %s of at most 1,000,000" what) v
        bounded "hidden-width" "width" c.HiddenWidth
        bounded "code-size" "size" c.CodeSize
        bounded "discriminator-width" "width" c.DiscriminatorWidth
        if c.Classes < 2 || c.Classes > 100_000 then Errors.invalidArg "classes" "between 2 and 100,000 classes" c.Classes
        if not (c.Dropout >= 0.0 && c.Dropout < 1.0) then Errors.invalidArg "dropout" "a probability in [0, 1)" c.Dropout
        LatentPrior.validate "code-size" c.CodeSize c.Prior
        if c.TieLabelsToPrior && LatentPrior.components c.Prior <> c.Classes && LatentPrior.components c.Prior <> 1 then
            Errors.invalidArg "tie-labels" (sprintf "a Gaussian prior or a mixture prior with one component per class (%d), e.g. --set prior=mixture:components=%d" c.Classes c.Classes) (LatentPrior.describe c.Prior)
        if not (c.LabelledFraction > 0.0 && c.LabelledFraction <= 1.0) then
            Errors.invalidArg "labelled-fraction" "a share of the training images in (0, 1]" c.LabelledFraction
        if c.LabelledFraction < 1.0 && not c.TieLabelsToPrior then
            Errors.invalidArg "labelled-fraction" "1 unless tie-labels=true: only the discriminator can do without labels" c.LabelledFraction
        if c.LabelledFraction < 1.0 && c.Supervised then
            Errors.invalidArg "labelled-fraction" "1 for the supervised AAE: its decoder reads every image's label" c.LabelledFraction
        if not (c.AdversarialWeight >= 0.0) || Double.IsInfinity c.AdversarialWeight then
            Errors.invalidArg "adversarial-weight" "a finite weight >= 0" c.AdversarialWeight
        if not (c.Validation >= 0.0 && c.Validation < 1.0) then
            Errors.invalidArg "validation" "a fraction of the training split in [0, 1)" c.Validation
        Optim.validate c.ReconstructionOptimizer
        Optim.validate c.DiscriminatorOptimizer
        Optim.validate c.GeneratorOptimizer

    // ---- networks ------------------------------------------------------------------------------------------

    /// Linear layers through `widths`, each hidden one followed by dropout and a ReLU (the source's order).
    let private perceptron (widths: int list) (dropout: float) (output: Activation) : Net =
        let pairs = List.pairwise widths
        let last = List.length pairs - 1
        pairs
        |> List.mapi (fun i (a, b) ->
            if i = last then [ Layers.linear a b; Activation.layer output ]
            else [ Layers.linear a b; Layers.dropout dropout; Layers.relu () ])
        |> List.concat
        |> Layers.sequence

    /// Creates the encoder, decoder and discriminator, in that order, from libtorch's global generator (seed it first).
    let create (c: AaeConfig) : Aae =
        validate c
        let d = inputSize c
        { Config = c
          Encoder = perceptron [ d; c.HiddenWidth; c.HiddenWidth; c.CodeSize * (match c.Encoder with Deterministic -> 1 | Gaussian -> 2) ] c.Dropout Identity
          Decoder = perceptron [ decoderInputSize c; c.HiddenWidth; c.HiddenWidth; d ] c.Dropout Sigmoid
          Discriminator =
            perceptron [ discriminatorInputSize c; c.DiscriminatorWidth; c.DiscriminatorWidth; 1 ] c.Dropout
                (match c.DiscriminatorOutput with Probability -> Sigmoid | Score -> Identity) }

    /// The networks as checkpoints name them.
    let modules (m: Aae) : (string * torch.nn.Module) list =
        [ "encoder", m.Encoder :> torch.nn.Module; "decoder", m.Decoder :> torch.nn.Module
          "discriminator", m.Discriminator :> torch.nn.Module ]

    /// The device the networks' parameters are on.
    let device (m: Aae) : torch.Device = Device.ofModule m.Encoder

    /// Moves the three networks to a device; do it before `trainer` so the optimisers hold the moved parameters.
    let moveTo (dev: torch.Device) (m: Aae) =
        for (_, net) in modules m do net.``to``(dev) |> ignore
        m

    // ---- forward -------------------------------------------------------------------------------------------

    let private checkImages (c: AaeConfig) (x: Tensor) =
        let expected = c.InputShape |> List.map int64 |> List.toArray
        if x.dim () < 2L || x.shape.[1..] <> expected && not (x.dim () = 2L && x.shape.[1] = int64 (inputSize c)) then
            Errors.invalidArg "images" (sprintf "a batch [N, %s]" (c.InputShape |> List.map string |> String.concat ", ")) (sprintf "%A" x.shape)

    /// One-hot rows [N, Classes] (float32) of labels [N] on the labels' device.
    let oneHot (c: AaeConfig) (labels: Tensor) : Tensor =
        use l = labels.to_type(torch.int64)
        let maxLabel = if l.numel() = 0L then 0L else l.max().ToInt64()
        let minLabel = if l.numel() = 0L then 0L else l.min().ToInt64()
        if minLabel < 0L || maxLabel >= int64 c.Classes then
            Errors.invalidArg "labels" (sprintf "class indices in [0, %d)" c.Classes) (sprintf "labels from %d to %d" minLabel maxLabel)
        use h = torch.nn.functional.one_hot(l, int64 c.Classes)
        h.to_type(torch.float32)

    /// Codes [N, CodeSize] of images [N, ...InputShape], in whatever mode the encoder is: a Gaussian encoder's mean.
    let encode (m: Aae) (x: Tensor) : Tensor =
        checkImages m.Config x
        use flat = x.flatten(1L)
        match m.Config.Encoder with
        | Deterministic -> m.Encoder.forward(flat)
        | Gaussian ->
            use both = m.Encoder.forward(flat)
            both.narrow(1L, 0L, int64 m.Config.CodeSize).contiguous()

    /// The codes training sees: `encode` for a deterministic encoder; for a Gaussian one, a draw μ + σ·ε from its
    /// output, differentiable in μ and σ. ε comes from `generator`, a CPU generator (drawn on the CPU and moved, so
    /// figures do not depend on the device), or null: the global generator on the model's device.
    let trainingCodes (generator: torch.Generator) (m: Aae) (x: Tensor) : Tensor =
        match m.Config.Encoder with
        | Deterministic -> encode m x
        | Gaussian ->
            checkImages m.Config x
            use _ = torch.NewDisposeScope()
            let both = m.Encoder.forward(x.flatten(1L))
            let k = int64 m.Config.CodeSize
            let mu, logVar = both.narrow(1L, 0L, k), both.narrow(1L, k, k)
            let eps =
                if isNull generator then torch.randn(mu.shape, device = mu.device)
                else torch.randn(mu.shape, generator = generator).``to``(mu.device)
            (mu + eps * (logVar * 0.5f).exp()).MoveToOuterDisposeScope()

    /// What the decoder reads for codes [N, CodeSize]: the codes, after the one-hot labels [N] for AAE-S (labels
    /// are required then and ignored otherwise).
    let decoderInput (m: Aae) (codes: Tensor) (labels: Tensor option) : Tensor =
        let c = m.Config
        if codes.dim () <> 2L || codes.shape.[1] <> int64 c.CodeSize then
            Errors.invalidArg "codes" (sprintf "a [N, %d] batch of codes" c.CodeSize) (sprintf "%A" codes.shape)
        if not c.Supervised then codes.alias()
        else
            match labels with
            | None -> Errors.invalidArg "labels" "one label per code: the supervised AAE's decoder takes the label beside the code" "none"
            | Some l ->
                if l.shape <> [| codes.shape.[0] |] then
                    Errors.invalidArg "labels" (sprintf "a [%d] tensor of labels" codes.shape.[0]) (sprintf "%A" l.shape)
                use h = oneHot c (l.``to``(codes.device))
                torch.cat([| h; codes |], 1L)

    /// Images [N, ...InputShape] from a decoder input (see `decoderInput`).
    let decodeInput (m: Aae) (input: Tensor) : Tensor =
        let c = m.Config
        if input.dim () <> 2L || input.shape.[1] <> int64 (decoderInputSize c) then
            let what = if c.Supervised then sprintf "[N, %d]: the one-hot label (%d) then the code (%d)" (decoderInputSize c) c.Classes c.CodeSize else sprintf "[N, %d] codes" c.CodeSize
            Errors.invalidArg "codes" what (sprintf "%A" input.shape)
        use flat = m.Decoder.forward(input)
        flat.reshape(Array.append [| input.shape.[0] |] (c.InputShape |> List.map int64 |> List.toArray))

    /// Images [N, ...InputShape] of codes [N, CodeSize] (with their labels for AAE-S).
    let decode (m: Aae) (codes: Tensor) (labels: Tensor option) : Tensor =
        use input = decoderInput m codes labels
        decodeInput m input

    /// The label part of the discriminator's input when labels are tied to the prior: one-hot rows [N, Classes + 1]
    /// of labels [N], an unlabelled image (label -1) in the last class.
    let discriminatorLabels (c: AaeConfig) (labels: Tensor) : Tensor =
        use _ = torch.NewDisposeScope()
        let l = labels.to_type(torch.int64)
        let withUnlabelled = torch.where(l.lt(0L.ToScalar()), torch.full_like(l, (int64 c.Classes).ToScalar()), l)
        let extended = { c with Classes = c.Classes + 1 }
        (oneHot extended withUnlabelled).MoveToOuterDisposeScope()

    /// D's last layer [N, 1] on codes, as `DiscriminatorOutput` says: a probability or a logit that the codes came
    /// from the prior (the labels are read when they are tied to the prior).
    let discriminatorOutput (m: Aae) (codes: Tensor) (labels: Tensor) : Tensor =
        if m.Config.TieLabelsToPrior then
            use h = discriminatorLabels m.Config labels
            use input = torch.cat([| codes; h.``to``(codes.device) |], 1L)
            m.Discriminator.forward(input)
        else m.Discriminator.forward(codes)

    /// D's probability [N, 1] that codes came from the prior, whichever its last layer.
    let discriminate (m: Aae) (codes: Tensor) (labels: Tensor) : Tensor =
        match m.Config.DiscriminatorOutput with
        | Probability -> discriminatorOutput m codes labels
        | Score -> use logits = discriminatorOutput m codes labels in logits.sigmoid()

    /// Prior codes [N, CodeSize] for a batch with `labels` [N], drawn with `generator` (null: the global generator) on
    /// `device`. When labels are tied to the prior, a label chooses its code's component, and an unlabelled image
    /// (label -1) gets a random one.
    let priorSample (generator: torch.Generator) (m: Aae) (device: torch.Device) (labels: Tensor) : Tensor =
        let c = m.Config
        if not c.TieLabelsToPrior then LatentPrior.sample generator c.Prior c.CodeSize device None labels.shape.[0]
        else
            use _ = torch.NewDisposeScope()
            let l = labels.``to``(device).to_type(torch.int64)
            let random = torch.randint(0L, int64 c.Classes, [| l.shape.[0] |], device = device, generator = generator)
            let components = torch.where(l.lt(0L.ToScalar()), random, l)
            (LatentPrior.sample generator c.Prior c.CodeSize device (Some components) l.shape.[0]).MoveToOuterDisposeScope()

    /// The training split as a semi-supervised run sees it: the labels of all but an evenly spread `LabelledFraction`
    /// of the images replaced by -1 (image i keeps its label when ⌊(i+1)f⌋ > ⌊if⌋). New tensors: the caller owns them.
    let hideLabels (c: AaeConfig) (split: Split) : Split =
        let f = c.LabelledFraction
        let keep = Array.init (int split.Count) (fun i -> floor (float (i + 1) * f) > floor (float i * f))
        use mask = torch.tensor(keep)
        use unlabelled = torch.full_like(split.Labels, (-1L).ToScalar())
        { Images = split.Images.alias(); Labels = torch.where(mask, split.Labels, unlabelled) }

    // ---- loss ----------------------------------------------------------------------------------------------

    /// Phase 1's loss: the reconstruction loss of images (mean per pixel) through encoder and decoder.
    let reconstructionLoss (m: Aae) (x: Tensor) (labels: Tensor) : Tensor =
        use z = trainingCodes null m x
        use r = decode m z (Some labels)
        Reconstruction.loss m.Config.Loss ElementMean r x

    /// D's probabilities from its last layer's outputs.
    let private probabilities (c: AaeConfig) (output: Tensor) : Tensor =
        match c.DiscriminatorOutput with
        | Probability -> output.alias()
        | Score -> output.sigmoid()

    /// Phase 2's terms on prior codes and encoder codes: "d_loss" = -mean(log D(z_prior) + log(1 - D(z_code)))
    /// (on probabilities PyTorch's BCE, logs clamped at -100; on logits BCE-with-logits), "d_prior" = mean
    /// D(z_prior), "d_code" = mean D(z_code) (probabilities).
    let discriminatorTerms (m: Aae) (prior: Tensor) (codes: Tensor) (labels: Tensor) : Map<string, Tensor> =
        let c = m.Config
        use outPrior = discriminatorOutput m prior labels
        use outCode = discriminatorOutput m codes labels
        use dPrior = probabilities c outPrior
        use dCode = probabilities c outCode
        Map [ "d_loss", GanLoss.nonSaturating.Discriminator c.DiscriminatorOutput outPrior outCode
              "d_prior", dPrior.mean().detach()
              "d_code", dCode.mean().detach() ]

    /// Phase 3's loss: -mean(log D(z_code)), the encoder fooling the discriminator, times the adversarial weight.
    let generatorLoss (m: Aae) (codes: Tensor) (labels: Tensor) : Tensor =
        use d = discriminatorOutput m codes labels
        use g = GanLoss.nonSaturating.Generator m.Config.DiscriminatorOutput d
        g * float32 m.Config.AdversarialWeight

    /// Every phase's terms of a batch in evaluation mode without gradients, prior codes drawn with `generator`:
    /// "reconstruction", "d_loss", "g_loss", "d_prior", "d_code" (for validation curves), and "mse" per pixel.
    let measure (m: Aae) (generator: torch.Generator) (x: Tensor) (labels: Tensor) : Map<string, float> =
        use _ = torch.no_grad()
        use _ = torch.NewDisposeScope()
        let z = trainingCodes generator m x
        let r = decode m z (Some labels)
        let prior = (priorSample generator m torch.CPU (labels.cpu())).``to``(z.device)
        let d = discriminatorTerms m prior z labels
        Map.add "reconstruction" (Reconstruction.loss m.Config.Loss ElementMean r x) d
        |> Map.add "mse" (Reconstruction.loss Reconstruction.mse ElementMean r x)
        |> Map.add "g_loss" (generatorLoss m z labels)
        |> Map.map (fun _ t -> t.ToDouble())

    // ---- phases --------------------------------------------------------------------------------------------

    let private setRequiresGrad (net: Net) (on: bool) =
        for p in net.parameters() do p.requires_grad <- on

    /// Phase 1 (see `reconstructionPhase`), with `handBack` run between the backward pass and the optimiser's step
    /// (it moves a working copy's gradients to the masters; nothing in fp32). So are the other two phases.
    let private reconstructionUpdate (m: Aae) (optimizer: Modules.OptimizerHelper) (handBack: unit -> unit) (x: Tensor) (labels: Tensor) =
        optimizer.zero_grad()
        use loss = reconstructionLoss m x labels
        loss.backward()
        handBack ()
        optimizer.step() |> ignore
        Map [ "reconstruction", loss.ToDouble() ]

    let private discriminatorUpdate (m: Aae) (optimizer: Modules.OptimizerHelper) (handBack: unit -> unit) (x: Tensor) (labels: Tensor) =
        let wasTraining = m.Encoder.training
        let codes =
            m.Encoder.eval()
            try
                use _ = torch.no_grad()
                trainingCodes null m x
            finally
                if wasTraining then m.Encoder.train()
        use codes = codes
        use prior = priorSample null m x.device labels
        optimizer.zero_grad()
        let terms = discriminatorTerms m prior codes labels
        terms.["d_loss"].backward()
        handBack ()
        optimizer.step() |> ignore
        let numbers = terms |> Map.map (fun _ t -> t.ToDouble())
        for t in terms.Values do t.Dispose()
        numbers

    let private generatorUpdate (m: Aae) (optimizer: Modules.OptimizerHelper) (handBack: unit -> unit) (x: Tensor) (labels: Tensor) =
        setRequiresGrad m.Discriminator false
        try
            optimizer.zero_grad()
            use codes = trainingCodes null m x
            use loss = generatorLoss m codes labels
            loss.backward()
            handBack ()
            optimizer.step() |> ignore
            Map [ "g_loss", loss.ToDouble() ]
        finally
            setRequiresGrad m.Discriminator true

    /// Phase 1: encoder and decoder minimise the reconstruction loss; only they change. Returns "reconstruction".
    let reconstructionPhase (m: Aae) (optimizer: Modules.OptimizerHelper) (x: Tensor) (labels: Tensor) : Map<string, float> =
        reconstructionUpdate m optimizer ignore x labels

    /// Phase 2: the discriminator learns prior samples (global generator) as real and the codes of the encoder, in
    /// evaluation mode and without gradients, as fake; only the discriminator changes. Returns "d_loss", "d_prior"
    /// and "d_code".
    let discriminatorPhase (m: Aae) (optimizer: Modules.OptimizerHelper) (x: Tensor) (labels: Tensor) : Map<string, float> =
        discriminatorUpdate m optimizer ignore x labels

    /// Phase 3: the encoder, as a generator, learns to make the frozen discriminator take its codes for prior
    /// samples; only the encoder changes. Returns "g_loss".
    let generatorPhase (m: Aae) (optimizer: Modules.OptimizerHelper) (x: Tensor) (labels: Tensor) : Map<string, float> =
        generatorUpdate m optimizer ignore x labels

    /// The three phases' optimisers: "reconstruction" over encoder and decoder, "discriminator" over D, "generator"
    /// over the encoder.
    let optimizers (m: Aae) : AaeOptimizers =
        let c = m.Config
        { Reconstruction = Optim.create c.ReconstructionOptimizer (Seq.append (m.Encoder.parameters()) (m.Decoder.parameters()) |> Seq.toArray)
          Discriminator = Optim.create c.DiscriminatorOptimizer (m.Discriminator.parameters())
          Generator = Optim.create c.GeneratorOptimizer (m.Encoder.parameters()) }

    /// A trainer whose every step runs the source's three phases on the batch (images and labels), in order:
    /// reconstruction, discriminator, generator. With `Precision` BFloat16 the phases run through working copies of
    /// the three networks (`MixedPrecision.computeLayersCopy`), which receive the weights each phase updated before the
    /// next.
    let trainer (m: Aae) : Trainer =
        let o = optimizers m
        // In a lower precision the phases run through working copies of the three networks (built with the global
        // generator put back, so a seed draws the same numbers in either precision); `m`'s stay the fp32 masters.
        let working =
            match m.Config.Precision with
            | TrainingPrecision.Float32 -> None
            | lower ->
                let w = Device.keepingRandomState (fun () -> create m.Config)
                let copy (master: Net) (net: Net) = MixedPrecision.computeLayersCopy lower master net
                Some (w, copy m.Encoder w.Encoder, copy m.Decoder w.Decoder, copy m.Discriminator w.Discriminator)
        let passes = match working with Some (w, _, _, _) -> w | None -> m
        let each (pick: WorkingCopy * WorkingCopy * WorkingCopy -> WorkingCopy list) (f: WorkingCopy -> unit) () =
            working |> Option.iter (fun (_, e, d, critic) -> for copy in pick (e, d, critic) do f copy)
        let autoencoder (e, d, _) = [ e; d ]
        let encoder (e, _, _) = [ e ]
        let discriminator (_, _, critic) = [ critic ]
        let all (e, d, critic) = [ e; d; critic ]
        { Modules = modules m
          Optimizers = [ "reconstruction", o.Reconstruction; "discriminator", o.Discriminator; "generator", o.Generator ]
          Carried = None
          Step =
            fun batch ->
                let x, labels = batch.Inputs, batch.Targets
                each all MixedPrecision.loadWeights ()
                let r = reconstructionUpdate passes o.Reconstruction (each autoencoder MixedPrecision.storeGradients) x labels
                // Each phase reads the weights the previous one updated.
                each autoencoder MixedPrecision.loadWeights ()
                let d = discriminatorUpdate passes o.Discriminator (each discriminator MixedPrecision.storeGradients) x labels
                each discriminator MixedPrecision.loadWeights ()
                let g = generatorUpdate passes o.Generator (each encoder MixedPrecision.storeGradients) x labels
                each all MixedPrecision.storeBuffers ()
                [ r; d; g ] |> List.fold (Map.fold (fun acc k v -> Map.add k v acc)) Map.empty }

    // ---- pictures ------------------------------------------------------------------------------------------

    /// Decodes images from prior codes drawn with `generator` (a CPU generator; null: the global one), without
    /// gradients: for AAE-S (or labels tied to the prior) image i has label i mod Classes, so rows of `Classes`
    /// images count through the classes.
    let sampleWith (generator: torch.Generator) (m: Aae) (count: int) : Tensor =
        if count < 1 then Errors.invalidArg "count" "at least 1" count
        use _ = torch.no_grad()
        use _ = torch.NewDisposeScope()
        let labels = torch.tensor(Array.init count (fun i -> int64 (i % m.Config.Classes)))
        let z = priorSample generator m torch.CPU labels
        let dev = device m
        (decode m (z.``to``(dev)) (Some (labels.``to``(dev)))).MoveToOuterDisposeScope()

    /// The style traversal of AAE-S: for code dimension 0 and then 1, one row per label of `labels`, whose codes are
    /// the prior's centre (a label's component centre for a mixture) with that dimension swept over `steps` points
    /// spanning ± `LatentPrior.traversalHalfWidth`. Images [2 · |labels| · steps, ...InputShape], rows of `steps`.
    let styleTraversal (m: Aae) (labels: int list) (steps: int) : Tensor =
        let c = m.Config
        if not c.Supervised then invalidOp "a style traversal needs the supervised AAE: its decoder takes the label"
        if steps < 2 then Errors.invalidArg "steps" "at least 2 points per row" steps
        if labels.IsEmpty then Errors.invalidArg "labels" "at least one label" "none"
        if c.CodeSize < 2 then Errors.invalidArg "code-size" "a code of at least 2 dimensions to sweep" c.CodeSize
        use _ = torch.no_grad()
        use _ = torch.NewDisposeScope()
        let centres = LatentPrior.componentMeans c.Prior c.CodeSize
        let rows =
            [ for dim in 0 .. 1 do
                let half = LatentPrior.traversalHalfWidth c.Prior dim
                for label in labels do
                    let centre = if c.TieLabelsToPrior && centres.shape.[0] > 1L then centres.[int64 label] else centres.[0L]
                    let z = centre.to_type(torch.float32).unsqueeze(0L).repeat(int64 steps, 1L)
                    let sweep = torch.linspace(-half, half, int64 steps, dtype = torch.float32)
                    z.select(1L, int64 dim).add_(sweep) |> ignore
                    yield z, torch.tensor(Array.create steps (int64 label)) ]
        let codes = torch.cat(rows |> List.map fst |> List.toArray, 0L)
        let rowLabels = torch.cat(rows |> List.map snd |> List.toArray, 0L)
        let dev = device m
        (decode m (codes.``to``(dev)) (Some (rowLabels.``to``(dev)))).MoveToOuterDisposeScope()

    /// Style transfer with AAE-S: each image [N, ...InputShape] is encoded, then its code decoded with every label.
    /// Rows of 1 + Classes: the image, then its style written as class 0, 1, ...
    let styleTransfer (m: Aae) (images: Tensor) : Tensor =
        let c = m.Config
        if not c.Supervised then invalidOp "style transfer needs the supervised AAE: its decoder takes the label"
        use _ = torch.no_grad()
        use _ = torch.NewDisposeScope()
        let dev = device m
        let x = images.``to``(dev)
        let n = x.shape.[0]
        let k = int64 c.Classes
        let z = encode m x
        // [N, k, code] -> [N k, code], labels 0..k-1 within each image's row.
        let codes = z.unsqueeze(1L).expand(n, k, z.shape.[1]).reshape(n * k, z.shape.[1])
        let labels = torch.arange(k, dtype = torch.int64, device = dev).repeat(n)
        let decoded = (decode m codes (Some labels)).reshape(Array.append [| n; k |] x.shape.[1..])
        torch.cat([| x.unsqueeze(1L); decoded |], 1L).reshape(Array.append [| n * (k + 1L) |] x.shape.[1..]).MoveToOuterDisposeScope()

    // ---- settings ------------------------------------------------------------------------------------------

    /// The settings of both AAEs, declared once: `--set`, run.json and model files use them.
    let settings : Setting<AaeConfig> list =
        [ Setting.ints "input-shape" "shape of one example, e.g. 1,28,28 (flattened for the linear layers)"
              (fun c -> c.InputShape) (fun v c -> { c with InputShape = v })
          Setting.int "hidden-width" "width of the encoder's and decoder's two hidden layers" (fun c -> c.HiddenWidth) (fun v c -> { c with HiddenWidth = v })
          Setting.int "code-size" "size of the code" (fun c -> c.CodeSize) (fun v c -> { c with CodeSize = v })
          Setting.int "discriminator-width" "width of the discriminator's two hidden layers" (fun c -> c.DiscriminatorWidth) (fun v c -> { c with DiscriminatorWidth = v })
          Setting.float "dropout" "dropout probability after every hidden layer" (fun c -> c.Dropout) (fun v c -> { c with Dropout = v })
          Setting.choice "encoder" "deterministic (the source) or gaussian (training codes drawn from a mean and a variance)"
              [ "deterministic", Deterministic; "gaussian", Gaussian ] (fun c -> c.Encoder) (fun v c -> { c with Encoder = v })
          Setting.int "classes" "number of classes of the labels" (fun c -> c.Classes) (fun v c -> { c with Classes = v })
          Setting.create "prior" "what the codes are matched to: gaussian:std=S or mixture:components=K,radius=R,radial-std=A,tangential-std=B"
              LatentPrior.describe LatentPrior.parse (fun c -> c.Prior) (fun v c -> { c with Prior = v })
          Setting.bool "tie-labels" "the discriminator also reads the label; a mixture prior draws from the label's component, a Gaussian one is the same for every label (codes must then carry no label)"
              (fun c -> c.TieLabelsToPrior) (fun v c -> { c with TieLabelsToPrior = v })
          Reconstruction.setting "loss" (fun c -> c.Loss) (fun v c -> { c with Loss = v })
          Optim.setting "optimizer" "phase 1: the optimiser of encoder and decoder" (fun c -> c.ReconstructionOptimizer) (fun v c -> { c with ReconstructionOptimizer = v })
          Optim.setting "d-optimizer" "phase 2: the discriminator's optimiser" (fun c -> c.DiscriminatorOptimizer) (fun v c -> { c with DiscriminatorOptimizer = v })
          Optim.setting "g-optimizer" "phase 3: the encoder's optimiser as a generator" (fun c -> c.GeneratorOptimizer) (fun v c -> { c with GeneratorOptimizer = v })
          Setting.float "labelled-fraction" "with tie-labels: the share of training images whose label the discriminator sees (below 1: semi-supervised)"
              (fun c -> c.LabelledFraction) (fun v c -> { c with LabelledFraction = v })
          Setting.float "adversarial-weight" "multiplies the generator's loss in phase 3" (fun c -> c.AdversarialWeight) (fun v c -> { c with AdversarialWeight = v })
          Setting.float "validation" "fraction of the training split held out for the per-epoch validation losses (0: none)"
              (fun c -> c.Validation) (fun v c -> { c with Validation = v })
          Setting.choice "d-output" "the discriminator's last layer: probability (a sigmoid, BCE on probabilities: the source) or logits (BCE on logits: the same loss, whose gradient never vanishes)"
              [ "probability", Probability; "logits", Score ] (fun c -> c.DiscriminatorOutput) (fun v c -> { c with DiscriminatorOutput = v })
          MixedPrecision.setting (fun c -> c.Precision) (fun v c -> { c with Precision = v }) ]
