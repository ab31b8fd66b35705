namespace Generative

open TorchSharp

/// How a reconstruction is compared with its target.
type Reconstruction =
    /// Squared error (x̂ - x)².
    | Mse
    /// Binary cross-entropy -[x log x̂ + (1-x) log(1-x̂)]; needs x̂ and x in [0, 1].
    | Bce

/// How per-element losses are reduced to one number.
type Reduction =
    /// Mean over every element (PyTorch's default `reduction='mean'`).
    | ElementMean
    /// Sum over every element, divided by the batch size (the "summed per image" form of AE-3D).
    | SumPerSample
    /// Sum over every element and sample (PyTorch's `reduction='sum'`, the VAE and conv-AE sources).
    | Sum

/// Reconstruction losses.
[<RequireQualifiedAccess>]
module Reconstruction =
    /// The loss of `reconstruction` against `target` (same shape), reduced as asked.
    let loss (kind: Reconstruction) (reduction: Reduction) (reconstruction: Tensor) (target: Tensor) : Tensor =
        if reconstruction.shape <> target.shape then
            Errors.invalidArg "target" (sprintf "the reconstruction's shape %A" reconstruction.shape) (sprintf "%A" target.shape)
        use total =
            match kind with
            | Mse -> torch.nn.functional.mse_loss(reconstruction, target, reduction = torch.nn.Reduction.Sum)
            | Bce -> torch.nn.functional.binary_cross_entropy(reconstruction, target, reduction = torch.nn.Reduction.Sum)
        match reduction with
        | Sum -> total.alias()
        | ElementMean -> total / float (reconstruction.numel())
        | SumPerSample -> total / float reconstruction.shape.[0]

    /// "mse" | "bce".
    let name = function Mse -> "mse" | Bce -> "bce"
    /// Inverse of `name`.
    let parse (text: string) =
        match text.Trim().ToLowerInvariant() with
        | "mse" -> Mse
        | "bce" -> Bce
        | other -> Errors.invalidArg "loss" "mse or bce" other

    /// "mean" | "sum-per-sample" | "sum".
    let reductionName = function ElementMean -> "mean" | SumPerSample -> "sum-per-sample" | Sum -> "sum"
    /// Inverse of `reductionName`.
    let parseReduction (text: string) =
        match text.Trim().ToLowerInvariant() with
        | "mean" -> ElementMean
        | "sum-per-sample" -> SumPerSample
        | "sum" -> Sum
        | other -> Errors.invalidArg "reduction" "mean, sum-per-sample or sum" other

    /// The setting of a reconstruction loss ("mse" | "bce").
    let setting (key: string) get set : Setting<'Config> =
        Setting.choice key "the reconstruction loss: mse or bce (bce needs a sigmoid output)" [ "mse", Mse; "bce", Bce ] get set

    /// The setting of a loss reduction ("mean" | "sum-per-sample" | "sum").
    let reductionSetting (key: string) get set : Setting<'Config> =
        Setting.choice key "how the per-pixel losses are reduced: mean, sum-per-sample (summed per image, averaged over the batch) or sum"
            [ "mean", ElementMean; "sum-per-sample", SumPerSample; "sum", Sum ] get set
