module Generative.Tests.Reports.ImagesTests

open System
open System.Buffers.Binary
open System.IO
open System.IO.Compression
open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// A minimal PNG reader for 8-bit greyscale/RGB, non-interlaced files with filter 0, checking every chunk's CRC:
/// returns (width, height, colour type, pixels as interleaved H x W x C bytes).
let decodePng (png: byte[]) =
    Expect.sequenceEqual png.[0..7] Images.pngSignature "PNG signature"
    let mutable pos = 8
    let mutable ihdr = None
    let idat = new MemoryStream()
    let mutable ended = false
    while not ended do
        let length = BinaryPrimitives.ReadInt32BigEndian(ReadOnlySpan(png, pos, 4))
        let kind = Text.Encoding.ASCII.GetString(png, pos + 4, 4)
        let data = png.[pos + 8 .. pos + 8 + length - 1]
        let crc = BinaryPrimitives.ReadUInt32BigEndian(ReadOnlySpan(png, pos + 8 + length, 4))
        Expect.equal crc (Images.crc32 (ReadOnlySpan(png, pos + 4, length + 4))) (sprintf "CRC of %s" kind)
        match kind with
        | "IHDR" -> ihdr <- Some data
        | "IDAT" -> idat.Write(data, 0, data.Length)
        | "IEND" -> ended <- true
        | other -> failwithf "unexpected chunk %s" other
        pos <- pos + 12 + length
    Expect.equal pos png.Length "nothing after IEND"
    let h = ihdr.Value
    let width = BinaryPrimitives.ReadInt32BigEndian(ReadOnlySpan(h, 0, 4))
    let height = BinaryPrimitives.ReadInt32BigEndian(ReadOnlySpan(h, 4, 4))
    Expect.equal h.[8] 8uy "bit depth 8"
    Expect.equal (h.[10], h.[11], h.[12]) (0uy, 0uy, 0uy) "deflate, filter method 0, no interlace"
    let channels = match h.[9] with 0uy -> 1 | 2uy -> 3 | t -> failwithf "colour type %d" t
    idat.Position <- 0L
    use z = new ZLibStream(idat, CompressionMode.Decompress)
    use raw = new MemoryStream()
    z.CopyTo raw
    let raw = raw.ToArray()
    let rowBytes = width * channels
    Expect.equal raw.Length (height * (rowBytes + 1)) "inflated size"
    let pixels = Array.zeroCreate<byte> (height * rowBytes)
    for y in 0 .. height - 1 do
        Expect.equal raw.[y * (rowBytes + 1)] 0uy "filter type 0"
        Array.blit raw (y * (rowBytes + 1) + 1) pixels (y * rowBytes) rowBytes
    width, height, int h.[9], pixels

/// An image tensor [C,H,W] whose 8-bit encoding is exactly `bytes` (interleaved H x W x C).
let imageOfBytes (c: int) (h: int) (w: int) (bytes: byte[]) =
    use t = torch.tensor(bytes |> Array.map (fun b -> float32 b / 255.0f), ReadOnlySpan [| int64 h; int64 w; int64 c |])
    t.permute(2L, 0L, 1L).contiguous()

/// Expects an ArgumentException naming `paramName`.
let throwsArg (paramName: string) (f: unit -> unit) =
    Expect.equal (TestData.raises<ArgumentException> f).ParamName paramName (sprintf "ArgumentException for %s" paramName)

let private fast = { FsCheckConfig.defaultConfig with maxTest = 40 }

[<Tests>]
let tests =
    testList "Reports.Images" [
        test "crc32 matches the standard check value" {
            Expect.equal (Images.crc32 (ReadOnlySpan(Text.Encoding.ASCII.GetBytes "123456789"))) 0xCBF43926u "CRC-32 check value"
        }

        test "a greyscale PNG decodes to the input bytes" {
            let bytes = [| 0uy; 255uy; 128uy; 1uy; 2uy; 3uy |]
            use img = imageOfBytes 1 2 3 bytes
            let w, h, colourType, pixels = decodePng (Images.toPng img)
            Expect.equal (w, h, colourType) (3, 2, 0) "3 x 2 greyscale"
            Expect.sequenceEqual pixels bytes "pixels"
        }

        test "an RGB PNG decodes to the input bytes" {
            let bytes = Array.init (4 * 5 * 3) (fun i -> byte (i * 17 % 256))
            use img = imageOfBytes 3 4 5 bytes
            let w, h, colourType, pixels = decodePng (Images.toPng img)
            Expect.equal (w, h, colourType) (5, 4, 2) "5 x 4 RGB"
            Expect.sequenceEqual pixels bytes "pixels"
        }

        testPropertyWithConfig fast "PNG round-trips for random small images" (fun (seed: int) (w0: byte) (h0: byte) (rgb: bool) ->
            let w, h, c = int w0 % 13 + 1, int h0 % 13 + 1, (if rgb then 3 else 1)
            let bytes = Array.zeroCreate<byte> (w * h * c)
            Random(seed).NextBytes bytes
            use img = imageOfBytes c h w bytes
            let w', h', colourType, pixels = decodePng (Images.toPng img)
            w' = w && h' = h && colourType = (if rgb then 2 else 0) && pixels = bytes)

        test "values outside [0, 1] are clamped" {
            use img = torch.tensor([| -0.5f; 0.0f; 1.0f; 7.0f |], ReadOnlySpan [| 1L; 1L; 4L |])
            Expect.sequenceEqual (Images.toBytes img) [| 0uy; 0uy; 255uy; 255uy |] "clamped"
        }

        test "toPng rejects shapes that are not [1 or 3, H, W]" {
            use bad1 = torch.zeros(2L, 4L, 4L)
            use bad2 = torch.zeros(4L, 4L)
            throwsArg "image" (fun () -> Images.toPng bad1 |> ignore)
            throwsArg "image" (fun () -> Images.toPng bad2 |> ignore)
        }

        testPropertyWithConfig fast "grid size follows make_grid for any N, columns and padding" (fun (n0: byte) (cols0: byte) (pad0: byte) (hw: byte) ->
            let n, cols, pad = int n0 % 20 + 1, int cols0 % 8 + 1, int pad0 % 4
            let h, w = int hw % 5 + 1, int (hw / 16uy) % 5 + 2
            use images = torch.rand(int64 n, 3L, int64 h, int64 w)
            use g = Images.gridWith 0.25f cols pad images
            let xmaps = min cols n
            let ymaps = (n + xmaps - 1) / xmaps
            let expected = [| 3L; int64 (ymaps * (h + pad) + pad); int64 (xmaps * (w + pad) + pad) |]
            let placed =
                [ 0 .. n - 1 ] |> List.forall (fun i ->
                    let top, left = (i / xmaps) * (h + pad) + pad, (i % xmaps) * (w + pad) + pad
                    use cell = g.narrow(1L, int64 top, int64 h).narrow(2L, int64 left, int64 w)
                    use img = images.[int64 i]
                    cell.Equals img)
            // Everything that is not an image is padding: the total equals image sums plus pad value times pad area.
            let padArea = float (expected.[0] * expected.[1] * expected.[2]) - float (n * 3 * h * w)
            let total = g.sum().ToDouble()
            let expectedTotal = images.sum().ToDouble() + 0.25 * padArea
            g.shape = expected && (Images.gridSize cols pad n h w = (int expected.[1], int expected.[2]))
            && placed && abs (total - expectedTotal) < 1e-3 * (1.0 + abs expectedTotal))

        test "grid checks its arguments" {
            use ok = torch.rand(2L, 1L, 4L, 4L)
            use twoChannels = torch.rand(2L, 2L, 4L, 4L)
            use threeD = torch.rand(1L, 4L, 4L)
            throwsArg "columns" (fun () -> Images.grid 0 2 ok |> ignore)
            throwsArg "padding" (fun () -> Images.grid 2 -1 ok |> ignore)
            throwsArg "images" (fun () -> Images.grid 2 2 twoChannels |> ignore)
            throwsArg "images" (fun () -> Images.grid 2 2 threeD |> ignore)
        }

        test "pairs puts each row of originals above its reconstructions, padding the last row with blanks" {
            use originals = torch.arange(5L).to_type(torch.ScalarType.Float32).reshape(5L, 1L, 1L, 1L) / 10.0f
            use recon = originals + 0.5f
            use p = Images.pairs 4 originals recon
            Expect.equal p.shape [| 16L; 1L; 1L; 1L |] "two rows of four for each row of originals"
            let values = p.flatten().data<float32>().ToArray() |> Array.map (fun v -> Math.Round(float v, 3))
            Expect.sequenceEqual values
                [| 0.0; 0.1; 0.2; 0.3; 0.5; 0.6; 0.7; 0.8; 0.4; 1.0; 1.0; 1.0; 0.9; 1.0; 1.0; 1.0 |] "interleaved rows"
            use other = torch.rand(5L, 1L, 2L, 2L)
            throwsArg "reconstructions" (fun () -> Images.pairs 4 originals other |> ignore)
        }

        test "savePng and saveGrid write decodable files and leave no temporary file" {
            let dir = Path.Combine(Path.GetTempPath(), "generative-images-" + Guid.NewGuid().ToString("N"))
            try
                use images = torch.rand(6L, 1L, 5L, 7L)
                let path = Path.Combine(dir, "sub", "grid.png")
                Images.saveGrid path 4 images
                let w, h, colourType, _ = decodePng (File.ReadAllBytes path)
                Expect.equal (w, h, colourType) (4 * 9 + 2, 2 * 7 + 2, 0) "grid PNG size"
                Images.saveComparison (Path.Combine(dir, "cmp.png")) 3 images images
                Expect.sequenceEqual (Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories)) [||] "no temporary files"
            finally
                if Directory.Exists dir then Directory.Delete(dir, true)
        }
    ]
