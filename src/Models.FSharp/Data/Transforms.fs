namespace Generative

open System
open TorchSharp

/// How pixel values in [0,1] are mapped before they reach a model.
type Normalization =
    /// Pixels stay in [0,1] (matches a sigmoid output and binary cross-entropy).
    | ZeroOne
    /// Pixels are mapped to [-1,1] (matches a tanh output, the usual GAN choice).
    | MinusOneToOne
    /// Pixels are standardised as (x - mean) / std (the usual classifier choice).
    | MeanStd of mean: float * std: float

/// Where a random transform draws its numbers.
type RandomSource =
    /// libtorch's global generator: training uses it, because checkpoints save its state and a resumed run then
    /// draws the same numbers as an uninterrupted one.
    | GlobalGenerator
    /// A generator of its own (e.g. seeded with a fixed number): pictures and metrics that must show the same noise
    /// every time, without disturbing training's generator.
    | Seeded of torch.Generator

/// Normalisation, its inverse for pictures, and the random corruptions used for augmentation and denoising (each
/// told where to draw its numbers, so runs are reproducible).
[<RequireQualifiedAccess>]
module Transforms =
    /// The MNIST training-set pixel mean and standard deviation (0.1307, 0.3081).
    let mnistMeanStd = MeanStd(0.1307, 0.3081)

    /// Throws ArgumentException when a MeanStd has a non-finite mean or a std that is not > 0.
    let validateNormalization (normalization: Normalization) : unit =
        match normalization with
        | MeanStd(mean, std) ->
            if Double.IsNaN mean || Double.IsInfinity mean then Errors.invalidArg "normalization" "a finite mean" mean
            if not (std > 0.0) || Double.IsInfinity std then Errors.invalidArg "normalization" "a finite std > 0" std
        | ZeroOne | MinusOneToOne -> ()

    /// Maps images with pixels in [0,1] to the normalisation's range. Always returns a new tensor (an alias
    /// for ZeroOne) so the caller may dispose input and output independently.
    let normalize (normalization: Normalization) (images: Tensor) : Tensor =
        if isNull images then nullArg "images"
        validateNormalization normalization
        match normalization with
        | ZeroOne -> images.alias ()
        | MinusOneToOne -> images * 2.0f - 1.0f
        | MeanStd(mean, std) -> (images - float32 mean) / float32 std

    /// Normalises images with pixels in [0,1] in place (no new tensor). Used when loading: allocating a fresh
    /// 188 MB tensor for MNIST's training images costs several hundred milliseconds in page faults alone.
    let normalizeInPlace (normalization: Normalization) (images: Tensor) : unit =
        if isNull images then nullArg "images"
        validateNormalization normalization
        let apply (scale: float32) (shift: float32) =
            use s = scale.ToScalar()
            use b = shift.ToScalar()
            images.mul_(s).add_(b) |> ignore
        match normalization with
        | ZeroOne -> ()
        | MinusOneToOne -> apply 2.0f -1.0f
        | MeanStd(mean, std) -> apply (float32 (1.0 / std)) (float32 (-mean / std))

    /// Maps normalised images back to [0,1] for pictures; values are clamped because model outputs may
    /// overshoot the range.
    let denormalize (normalization: Normalization) (images: Tensor) : Tensor =
        if isNull images then nullArg "images"
        validateNormalization normalization
        use _ = torch.NewDisposeScope()
        let unit =
            match normalization with
            | ZeroOne -> images.alias ()
            | MinusOneToOne -> (images + 1.0f) / 2.0f
            | MeanStd(mean, std) -> images * float32 std + float32 mean
        unit.clamp(0.0f.ToScalar(), 1.0f.ToScalar()).MoveToOuterDisposeScope()

    let private checkProbability (name: string) (p: float) =
        if not (p >= 0.0 && p <= 1.0) then Errors.invalidArg name "a probability in [0,1]" p

    let private checkImages (images: Tensor) =
        if isNull images then nullArg "images"
        if images.dim () <> 4L then
            Errors.invalidArg "images" "a [N,C,H,W] tensor" (sprintf "%d dimensions %A" (images.dim ()) images.shape)

    /// Flips horizontally (along the width axis) exactly the samples whose entry in `mask` ([N] bool) is
    /// true. Vectorised: one flip of the batch and one torch.where, no per-sample loop.
    let horizontalFlipWhere (mask: Tensor) (images: Tensor) : Tensor =
        checkImages images
        if isNull mask then nullArg "mask"
        if mask.dim () <> 1L || mask.shape.[0] <> images.shape.[0] then
            Errors.invalidArg "mask" (sprintf "a [%d] tensor" images.shape.[0]) (sprintf "%A" mask.shape)
        use _ = torch.NewDisposeScope()
        let m = mask.to_type(torch.ScalarType.Bool).reshape(images.shape.[0], 1L, 1L, 1L)
        torch.where(m, images.flip(3L), images).MoveToOuterDisposeScope()

    /// Uniform numbers in [0,1) of the given shape, on the CPU, from the source.
    let private uniform (source: RandomSource) (shape: int64[]) : Tensor =
        match source with
        | GlobalGenerator -> torch.rand(shape)
        | Seeded g -> torch.rand(shape, generator = g)

    /// The [N] bool mask of samples chosen by independent coin flips with probability `p` (on the CPU).
    let coinFlips (p: float) (source: RandomSource) (count: int64) : Tensor =
        checkProbability "p" p
        if count < 0L then Errors.invalidArg "count" "a count >= 0" count
        use u = uniform source [| count |]
        // Disposed here: a Scalar is native memory that dispose scopes do not track (docs/torchsharp.md, "The memory
        // trap"), and training flips a batch every step.
        use threshold = p.ToScalar()
        u.lt(threshold)

    /// Flips each sample of a [N,C,H,W] batch horizontally with probability `p` (independent coin per sample, drawn
    /// on the CPU exactly as `coinFlips p source N` would, whatever the batch's device: the CPU generator's state is
    /// what checkpoints save, so a resumed run flips the same images).
    let randomHorizontalFlip (p: float) (source: RandomSource) (images: Tensor) : Tensor =
        checkProbability "p" p
        checkImages images
        use mask = coinFlips p source images.shape.[0]
        use onDevice = mask.``to``(images.device)
        horizontalFlipWhere onDevice images

    /// Adds independent Gaussian noise of standard deviation `std` to every element (denoising autoencoders); the
    /// noise is drawn like `x` (same shape, dtype and device) from the global generator, or on the CPU from a seeded one.
    let gaussianNoise (std: float) (source: RandomSource) (x: Tensor) : Tensor =
        if not (std >= 0.0) || Double.IsInfinity std then Errors.invalidArg "std" "a finite std >= 0" std
        if isNull x then nullArg "x"
        use _ = torch.NewDisposeScope()
        let noise =
            match source with
            | GlobalGenerator -> NormalSamples.randnLike x
            | Seeded g -> torch.randn(x.shape, dtype = x.dtype, generator = g).``to``(x.device)
        (x + noise * float32 std).MoveToOuterDisposeScope()

    /// Sets each element to zero independently with probability `dropProbability` (masking noise for denoising
    /// autoencoders). Zero is the value of a blank pixel only for ZeroOne normalisation; apply it before normalising
    /// if "blank" is what is meant.
    let maskingNoise (dropProbability: float) (source: RandomSource) (x: Tensor) : Tensor =
        checkProbability "dropProbability" dropProbability
        if isNull x then nullArg "x"
        use _ = torch.NewDisposeScope()
        let u =
            match source with
            | GlobalGenerator -> torch.rand_like(x)
            | Seeded g -> torch.rand(x.shape, generator = g).``to``(x.device)
        let keep = u.ge(torch.tensor(float32 dropProbability, device = x.device)).to_type(x.dtype)
        (x * keep).MoveToOuterDisposeScope()
