namespace Generative

open System
open TorchSharp

/// A reconstruction loss as a value (like `GanLoss`): how each element of a reconstruction is compared with its
/// target. A new loss is one more value in `Reconstruction.all`; configs hold the value and every autoencoder, the
/// VAE's likelihood included, reduces it the way it needs. Losses compare by identity: configs hold the values of
/// `Reconstruction.all`.
[<ReferenceEquality>]
type ReconstructionLoss =
    { /// The settings name, e.g. "mse".
      Name: string
      /// The formula and where it comes from, for reports and docs.
      Description: string
      /// True when reconstructions and targets must lie in [0,1] (a cross-entropy): the decoder must end in a sigmoid.
      NeedsUnitInterval: bool
      /// The unreduced loss of `reconstruction` against `target` (same shape), element by element.
      Elementwise: Tensor -> Tensor -> Tensor }

/// How per-element losses are reduced to one number.
type Reduction =
    /// Mean over every element (PyTorch's default `reduction='mean'`).
    | ElementMean
    /// Sum over every element, divided by the batch size (the "summed per image" form of AE-3D).
    | SumPerSample
    /// Sum over every element and sample (PyTorch's `reduction='sum'`, the VAE and conv-AE sources).
    | Sum

/// Reconstruction losses and their reductions.
[<RequireQualifiedAccess>]
module Reconstruction =
    /// Squared error (x̂ - x)² (the same kernel as `mse_loss`).
    let mse : ReconstructionLoss =
        { Name = "mse"
          Description = "squared error (x̂ - x)²"
          NeedsUnitInterval = false
          Elementwise = fun r t -> use d = r - t in d.square() }

    /// Binary cross-entropy -[x log x̂ + (1-x) log(1-x̂)], PyTorch's (logs clamped at -100); needs x̂ and x in [0, 1].
    let bce : ReconstructionLoss =
        { Name = "bce"
          Description = "binary cross-entropy -[x log x̂ + (1 - x) log(1 - x̂)], for x̂ and x in [0, 1]"
          NeedsUnitInterval = true
          Elementwise = fun r t -> torch.nn.functional.binary_cross_entropy(r, t, reduction = torch.nn.Reduction.None) }

    /// Every loss, by name.
    let all = [ mse; bce ]

    let private checkShapes (reconstruction: Tensor) (target: Tensor) =
        if reconstruction.shape <> target.shape then
            Errors.invalidArg "target" (sprintf "the reconstruction's shape %A" reconstruction.shape) (sprintf "%A" target.shape)

    /// The loss of `reconstruction` against `target` (same shape), reduced as asked.
    let loss (kind: ReconstructionLoss) (reduction: Reduction) (reconstruction: Tensor) (target: Tensor) : Tensor =
        checkShapes reconstruction target
        use elementwise = kind.Elementwise reconstruction target
        use total = elementwise.sum()
        match reduction with
        | Sum -> total.alias()
        | ElementMean -> total / float (reconstruction.numel())
        | SumPerSample -> total / float reconstruction.shape.[0]

    /// The loss summed over every element of each sample: [N, ...] -> [N].
    let perSample (kind: ReconstructionLoss) (reconstruction: Tensor) (target: Tensor) : Tensor =
        checkShapes reconstruction target
        use elementwise = kind.Elementwise reconstruction target
        use flat = elementwise.flatten(1L)
        flat.sum(1L)

    /// The loss called `name` (case-insensitive); the error lists the names there are.
    let parse (name: string) : ReconstructionLoss =
        match all |> List.tryFind (fun l -> l.Name = name.Trim().ToLowerInvariant()) with
        | Some l -> l
        | None -> Errors.invalidArg "loss" (sprintf "one of %s" (all |> List.map (fun l -> l.Name) |> String.concat ", ")) name

    /// "mean" | "sum-per-sample" | "sum".
    let reductionName = function ElementMean -> "mean" | SumPerSample -> "sum-per-sample" | Sum -> "sum"

    /// The setting of a reconstruction loss (its name).
    let setting (key: string) get set : Setting<'Config> =
        Setting.create key (sprintf "the reconstruction loss: %s (bce needs a sigmoid output)" (all |> List.map (fun l -> l.Name) |> String.concat " or "))
            (fun (l: ReconstructionLoss) -> l.Name) parse get set

    /// The setting of a loss reduction ("mean" | "sum-per-sample" | "sum").
    let reductionSetting (key: string) get set : Setting<'Config> =
        Setting.choice key "how the per-pixel losses are reduced: mean, sum-per-sample (summed per image, averaged over the batch) or sum"
            [ "mean", ElementMean; "sum-per-sample", SumPerSample; "sum", Sum ] get set
