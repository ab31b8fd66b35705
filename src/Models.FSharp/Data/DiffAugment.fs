namespace Generative

open TorchSharp

/// Differentiable augmentations of image batches [N, C, H, W] (Zhao et al., 2020, "Differentiable Augmentation for
/// Data-Efficient GAN Training"): made of gathers and masks, so gradients flow through them to the images, and a GAN
/// can augment its generator's output as well as real images. Each draws one random offset per image from `source`
/// on the CPU, so a seeded generator gives the same augmentation on any device and libtorch's global generator
/// (whose state checkpoints save) keeps training reproducible. The constants are those of the authors' code.
[<RequireQualifiedAccess>]
module DiffAugment =
    /// The largest shift of `translation`, as a share of the image's height and width.
    let translationRatio = 0.125

    /// The side of `cutout`'s square, as a share of the image's height and width.
    let cutoutRatio = 0.5

    let private checkImages (name: string) (x: Tensor) =
        if isNull x then nullArg "x"
        if x.dim () <> 4L then Errors.invalidArg "x" (sprintf "images [N, C, H, W] for %s" name) (sprintf "%A" x.shape)

    /// `count` whole numbers drawn uniformly from [low, high) as a [count] int64 tensor on the CPU.
    let private integers (source: RandomSource) (low: int64) (high: int64) (count: int64) : Tensor =
        let generator = match source with GlobalGenerator -> null | Seeded g -> g
        torch.randint(low, high, [| count |], dtype = torch.int64, generator = generator)

    /// Shifts each image by a random whole number of pixels, the same for all its channels, between -r and r rows and
    /// -r and r columns (r = round(size / 8)), filling what enters from outside with zeros.
    let translation (source: RandomSource) (x: Tensor) : Tensor =
        checkImages "translation" x
        use _ = torch.NewDisposeScope()
        let n, c, h, w = x.shape.[0], x.shape.[1], x.shape.[2], x.shape.[3]
        let shiftRows = int64 (float h * translationRatio + 0.5)
        let shiftColumns = int64 (float w * translationRatio + 0.5)
        // Drawn rows first, then columns, as the authors' code does.
        let dy = (integers source -shiftRows (shiftRows + 1L) n).``to``(x.device).unsqueeze(1L)
        let dx = (integers source -shiftColumns (shiftColumns + 1L) n).``to``(x.device).unsqueeze(1L)
        // A zero border of one pixel: a source index that leaves the image lands on it.
        let padded = torch.nn.functional.pad(x, [| 1L; 1L; 1L; 1L |])
        let rows : Tensor = (torch.arange(h, device = x.device).unsqueeze(0L) + dy + 1L).clamp(0L.ToScalar(), (h + 1L).ToScalar())
        let columns : Tensor = (torch.arange(w, device = x.device).unsqueeze(0L) + dx + 1L).clamp(0L.ToScalar(), (w + 1L).ToScalar())
        let byRow = padded.gather(2L, rows.view(n, 1L, h, 1L).expand(n, c, h, w + 2L))
        byRow.gather(3L, columns.view(n, 1L, 1L, w).expand(n, c, h, w)).MoveToOuterDisposeScope()

    /// Zeroes a square of side round(size / 2) centred at a random position of each image (cut at the borders).
    let cutout (source: RandomSource) (x: Tensor) : Tensor =
        checkImages "cutout" x
        use _ = torch.NewDisposeScope()
        let n, h, w = x.shape.[0], x.shape.[2], x.shape.[3]
        let sizeRows = int64 (float h * cutoutRatio + 0.5)
        let sizeColumns = int64 (float w * cutoutRatio + 0.5)
        let centreRows = (integers source 0L (h + (1L - sizeRows % 2L)) n).``to``(x.device).unsqueeze(1L)
        let centreColumns = (integers source 0L (w + (1L - sizeColumns % 2L)) n).``to``(x.device).unsqueeze(1L)
        let top = centreRows - sizeRows / 2L
        let left = centreColumns - sizeColumns / 2L
        let r = torch.arange(h, device = x.device).unsqueeze(0L)
        let q = torch.arange(w, device = x.device).unsqueeze(0L)
        let inRows = r.ge(top).logical_and(r.lt(top + sizeRows))
        let inColumns = q.ge(left).logical_and(q.lt(left + sizeColumns))
        let cut = inRows.unsqueeze(2L).logical_and(inColumns.unsqueeze(1L))
        let keep = cut.logical_not().to_type(x.dtype).unsqueeze(1L)
        (x * keep).MoveToOuterDisposeScope()
