namespace Generative

open System
open System.Buffers.Binary
open System.IO
open System.IO.Compression
open TorchSharp

/// Image grids and PNG files from tensors with values in [0, 1], without torchvision or native image libraries.
[<RequireQualifiedAccess>]
module Images =

    // The CRC-32 of PNG (ISO 3309 / ITU-T V.42, reflected polynomial 0xEDB88320), table-driven.
    let private crcTable =
        Array.init 256 (fun n ->
            let mutable c = uint32 n
            for _ in 1 .. 8 do
                c <- if c &&& 1u <> 0u then 0xEDB88320u ^^^ (c >>> 1) else c >>> 1
            c)

    /// The CRC-32 used by PNG chunks (and zip, gzip) of a byte span.
    let crc32 (bytes: ReadOnlySpan<byte>) : uint32 =
        let mutable c = 0xFFFFFFFFu
        for b in bytes do
            c <- crcTable.[int ((c ^^^ uint32 b) &&& 0xFFu)] ^^^ (c >>> 8)
        c ^^^ 0xFFFFFFFFu

    /// The 8-byte signature every PNG file starts with.
    let pngSignature : byte[] = [| 137uy; 80uy; 78uy; 71uy; 13uy; 10uy; 26uy; 10uy |]

    let private writeChunk (out: Stream) (kind: string) (data: byte[]) =
        let header = Array.zeroCreate<byte> 8
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(0, 4), data.Length)
        for i in 0 .. 3 do header.[4 + i] <- byte kind.[i]
        // The CRC covers the chunk type and the data, not the length.
        let typeAndData = Array.append (header.[4..7]) data
        let crc = Array.zeroCreate<byte> 4
        BinaryPrimitives.WriteUInt32BigEndian(crc.AsSpan(), crc32 (ReadOnlySpan typeAndData))
        out.Write(header, 0, 8)
        out.Write(data, 0, data.Length)
        out.Write(crc, 0, 4)

    /// Encodes 8-bit pixels as a PNG file: `pixels` is row-major, interleaved (H, W, C) with C = 1 (greyscale) or 3 (RGB).
    let encodePng (width: int) (height: int) (channels: int) (pixels: byte[]) : byte[] =
        if width < 1 then Errors.invalidArg "width" "a positive width" width
        if height < 1 then Errors.invalidArg "height" "a positive height" height
        if channels <> 1 && channels <> 3 then Errors.invalidArg "channels" "1 (greyscale) or 3 (RGB)" channels
        let rowBytes = width * channels
        if isNull pixels || pixels.Length <> rowBytes * height then
            Errors.invalidArg "pixels" (sprintf "%d bytes (%d x %d x %d)" (rowBytes * height) height width channels)
                (if isNull pixels then "null" else sprintf "%d bytes" pixels.Length)
        let ihdr = Array.zeroCreate<byte> 13
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(0, 4), width)
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4, 4), height)
        ihdr.[8] <- 8uy                                      // bit depth
        ihdr.[9] <- (if channels = 1 then 0uy else 2uy)      // colour type: 0 greyscale, 2 truecolour
        // compression 0 (deflate), filter method 0, interlace 0: all zero already.
        let idat =
            use compressed = new MemoryStream()
            do
                use z = new ZLibStream(compressed, CompressionLevel.Optimal, true)
                // Filter type 0 (None) on every row: images here are small, and deflate still does well on them.
                let filter = [| 0uy |]
                for y in 0 .. height - 1 do
                    z.Write(filter, 0, 1)
                    z.Write(pixels, y * rowBytes, rowBytes)
            compressed.ToArray()
        use out = new MemoryStream()
        out.Write(pngSignature, 0, pngSignature.Length)
        writeChunk out "IHDR" ihdr
        writeChunk out "IDAT" idat
        writeChunk out "IEND" [||]
        out.ToArray()

    let private checkImage (paramName: string) (image: Tensor) =
        if isNull image then Errors.invalidArg paramName "an image tensor [C,H,W]" "null"
        let shape = image.shape
        if shape.Length <> 3 then Errors.invalidArg paramName "an image tensor [C,H,W]" (sprintf "shape %A" shape)
        if shape.[0] <> 1L && shape.[0] <> 3L then
            Errors.invalidArg paramName "1 (greyscale) or 3 (RGB) channels in [C,H,W]" (sprintf "shape %A" shape)
        if shape.[1] < 1L || shape.[2] < 1L then Errors.invalidArg paramName "a non-empty image" (sprintf "shape %A" shape)

    let private checkBatch (paramName: string) (images: Tensor) =
        if isNull images then Errors.invalidArg paramName "an image batch [N,C,H,W]" "null"
        let shape = images.shape
        if shape.Length <> 4 then Errors.invalidArg paramName "an image batch [N,C,H,W]" (sprintf "shape %A" shape)
        if shape.[0] < 1L then Errors.invalidArg paramName "at least one image in [N,C,H,W]" (sprintf "shape %A" shape)
        if shape.[1] <> 1L && shape.[1] <> 3L then
            Errors.invalidArg paramName "1 (greyscale) or 3 (RGB) channels in [N,C,H,W]" (sprintf "shape %A" shape)
        if shape.[2] < 1L || shape.[3] < 1L then Errors.invalidArg paramName "non-empty images" (sprintf "shape %A" shape)

    /// The interleaved 8-bit pixels (H, W, C) of an image [C,H,W] with values in [0, 1]; values outside are clamped.
    let toBytes (image: Tensor) : byte[] =
        checkImage "image" image
        use _ = torch.NewDisposeScope()
        use _ = torch.no_grad()
        // Round to nearest like torchvision's save_image: x * 255 + 0.5, clamped, truncated.
        let scaled = image.detach().cpu().to_type(torch.ScalarType.Float32) * 255.0f + 0.5f
        let bytes =
            scaled.clamp(0.0f.ToScalar(), 255.0f.ToScalar()).to_type(torch.ScalarType.Byte).permute(1L, 2L, 0L).contiguous()
        bytes.data<byte>().ToArray()

    /// PNG bytes of an image [C,H,W] (C = 1 greyscale or 3 RGB) with values in [0, 1]; 8 bits per channel.
    let toPng (image: Tensor) : byte[] =
        let pixels = toBytes image
        encodePng (int image.shape.[2]) (int image.shape.[1]) (int image.shape.[0]) pixels

    /// Writes bytes atomically (`AtomicFile`), first creating the folder: picture and report paths often name a
    /// folder that does not exist yet.
    let internal writeAtomic (path: string) (bytes: byte[]) =
        if String.IsNullOrWhiteSpace path then Errors.invalidArg "path" "a file path" (if isNull path then "null" else "an empty string")
        let full = Path.GetFullPath path
        let dir = Path.GetDirectoryName full
        if not (String.IsNullOrEmpty dir) then Directory.CreateDirectory dir |> ignore
        AtomicFile.writeBytes full bytes

    /// Saves an image [C,H,W] with values in [0, 1] as a PNG file (atomically; creates the folder).
    let savePng (path: string) (image: Tensor) : unit = writeAtomic path (toPng image)

    /// The size (height, width) of the grid `gridWith` makes from N images of H x W: torchvision's make_grid layout.
    let gridSize (columns: int) (padding: int) (count: int) (height: int) (width: int) : int * int =
        let cols = min columns count
        let rows = (count + cols - 1) / cols
        rows * (height + padding) + padding, cols * (width + padding) + padding

    /// Tiles images [N,C,H,W] into one image [C,H',W'] with `columns` per row, `padding` pixels of `padValue` around each.
    /// H' = rows*(H+padding)+padding and W' = min(columns,N)*(W+padding)+padding, rows = ceil(N / min(columns,N)).
    let gridWith (padValue: float32) (columns: int) (padding: int) (images: Tensor) : Tensor =
        if columns < 1 then Errors.invalidArg "columns" "at least 1 column" columns
        if padding < 0 then Errors.invalidArg "padding" "a padding of 0 or more pixels" padding
        checkBatch "images" images
        let n, c, h, w = int images.shape.[0], images.shape.[1], int images.shape.[2], int images.shape.[3]
        let gridH, gridW = gridSize columns padding n h w
        let cols = min columns n
        use scope = torch.NewDisposeScope()
        use _ = torch.no_grad()
        let grid = torch.full([| c; int64 gridH; int64 gridW |], padValue.ToScalar(), dtype = images.dtype, device = images.device)
        for i in 0 .. n - 1 do
            let row, col = i / cols, i % cols
            let top, left = row * (h + padding) + padding, col * (w + padding) + padding
            grid.narrow(1L, int64 top, int64 h).narrow(2L, int64 left, int64 w).copy_(images.[int64 i]) |> ignore
        grid.MoveToOuterDisposeScope()

    /// Tiles images [N,C,H,W] (values in [0, 1]) into one image [C,H',W'] on a white background (see `gridWith`).
    let grid (columns: int) (padding: int) (images: Tensor) : Tensor = gridWith 1.0f columns padding images

    /// Saves images [N,C,H,W] (values in [0, 1]) as one PNG grid with `columns` per row and 2 pixels of white padding.
    let saveGrid (path: string) (columns: int) (images: Tensor) : unit =
        use g = grid columns 2 images
        savePng path g

    /// Interleaves originals and reconstructions [N,C,H,W] by rows of `columns`, so that `grid columns` shows each row of
    /// originals directly above its reconstructions. A last, partial row is filled with blank (white) images to keep
    /// the pairs aligned. The result has 2 * ceil(N / columns) * columns images.
    let pairs (columns: int) (originals: Tensor) (reconstructions: Tensor) : Tensor =
        if columns < 1 then Errors.invalidArg "columns" "at least 1 column" columns
        checkBatch "originals" originals
        checkBatch "reconstructions" reconstructions
        if originals.shape <> reconstructions.shape then
            Errors.invalidArg "reconstructions" (sprintf "the originals' shape %A" originals.shape) (sprintf "shape %A" reconstructions.shape)
        use scope = torch.NewDisposeScope()
        use _ = torch.no_grad()
        let n = originals.shape.[0]
        let cols = int64 columns
        let rows = (n + cols - 1L) / cols
        let fill (t: Tensor) =
            let missing = rows * cols - n
            if missing = 0L then t
            else
                let shape = Array.copy t.shape
                shape.[0] <- missing
                torch.cat([| t; torch.ones(shape, dtype = t.dtype, device = t.device) |], 0L)
        let o, r = fill originals, fill reconstructions
        // [rows, cols, C, H, W] twice -> [rows, 2, cols, C, H, W] -> [2 * rows * cols, C, H, W].
        let shape5 = Array.append [| rows; cols |] originals.shape.[1..]
        let stacked = torch.stack([| o.reshape(shape5); r.reshape(shape5) |], 1L)
        stacked.reshape(Array.append [| 2L * rows * cols |] originals.shape.[1..]).contiguous().MoveToOuterDisposeScope()

    /// Saves an "original above reconstruction" grid: see `pairs`.
    let saveComparison (path: string) (columns: int) (originals: Tensor) (reconstructions: Tensor) : unit =
        use p = pairs columns originals reconstructions
        saveGrid path columns p
