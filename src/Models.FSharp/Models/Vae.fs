namespace Generative

open System
open System.Globalization
open TorchSharp

/// A fully connected variational autoencoder (Kingma & Welling 2014, "Auto-Encoding Variational Bayes").
type VaeConfig =
    { /// Shape of one example, e.g. [1; 28; 28]; flattened for the linear layers.
      InputShape: int list
      /// Width of the hidden layer of encoder and decoder (400 in the source).
      HiddenWidth: int
      /// Dimension of the latent space (20 in the source).
      LatentDim: int
      Likelihood: Likelihood
      /// Weight β of the KL term (Higgins et al. 2017, β-VAE); 1 gives the ELBO.
      Beta: float
      Optimizer: OptimizerSpec
      /// Importance samples k of the test NLL estimate (Burda et al. 2016, IWAE).
      IwaeSamples: int
      /// The number format of the training passes: BFloat16 runs the linear and convolution layers in bfloat16 on
      /// working copies (see `MixedPrecision.computeLayersCopy`); weights, optimiser, the loss and everything saved
      /// stay fp32.
      Precision: TrainingPrecision }

/// Encoder trunk and the two Gaussian heads, registered as one module; forward gives [μ, log σ²] side by side.
type internal GaussianEncoder(trunk: Net, mu: Net, logVar: Net) =
    inherit torch.nn.Module<Tensor, Tensor>("gaussian-encoder")
    do
        base.register_module("trunk", trunk)
        base.register_module("mu", mu)
        base.register_module("logvar", logVar)
    // Children run through `call`, as Sequential runs them, so their forward hooks (mixed precision's casts) run.
    override _.forward(x) =
        use h = trunk.call(x)
        use m = mu.call(h)
        use lv = logVar.call(h)
        torch.cat([| m; lv |], 1L)

/// A created VAE: its networks (the encoder outputs [μ, log σ²] side by side; `Encode` gives the posterior mean μ) and
/// the config they came from.
type Vae = { Config: VaeConfig; Network: EncoderDecoder }

/// Variational autoencoders (section order: config, validate, create, forward, loss, step, estimates).
[<RequireQualifiedAccess>]
module Vae =
    /// VAE (docs/models.md): fc1 784-400 ReLU, heads 400-20 (μ) and 400-20 (log σ²), fc3 20-400 ReLU, fc4 400-784
    /// Tanh; z = μ + ε·exp(½ log σ²); loss Σ(x̂ - x)² + KL per image, averaged over the batch; Adam 1e-3.
    let source =
        { InputShape = [ 1; 28; 28 ]
          HiddenWidth = 400
          LatentDim = 20
          Likelihood = Likelihood.gaussian
          Beta = 1.0
          Optimizer = Optim.adam 1e-3
          IwaeSamples = 50
          Precision = TrainingPrecision.Float32 }

    /// Number of inputs once an example is flattened.
    let inputSize (c: VaeConfig) = c.InputShape |> List.fold (*) 1

    /// Throws ArgumentException naming the field when the config cannot be built.
    let validate (c: VaeConfig) =
        if c.InputShape.IsEmpty || c.InputShape |> List.exists (fun d -> d <= 0) then
            Errors.invalidArg "input-shape" "positive dimensions" (sprintf "%A" c.InputShape)
        if c.HiddenWidth <= 0 then Errors.invalidArg "hidden-width" "a positive width" c.HiddenWidth
        if c.LatentDim <= 0 then Errors.invalidArg "latent-dim" "a positive dimension" c.LatentDim
        if not (c.Beta >= 0.0) || Double.IsInfinity c.Beta then Errors.invalidArg "beta" "a finite weight >= 0" c.Beta
        if c.IwaeSamples < 1 then Errors.invalidArg "iwae-samples" "at least 1 sample" c.IwaeSamples
        Optim.validate c.Optimizer

    /// Creates encoder and decoder (initialised from libtorch's global generator: seed it first).
    let create (c: VaeConfig) : Vae =
        validate c
        let d = inputSize c
        let encoder =
            new GaussianEncoder(Layers.linear d c.HiddenWidth >-> Layers.relu (),
                                Layers.linear c.HiddenWidth c.LatentDim, Layers.linear c.HiddenWidth c.LatentDim)
        let output = c.Likelihood.Output
        let decoder = Mlp.create [ c.LatentDim; c.HiddenWidth; d ] Relu output
        let imageShape = c.InputShape |> List.map int64 |> List.toArray
        { Config = c
          Network =
            { Encoder = encoder
              Decoder = decoder
              Encode =
                fun x ->
                    use both = encoder.forward(x.flatten(1L))
                    both.narrow(1L, 0L, int64 c.LatentDim)
              Decode =
                fun z ->
                    if z.dim () <> 2L || z.shape.[1] <> int64 c.LatentDim then
                        Errors.invalidArg "codes" (sprintf "a [N,%d] batch of latent points" c.LatentDim) (sprintf "%A" z.shape)
                    use flat = decoder.forward(z)
                    flat.reshape(Array.append [| z.shape.[0] |] imageShape) } }

    /// Moves both networks to a device; do it before `trainer`.
    let moveTo (device: torch.Device) (m: Vae) = EncoderDecoder.moveTo device m.Network |> ignore; m

    /// The approximate posterior q(z|x) = N(μ, diag σ²) of images [N, ...InputShape]: (μ, log σ²), each [N, LatentDim].
    let posterior (m: Vae) (x: Tensor) : Tensor * Tensor =
        use both = m.Network.Encoder.forward(x.flatten(1L))
        let parts = both.split([| int64 m.Config.LatentDim; int64 m.Config.LatentDim |], 1L)
        parts.[0], parts.[1]

    /// The posterior means: the codes of images (what `encode` commands and latent plots use).
    let encode (m: Vae) (x: Tensor) : Tensor = m.Network.Encode x

    /// Decoder means of latent points [N, LatentDim] -> images [N, ...InputShape].
    let decode (m: Vae) (z: Tensor) : Tensor = m.Network.Decode z

    /// The reparameterisation z = μ + ε ⊙ exp(½ log σ²), differentiable in μ and log σ² for a given noise ε.
    let reparameterize (mu: Tensor) (logVar: Tensor) (eps: Tensor) : Tensor =
        use _ = torch.NewDisposeScope()
        (mu + eps * (logVar * 0.5f).exp()).MoveToOuterDisposeScope()

    /// The decoded posterior mean: a deterministic reconstruction.
    let reconstruct (m: Vae) (x: Tensor) : Tensor = EncoderDecoder.reconstruct m.Network x

    /// `n` images decoded from z ~ N(0, I) drawn from the global generator.
    let sample (m: Vae) (n: int) : Tensor =
        if n < 1 then Errors.invalidArg "n" "at least 1 sample" n
        let device = Device.ofModule m.Network.Decoder
        use z = torch.randn([| int64 n; int64 m.Config.LatentDim |], device = device)
        decode m z

    /// `n` images decoded from z ~ N(0, I) drawn with an explicit CPU generator (reproducible, and leaving libtorch's
    /// global generator alone).
    let sampleWith (generator: torch.Generator) (m: Vae) (n: int) : Tensor =
        if n < 1 then Errors.invalidArg "n" "at least 1 sample" n
        use z = torch.randn([| int64 n; int64 m.Config.LatentDim |], generator = generator)
        use onDevice = z.``to``(Device.ofModule m.Network.Decoder)
        decode m onDevice

    /// -log p(x | x̂) per sample [N], up to the constant `likelihoodConstant`: Σ (x̂ - x)² (Gaussian) or Σ BCE (Bernoulli).
    let reconstructionPerSample (likelihood: Likelihood) (reconstruction: Tensor) (target: Tensor) : Tensor =
        Reconstruction.perSample likelihood.Reconstruction reconstruction target

    /// The constant to add to `reconstructionPerSample` to get -log p(x|z) in nats for D-pixel images:
    /// (D/2) log π for the Gaussian of variance ½, 0 for the Bernoulli.
    let likelihoodConstant (likelihood: Likelihood) (pixels: int) = likelihood.Constant pixels

    /// The named loss terms, each averaged over the batch, from the pieces of a forward pass:
    /// "reconstruction" = mean Σ(x̂ - x)² (or BCE), "kl" = mean KL(q(z|x) ‖ N(0,I)), "loss" = reconstruction + β·kl.
    let lossOf (c: VaeConfig) (reconstruction: Tensor) (target: Tensor) (mu: Tensor) (logVar: Tensor) : Map<string, Tensor> =
        use recon = reconstructionPerSample c.Likelihood reconstruction target
        use kl = Divergence.gaussianKl mu logVar
        let r = recon.mean()
        let k = kl.mean()
        Map [ "reconstruction", r; "kl", k; "loss", r + k * float32 c.Beta ]

    let private checkRange (c: VaeConfig) (x: Tensor) =
        if c.Likelihood.Reconstruction.NeedsUnitInterval then
            use lo = x.min()
            use hi = x.max()
            if lo.ToSingle() < 0.0f || hi.ToSingle() > 1.0f then
                Errors.invalidArg "images" "pixels in [0,1] for the Bernoulli likelihood (train with --normalization zero-one)" (sprintf "values in [%g, %g]" (lo.ToSingle()) (hi.ToSingle()))

    /// The loss terms of a batch with the reparameterisation noise drawn from the global generator.
    let loss (m: Vae) (x: Tensor) : Map<string, Tensor> =
        checkRange m.Config x
        let mu, logVar = posterior m x
        use mu = mu
        use logVar = logVar
        use eps = torch.randn_like(mu)
        use z = reparameterize mu logVar eps
        use r = decode m z
        lossOf m.Config r x mu logVar

    /// A trainer: one optimiser over encoder and decoder, minimising reconstruction + β·KL.
    let trainer (m: Vae) : Trainer =
        EncoderDecoder.trainer m.Config.Precision (fun () -> (create m.Config).Network) m.Config.Optimizer
            (fun network batch -> loss { m with Network = network } batch.Inputs) m.Network

    /// Log importance weights log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x) for k samples z_i ~ q(z|x) per image:
    /// [N, k], in nats, with ε drawn from `generator` (a CPU generator, for reproducible estimates).
    let logImportanceWeights (m: Vae) (generator: torch.Generator) (k: int) (x: Tensor) : Tensor =
        if k < 1 then Errors.invalidArg "k" "at least 1 sample" k
        use _ = torch.NewDisposeScope()
        let mu, logVar = posterior m x
        let n, l = mu.shape.[0], mu.shape.[1]
        let eps = torch.randn([| int64 k; n; l |], generator = generator).``to``(mu.device)
        // [k, N, L] -> [k N, L]: sample-major, so row s N + i is sample s of image i.
        let z = reparameterize (mu.unsqueeze(0L).expand(int64 k, n, l)) (logVar.unsqueeze(0L).expand(int64 k, n, l)) eps
        let zFlat = z.reshape(int64 k * n, l)
        let r = decode m zFlat
        let xs = x.unsqueeze(0L).expand(Array.append [| int64 k |] x.shape).reshape(r.shape)
        let pixels = int (x.numel() / n)
        let logLikelihood = -(reconstructionPerSample m.Config.Likelihood r xs) - float32 (likelihoodConstant m.Config.Likelihood pixels)
        let logPrior = Divergence.standardNormalLogDensity zFlat
        let logPosterior =
            Divergence.gaussianLogDensity zFlat
                (mu.unsqueeze(0L).expand(int64 k, n, l).reshape(int64 k * n, l))
                (logVar.unsqueeze(0L).expand(int64 k, n, l).reshape(int64 k * n, l))
        (logLikelihood + logPrior - logPosterior).reshape(int64 k, n).t().contiguous().MoveToOuterDisposeScope()

    /// The IWAE estimate of -log p(x) per image from log weights [N, k]: -(logsumexp_i log w_i - log k)
    /// (Burda, Grosse & Salakhutdinov 2016). It never exceeds `sampledNegativeElbo` of the same weights (Jensen), and
    /// equals it for k = 1; it tightens towards -log p(x) as k grows.
    let iwaeNegativeLogLikelihood (logWeights: Tensor) : Tensor =
        use _ = torch.NewDisposeScope()
        let k = logWeights.shape.[1]
        (-(torch.logsumexp(logWeights, 1L, false) - float32 (Math.Log(float k)))).MoveToOuterDisposeScope()

    /// The Monte Carlo negative ELBO per image from the same log weights [N, k]: -mean_i log w_i.
    let sampledNegativeElbo (logWeights: Tensor) : Tensor = -logWeights.mean([| 1L |])

    /// The settings of the VAE, declared once: `--set`, run.json and model files use them.
    let settings : Setting<VaeConfig> list =
        [ Setting.ints "input-shape" "shape of one example, e.g. 1,28,28 (flattened for the linear layers)"
              (fun c -> c.InputShape) (fun v c -> { c with InputShape = v })
          Setting.int "hidden-width" "width of the hidden layer of encoder and decoder"
              (fun c -> c.HiddenWidth) (fun v c -> { c with HiddenWidth = v })
          Setting.int "latent-dim" "dimension of the latent space" (fun c -> c.LatentDim) (fun v c -> { c with LatentDim = v })
          Setting.choice "likelihood" "the decoder's likelihood: gaussian (Tanh output, [-1,1] data) or bernoulli (Sigmoid output, [0,1] data)"
              (Likelihood.all |> List.map (fun l -> l.Name, l)) (fun c -> c.Likelihood) (fun v c -> { c with Likelihood = v })
          Setting.float "beta" "weight of the KL term (1: the ELBO)" (fun c -> c.Beta) (fun v c -> { c with Beta = v })
          Optim.setting "optimizer" "the optimiser of encoder and decoder" (fun c -> c.Optimizer) (fun v c -> { c with Optimizer = v })
          Setting.int "iwae-samples" "importance samples of the test NLL estimate (IWAE)"
              (fun c -> c.IwaeSamples) (fun v c -> { c with IwaeSamples = v })
          MixedPrecision.setting (fun c -> c.Precision) (fun v c -> { c with Precision = v }) ]
