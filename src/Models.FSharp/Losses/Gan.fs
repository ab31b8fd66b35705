namespace Generative

open System
open TorchSharp

/// What a discriminator's last layer gives, which decides how a GAN loss reads it.
type DiscriminatorOutput =
    /// A probability of "real" in (0, 1): the network ends in a sigmoid (GAN-MLP-A, GAN-MLP-B, DCGAN-B).
    | Probability
    /// An unbounded score (a logit, or a Wasserstein critic value): the network ends in a linear layer
    /// (GAN-MLP-C, LSGAN, DCGAN-A).
    | Score

/// A GAN objective as a value, injected into the GAN step (Keras `compile(loss=...)` style): the discriminator's
/// loss from its outputs on a real and a fake batch, the generator's loss from its outputs on a fake batch, and an
/// optional extra discriminator term computed with the discriminator itself (a gradient penalty).
/// A new loss is one more value here, added to `GanLoss.all`; nothing else in the library changes.
type GanLoss =
    { /// The settings name, e.g. "non-saturating" (what `--set loss=...` and saved runs use).
      Name: string
      /// One line with the formula and its source, for reports.
      Description: string
      /// The discriminator outputs the loss is defined for.
      Supports: DiscriminatorOutput list
      /// Discriminator loss from D(x) on real images and D(G(z)) on (detached) fakes, both [N, 1] or [N].
      Discriminator: DiscriminatorOutput -> Tensor -> Tensor -> Tensor
      /// Generator loss from D(G(z)) on fakes that still carry the generator's graph.
      Generator: DiscriminatorOutput -> Tensor -> Tensor
      /// An extra discriminator term from (D as a function, real images, fake images), added to the D loss and
      /// reported as "d_penalty"; None when the loss has none.
      Penalty: ((Tensor -> Tensor) -> Tensor -> Tensor -> Tensor) option }

/// The GAN losses: minimax, non-saturating, least squares, hinge and Wasserstein with gradient penalty.
[<RequireQualifiedAccess>]
module GanLoss =
    /// Mean binary cross-entropy of D's outputs against a constant label (1 = real, 0 = fake):
    /// -mean[y log D + (1-y) log(1-D)]. Probabilities use PyTorch's BCE (logs clamped at -100); scores use the
    /// numerically stable BCE-with-logits, which equals BCE on sigmoid(score).
    let binaryCrossEntropy (output: DiscriminatorOutput) (label: float32) (d: Tensor) : Tensor =
        use target = torch.full_like(d, label.ToScalar())
        match output with
        | Probability -> torch.nn.functional.binary_cross_entropy(d, target)
        | Score -> torch.nn.functional.binary_cross_entropy_with_logits(d, target)

    let private meanSquaredFrom (target: float32) (d: Tensor) =
        use diff = d - target
        use sq = diff.square()
        sq.mean()

    /// The discriminator's loss of the original GAN (Goodfellow et al., 2014), shared by minimax and
    /// non-saturating: BCE(D(x), 1) + BCE(D(G(z)), 0) = -mean log D(x) - mean log(1 - D(G(z))).
    let private crossEntropyDiscriminator output real fake =
        use r = binaryCrossEntropy output 1.0f real
        use f = binaryCrossEntropy output 0.0f fake
        r + f

    /// Minimax (Goodfellow et al., 2014, eq. 1): D as in the paper; G minimises mean log(1 - D(G(z))), i.e.
    /// -BCE(D(G(z)), 0). Its gradient vanishes while D confidently rejects the fakes (early training).
    let minimax : GanLoss =
        { Name = "minimax"
          Description = "minimax (Goodfellow 2014): D = -mean log D(x) - mean log(1-D(G(z))); G = mean log(1-D(G(z)))"
          Supports = [ Probability; Score ]
          Discriminator = crossEntropyDiscriminator
          Generator = fun output fake -> use l = binaryCrossEntropy output 0.0f fake in -l
          Penalty = None }

    /// Non-saturating (Goodfellow et al., 2014, section 3): D as in minimax; G minimises -mean log D(G(z)),
    /// i.e. BCE(D(G(z)), 1) ("label the fakes real"), which keeps strong gradients early in training.
    let nonSaturating : GanLoss =
        { Name = "non-saturating"
          Description = "non-saturating (Goodfellow 2014): D = -mean log D(x) - mean log(1-D(G(z))); G = -mean log D(G(z))"
          Supports = [ Probability; Score ]
          Discriminator = crossEntropyDiscriminator
          Generator = fun output fake -> binaryCrossEntropy output 1.0f fake
          Penalty = None }

    /// Least squares (LSGAN, Mao et al., 2017, a = 0, b = c = 1): D = 0.5 mean (D(x)-1)² + 0.5 mean D(G(z))²;
    /// G = 0.5 mean (D(G(z))-1)², on D's raw outputs.
    let leastSquares : GanLoss =
        { Name = "least-squares"
          Description = "least squares (Mao 2017): D = 0.5 mean (D(x)-1)^2 + 0.5 mean D(G(z))^2; G = 0.5 mean (D(G(z))-1)^2"
          Supports = [ Probability; Score ]
          Discriminator =
            fun _ real fake ->
                use r = meanSquaredFrom 1.0f real
                use f = meanSquaredFrom 0.0f fake
                use sum = r + f
                sum * 0.5f
          Generator = fun _ fake -> use l = meanSquaredFrom 1.0f fake in l * 0.5f
          Penalty = None }

    /// Hinge (Lim & Ye, 2017; Miyato et al., 2018): D = mean max(0, 1 - D(x)) + mean max(0, 1 + D(G(z)));
    /// G = -mean D(G(z)). Needs unbounded scores.
    let hinge : GanLoss =
        { Name = "hinge"
          Description = "hinge (Lim & Ye 2017): D = mean relu(1-D(x)) + mean relu(1+D(G(z))); G = -mean D(G(z))"
          Supports = [ Score ]
          Discriminator =
            fun _ real fake ->
                use oneMinus = 1.0f - real
                use onePlus = fake + 1.0f
                use r = torch.nn.functional.relu(oneMinus)
                use f = torch.nn.functional.relu(onePlus)
                use rm = r.mean()
                use fm = f.mean()
                rm + fm
          Generator = fun _ fake -> use m = fake.mean() in -m
          Penalty = None }

    /// The gradient penalty of WGAN-GP (Gulrajani et al., 2017, eq. 3): weight * mean over x̂ of (‖∇D(x̂)‖₂ - 1)²,
    /// at x̂ = εx + (1-ε)x̃ with ε ~ U[0,1] per sample (global generator). The gradient comes from
    /// torch.autograd.grad with create_graph, so the penalty itself is differentiable in D's parameters.
    let gradientPenalty (weight: float) (critic: Tensor -> Tensor) (real: Tensor) (fake: Tensor) : Tensor =
        if not (weight >= 0.0) || Double.IsInfinity weight then Errors.invalidArg "weight" "a finite weight >= 0" weight
        if real.shape <> fake.shape then
            Errors.invalidArg "fake" (sprintf "the real batch's shape %A" real.shape) (sprintf "%A" fake.shape)
        use _ = torch.NewDisposeScope()
        let shape = Array.append [| real.shape.[0] |] (Array.create (real.shape.Length - 1) 1L)
        let eps = torch.rand(shape, dtype = real.dtype, device = real.device)
        let mixed = (eps * real.detach() + (1.0f - eps) * fake.detach()).requires_grad_(true)
        let scores = critic mixed
        let grads =
            torch.autograd.grad([| scores |], [| mixed |], [| torch.ones_like(scores) |], retain_graph = true, create_graph = true)
        let norms = torch.linalg.vector_norm(grads.[0].flatten(1L), dims = [| 1L |])
        let penalty = (norms - 1.0f).square().mean() * float32 weight
        penalty.MoveToOuterDisposeScope()

    /// The R1 penalty (Mescheder et al., 2018, "Which Training Methods for GANs do actually Converge?", eq. 9):
    /// weight/2 · mean over the real images x of ‖∇ₓD(x)‖₂², with `weight` = γ. It pushes D's gradient on the data
    /// towards zero, which makes the GAN's dynamics converge locally. D runs once more, on a copy of `real` that
    /// requires gradients (the caller's batch is left alone), and the gradient comes from torch.autograd.grad with
    /// create_graph, so the penalty is differentiable in D's parameters. `critic` is taken as it is: the literature
    /// applies R1 to D's logit, and the GANs whose D ends in a sigmoid get it on that probability instead (its
    /// gradient is σ'(logit) times the logit's, so it vanishes where D is confident).
    let r1Penalty (weight: float) (critic: Tensor -> Tensor) (real: Tensor) : Tensor =
        if not (weight >= 0.0) || Double.IsInfinity weight then Errors.invalidArg "weight" "a finite weight >= 0" weight
        use _ = torch.NewDisposeScope()
        let x = real.detach().requires_grad_(true)
        let scores = critic x
        // A critic that ignores its input has a zero gradient; autograd has no graph from x to give it.
        if not scores.requires_grad then torch.zeros([||], dtype = real.dtype, device = real.device).MoveToOuterDisposeScope()
        else
            // The gradient of the outputs' sum: each image's output depends on that image only (no batch norm in
            // the catalog's discriminators), so it holds each image's own gradient.
            let grads =
                torch.autograd.grad([| scores |], [| x |], [| torch.ones_like(scores) |], retain_graph = true, create_graph = true,
                                    allow_unused = true)
            let g = grads.[0]
            if isNull g || g.IsInvalid then torch.zeros([||], dtype = real.dtype, device = real.device).MoveToOuterDisposeScope()
            else
                let squaredNorms = g.flatten(1L).square().sum([| 1L |])
                let penalty = squaredNorms.mean() * float32 (weight / 2.0)
                penalty.MoveToOuterDisposeScope()

    /// Wasserstein with gradient penalty (WGAN-GP, Gulrajani et al., 2017): D = mean D(G(z)) - mean D(x)
    /// + 10 · gradient penalty; G = -mean D(G(z)). Needs an unbounded critic (no sigmoid).
    let wassersteinGp : GanLoss =
        { Name = "wasserstein-gp"
          Description = "Wasserstein-GP (Gulrajani 2017): D = mean D(G(z)) - mean D(x) + 10 E(|grad D(x^)|-1)^2; G = -mean D(G(z))"
          Supports = [ Score ]
          Discriminator = fun _ real fake -> use f = fake.mean() in use r = real.mean() in f - r
          Generator = fun _ fake -> use m = fake.mean() in -m
          Penalty = Some(gradientPenalty 10.0) }

    /// Every preset, by name.
    let all : GanLoss list = [ minimax; nonSaturating; leastSquares; hinge; wassersteinGp ]

    /// The preset called `name` (case-insensitive); the error lists the names there are.
    let parse (name: string) : GanLoss =
        let key = if isNull name then "" else name.Trim().ToLowerInvariant()
        match all |> List.tryFind (fun l -> l.Name = key) with
        | Some l -> l
        | None -> Errors.invalidArg "loss" (sprintf "one of %s" (all |> List.map (fun l -> l.Name) |> String.concat ", ")) name

    /// Throws ArgumentException(ParamName "loss") when the loss is not defined for a discriminator output.
    let validateFor (output: DiscriminatorOutput) (loss: GanLoss) =
        if not (List.contains output loss.Supports) then
            Errors.invalidArg "loss"
                (sprintf "a loss defined for a discriminator ending in %s (%s need raw scores: use gan-mlp variant C, lsgan or dcgan)"
                    (match output with Probability -> "a sigmoid" | Score -> "a linear layer") loss.Name)
                loss.Name
