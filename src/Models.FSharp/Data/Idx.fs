namespace Generative

open System
open System.IO
open System.IO.Compression

/// An unsigned-byte IDX array (the MNIST file format): its dimensions and its row-major payload.
type IdxArray =
    { /// Sizes of the dimensions, outermost first (e.g. [| 60000; 28; 28 |] for MNIST training images).
      Dims: int[]
      /// The payload, row-major; its length is the product of Dims.
      Data: byte[] }

/// Reading and writing unsigned-byte IDX files (magic 0x00000801 for vectors, 0x00000803 for image stacks),
/// raw or gzip-compressed.
[<RequireQualifiedAccess>]
module Idx =
    /// The IDX type code for unsigned bytes (third byte of the magic number).
    [<Literal>]
    let private unsignedByteType = 0x08uy

    let private fail (name: string) (problem: string) : 'a =
        raise (InvalidDataException(sprintf "%s: %s" name problem))

    let private readBigEndianInt32 (bytes: byte[]) (offset: int) =
        (int bytes.[offset] <<< 24) ||| (int bytes.[offset + 1] <<< 16) ||| (int bytes.[offset + 2] <<< 8) ||| int bytes.[offset + 3]

    /// True when the bytes start with the gzip magic 1f 8b; detection never trusts the file extension.
    let isGzip (bytes: byte[]) = bytes.Length >= 2 && bytes.[0] = 0x1fuy && bytes.[1] = 0x8buy

    /// Decompresses gzip bytes. .NET's GZipStream silently returns a short result for a truncated stream,
    /// so the trailer's ISIZE (uncompressed length mod 2^32) is compared with what came out: any cut of the
    /// file leaves a trailer that does not match.
    let gunzip (bytes: byte[]) (nameForErrors: string) : byte[] =
        // 10-byte header + at least an empty deflate block + 8-byte trailer.
        if bytes.Length < 18 then
            fail nameForErrors (sprintf "truncated gzip: only %d bytes, shorter than a gzip header and trailer" bytes.Length)
        let output =
            try
                use input = new GZipStream(new MemoryStream(bytes, false), CompressionMode.Decompress)
                // Start near the usual MNIST compression ratio to avoid repeated buffer growth.
                use ms = new MemoryStream(bytes.Length * 4)
                input.CopyTo(ms)
                ms.ToArray()
            with
            | :? InvalidDataException as e -> fail nameForErrors (sprintf "corrupt gzip data (%s)" e.Message)
        let n = bytes.Length
        let isize =
            uint32 bytes.[n - 4] ||| (uint32 bytes.[n - 3] <<< 8) ||| (uint32 bytes.[n - 2] <<< 16) ||| (uint32 bytes.[n - 1] <<< 24)
        if isize <> uint32 output.LongLength then
            fail nameForErrors
                (sprintf "truncated or corrupt gzip: the trailer says %d uncompressed bytes but %d were decoded" isize output.LongLength)
        output

    /// Parses the bytes of an uncompressed unsigned-byte IDX file. `nameForErrors` (usually the path) starts
    /// every error message. Throws InvalidDataException on a wrong magic number, an unsupported dimension count,
    /// a short header, or a payload whose length is not exactly the product of the dimensions.
    let parse (bytes: byte[]) (nameForErrors: string) : IdxArray =
        if isNull bytes then nullArg "bytes"
        if bytes.Length < 4 then
            fail nameForErrors (sprintf "truncated: %d bytes, too short for the 4-byte IDX magic number" bytes.Length)
        if bytes.[0] <> 0uy || bytes.[1] <> 0uy then
            fail nameForErrors (sprintf "not an IDX file: magic number 0x%02x%02x%02x%02x must start with two zero bytes" bytes.[0] bytes.[1] bytes.[2] bytes.[3])
        if bytes.[2] <> unsignedByteType then
            fail nameForErrors (sprintf "unsupported IDX element type 0x%02x: only unsigned bytes (0x08, magic 0x00000801 or 0x00000803) are read" bytes.[2])
        let rank = int bytes.[3]
        if rank <> 1 && rank <> 3 then
            fail nameForErrors (sprintf "bad dimension count %d (magic 0x000008%02x): expected 1 (labels) or 3 (images)" rank rank)
        let headerLength = 4 + 4 * rank
        if bytes.Length < headerLength then
            fail nameForErrors (sprintf "truncated header: %d dimensions need %d header bytes but the file has %d" rank headerLength bytes.Length)
        let dims = Array.init rank (fun i -> readBigEndianInt32 bytes (4 + 4 * i))
        dims |> Array.iteri (fun i d -> if d < 0 then fail nameForErrors (sprintf "dimension %d is negative (%d)" i d))
        let expected = dims |> Array.fold (fun acc d -> acc * int64 d) 1L
        let found = int64 bytes.Length - int64 headerLength
        // .NET arrays hold at most Array.MaxLength bytes; a larger header can only come from a damaged file.
        if expected > int64 Array.MaxLength then
            fail nameForErrors (sprintf "dimensions %A describe %d bytes, more than a single array can hold" dims expected)
        if found < expected then
            fail nameForErrors (sprintf "truncated: expected %d data bytes after the header but found %d" expected found)
        if found > expected then
            fail nameForErrors (sprintf "trailing bytes: expected %d data bytes after the header but found %d (%d extra)" expected found (found - expected))
        { Dims = dims; Data = Array.sub bytes headerLength (int expected) }

    /// The file's bytes, decompressed when they start with the gzip magic. FileNotFoundException names the path.
    let readBytes (path: string) : byte[] =
        if String.IsNullOrWhiteSpace path then Errors.invalidArg "path" "a file path" path
        if not (File.Exists path) then
            raise (FileNotFoundException(sprintf "%s: IDX file not found" path, path))
        let bytes = File.ReadAllBytes path
        if isGzip bytes then gunzip bytes path else bytes

    /// Reads an unsigned-byte IDX file, raw or gzip-compressed (detected by the 1f 8b magic, not the extension).
    let read (path: string) : IdxArray = parse (readBytes path) path

    /// The bytes of an IDX file holding `arr` (uncompressed). Checks the array is well-formed first.
    let toBytes (arr: IdxArray) : byte[] =
        if isNull (box arr) || isNull arr.Dims || isNull arr.Data then nullArg "arr"
        let rank = arr.Dims.Length
        if rank <> 1 && rank <> 3 then Errors.invalidArg "arr.Dims" "1 or 3 dimensions" rank
        if arr.Dims |> Array.exists (fun d -> d < 0) then Errors.invalidArg "arr.Dims" "non-negative sizes" (sprintf "%A" arr.Dims)
        let expected = arr.Dims |> Array.fold (fun acc d -> acc * int64 d) 1L
        if expected <> arr.Data.LongLength then
            Errors.invalidArg "arr.Data" (sprintf "%d bytes (the product of the dimensions)" expected) arr.Data.LongLength
        let header = 4 + 4 * rank
        let out = Array.zeroCreate<byte> (header + arr.Data.Length)
        out.[2] <- unsignedByteType
        out.[3] <- byte rank
        arr.Dims |> Array.iteri (fun i d ->
            let o = 4 + 4 * i
            out.[o] <- byte (d >>> 24); out.[o + 1] <- byte (d >>> 16); out.[o + 2] <- byte (d >>> 8); out.[o + 3] <- byte d)
        Buffer.BlockCopy(arr.Data, 0, out, header, arr.Data.Length)
        out

    /// Writes `arr` as an IDX file, gzip-compressed when `gzip` is true. Used by tests and by tools that
    /// build small data sets. Overwrites an existing file.
    let write (path: string) (arr: IdxArray) (gzip: bool) : unit =
        if String.IsNullOrWhiteSpace path then Errors.invalidArg "path" "a file path" path
        let bytes = toBytes arr
        if gzip then
            AtomicFile.writeWith path (fun file ->
                use gz = new GZipStream(file, CompressionLevel.Optimal)
                gz.Write(bytes, 0, bytes.Length))
        else
            AtomicFile.writeBytes path bytes
