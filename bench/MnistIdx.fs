namespace Generative.Bench

open System
open System.IO
open System.IO.Compression
open TorchSharp
open Generative

/// The MNIST training split from IDX files, read minimally: the library's loader (`Datasets.mnist`) is on
/// another branch; once it lands the bench should call it instead.
[<RequireQualifiedAccess>]
module MnistIdx =
    let private readAll (folder: string) (name: string) : byte[] =
        let plain = Path.Combine(folder, name)
        if File.Exists plain then File.ReadAllBytes plain
        elif File.Exists(plain + ".gz") then
            use gz = new GZipStream(File.OpenRead(plain + ".gz"), CompressionMode.Decompress)
            use ms = new MemoryStream()
            gz.CopyTo ms
            ms.ToArray()
        else failwithf "no %s (or %s.gz) in %s" name name folder

    // IDX: a big-endian magic (0x0000, element type 0x08 = unsigned byte, rank), one big-endian int32 per
    // dimension, then the elements.
    let private dims (bytes: byte[]) (rank: int) : int[] =
        if bytes.Length < 4 + 4 * rank || bytes.[2] <> 0x08uy || int bytes.[3] <> rank then
            failwithf "not an IDX file of unsigned bytes with rank %d" rank
        Array.init rank (fun i -> Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(ReadOnlySpan(bytes, 4 + 4 * i, 4)))

    /// The 60000 training images as [N, 1, 28, 28] float32 in [0,1], and their labels as int64.
    let train (folder: string) : Split =
        let imageBytes = readAll folder "train-images-idx3-ubyte"
        let labelBytes = readAll folder "train-labels-idx1-ubyte"
        let d = dims imageBytes 3
        let n = (dims labelBytes 1).[0]
        if d.[0] <> n then failwithf "%d images but %d labels" d.[0] n
        let pixels = imageBytes.AsSpan(16).ToArray()
        use raw = torch.from_array(pixels)
        use labels = torch.from_array(labelBytes.AsSpan(8).ToArray())
        { Images = raw.reshape(int64 d.[0], 1L, int64 d.[1], int64 d.[2]).to_type(torch.float32).div_((255.0f).ToScalar())
          Labels = labels.to_type(torch.int64) }
