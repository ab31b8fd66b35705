namespace Generative

open System
open TorchSharp
open TorchSharp.Modules

/// Gaussian-pyramid features (Burt & Adelson, 1983; the CLS-PYR features): the image, then repeatedly a Gaussian
/// blur followed by halving the size, down to 1x1; every level flattened and concatenated. Batched tensor ops:
/// one depthwise convolution and one bilinear resize per level for the whole batch.
[<RequireQualifiedAccess>]
module GaussianPyramid =
    /// The blur's standard deviation for a halving, as scikit-image's `pyramid_gaussian` (sigma = 2 * 2 / 6).
    let sigma = 2.0 / 3.0

    /// The blur's radius in pixels: scikit-image truncates the Gaussian at 4 sigma, int(4 * sigma + 0.5) = 3.
    let radius = 3

    /// The normalised 1-D Gaussian kernel exp(-x^2 / (2 sigma^2)) / sum, x = -radius..radius.
    let kernel1d : float[] =
        let raw = [| for x in -radius .. radius -> exp (-(float (x * x)) / (2.0 * sigma * sigma)) |]
        let total = Array.sum raw
        raw |> Array.map (fun v -> v / total)

    /// The side lengths of the levels for a side of `size` pixels: size, ceil(size / 2), ..., 1 (28: 28 14 7 4 2 1).
    let levelSizes (size: int) : int list =
        if size < 1 then Errors.invalidArg "size" "a positive side length" size
        List.unfold (fun s -> if s < 1 then None else Some (s, (if s = 1 then 0 else (s + 1) / 2))) size

    /// Number of features of a [C, size, size] image: C times the sum of the squared level sides (28x28 grey: 1050).
    let featureCount (channels: int) (size: int) = channels * (levelSizes size |> List.sumBy (fun s -> s * s))

    /// One pyramid step on [N, C, H, W]: blur with the separable Gaussian (edges replicated), then a bilinear resize
    /// (align_corners = false, no antialiasing) to ceil(H/2) x ceil(W/2).
    let reduce (images: Tensor) : Tensor =
        use _ = torch.NewDisposeScope()
        let c = images.shape.[1]
        let k = torch.tensor(kernel1d |> Array.map float32).``to``(images.device)
        let kx = k.reshape(1L, 1L, 1L, int64 kernel1d.Length).expand(c, 1L, 1L, int64 kernel1d.Length)
        let ky = k.reshape(1L, 1L, int64 kernel1d.Length, 1L).expand(c, 1L, int64 kernel1d.Length, 1L)
        let r = int64 radius
        let padded = torch.nn.functional.pad(images, [| r; r; r; r |], mode = PaddingModes.Replicate)
        let blurred =
            torch.nn.functional.conv2d(torch.nn.functional.conv2d(padded, kx.contiguous(), groups = c), ky.contiguous(), groups = c)
        let h, w = (images.shape.[2] + 1L) / 2L, (images.shape.[3] + 1L) / 2L
        torch.nn.functional.interpolate(blurred, [| h; w |], mode = torch.InterpolationMode.Bilinear, align_corners = false)
            .MoveToOuterDisposeScope()

    /// All levels of [N, C, H, W] images, the images themselves first, down to 1x1.
    let levels (images: Tensor) : Tensor list =
        if images.dim () <> 4L then Errors.invalidArg "images" "a [N, C, H, W] batch" (sprintf "%A" images.shape)
        let rec go (x: Tensor) acc =
            if x.shape.[2] = 1L && x.shape.[3] = 1L then List.rev (x :: acc)
            else go (reduce x) (x :: acc)
        go images []

    /// The feature vectors [N, featureCount]: every level flattened, concatenated from the finest to the coarsest.
    let features (images: Tensor) : Tensor =
        use _ = torch.NewDisposeScope()
        let flat = levels images |> List.map (fun l -> l.flatten(1L)) |> List.toArray
        torch.cat(flat, 1L).MoveToOuterDisposeScope()
