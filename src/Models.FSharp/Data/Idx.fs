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

    /// The largest uncompressed size one deflate stream can encode per compressed byte: a 258-byte match costs at
    /// least 2 bits, so 1032:1 (zlib's technical notes). A trailer claiming more describes no real stream.
    [<Literal>]
    let private deflateMaxRatio = 1032L

    /// The gzip trailer's ISIZE: the uncompressed length mod 2^32, little-endian in the last 4 bytes.
    let private trailerSize (bytes: byte[]) =
        let n = bytes.Length
        int64 (uint32 bytes.[n - 4] ||| (uint32 bytes.[n - 3] <<< 8) ||| (uint32 bytes.[n - 2] <<< 16) ||| (uint32 bytes.[n - 1] <<< 24))

    /// Decompresses gzip bytes, refusing more than `limit` uncompressed bytes. Nothing here trusts a size the file
    /// states: a trailer (ISIZE) claiming more than `limit`, or more than deflate can produce from the file, is
    /// rejected before decoding; the output buffer then grows only as decoded bytes really arrive (starting at 8 times
    /// the compressed size, which fits MNIST's ratio of about 5:1), and decoding stops as soon as the stream runs past
    /// the claimed size. So a gzip bomb or a lying trailer costs at most a small multiple of the file plus the bytes
    /// really decoded, never what a header claims. .NET's GZipStream silently returns a short result for a truncated
    /// stream, so the decoded length must equal ISIZE: any cut of the file leaves a trailer that does not match. It
    /// checks each member's CRC-32 itself. InvalidDataException, starting with `nameForErrors`, for any of these.
    let gunzipAtMost (limit: int64) (bytes: byte[]) (nameForErrors: string) : byte[] =
        if isNull bytes then nullArg "bytes"
        // 10-byte header + at least an empty deflate block + 8-byte trailer.
        if bytes.Length < 18 then
            fail nameForErrors (sprintf "truncated gzip: only %d bytes, shorter than a gzip header and trailer" bytes.Length)
        let claimed = trailerSize bytes
        if claimed > deflateMaxRatio * int64 bytes.Length then
            fail nameForErrors
                (sprintf "truncated or corrupt gzip: the trailer says %d uncompressed bytes, more than deflate can produce from %d compressed bytes" claimed bytes.Length)
        if claimed > min limit (int64 Array.MaxLength) then
            fail nameForErrors (sprintf "the gzip trailer says %d uncompressed bytes, more than the %d expected" claimed (min limit (int64 Array.MaxLength)))
        let expected = int claimed
        let mutable buffer = Array.zeroCreate<byte> (int (min claimed (8L * int64 bytes.Length + 65536L)))
        let mutable count = 0
        let mutable overrun = false
        let mutable finished = false
        try
            use input = new GZipStream(new MemoryStream(bytes, false), CompressionMode.Decompress)
            while not finished do
                if count < buffer.Length then
                    let n = input.Read(buffer, count, buffer.Length - count)
                    if n = 0 then finished <- true else count <- count + n
                elif count < expected then
                    // Grown only once this many bytes really came out, so a false claim costs what was really decoded.
                    Array.Resize(&buffer, int (min claimed (2L * int64 count)))
                else
                    // The claimed size is reached, so the stream must end here. Reading on also makes GZipStream check
                    // the CRC-32 in the trailer.
                    overrun <- input.Read(Array.zeroCreate<byte> 1, 0, 1) > 0
                    finished <- true
        with :? InvalidDataException as e ->
            fail nameForErrors (sprintf "corrupt gzip data (%s)" e.Message)
        if overrun then
            fail nameForErrors (sprintf "truncated or corrupt gzip: the data runs past the %d uncompressed bytes the trailer says" claimed)
        if count <> expected then
            fail nameForErrors (sprintf "truncated or corrupt gzip: the trailer says %d uncompressed bytes but %d were decoded" claimed count)
        buffer

    /// Decompresses gzip bytes (see `gunzipAtMost`), up to the largest array .NET holds.
    let gunzip (bytes: byte[]) (nameForErrors: string) : byte[] = gunzipAtMost (int64 Array.MaxLength) bytes nameForErrors

    /// Checks an IDX header at the start of `bytes` and returns its dimensions, its length and the payload length the
    /// dimensions describe. The product is computed so it cannot overflow (sizes past Array.MaxLength stop it), since
    /// in wrapping arithmetic a hostile header's sizes can multiply to 0 or to the length of whatever follows.
    let private header (bytes: byte[]) (nameForErrors: string) : int[] * int * int64 =
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
        // Each factor is below 2^31 and the running product stops growing past Array.MaxLength (below 2^31), so no
        // step exceeds 2^62.
        let payload =
            if Array.contains 0 dims then 0L
            else dims |> Array.fold (fun acc d -> if acc > int64 Array.MaxLength then acc else acc * int64 d) 1L
        // .NET arrays hold at most Array.MaxLength bytes; a larger header can only come from a damaged file.
        if payload > int64 Array.MaxLength - int64 headerLength then
            fail nameForErrors (sprintf "dimensions %A describe more than a single array can hold (%d bytes)" dims Array.MaxLength)
        dims, headerLength, payload

    /// Parses the bytes of an uncompressed unsigned-byte IDX file. `nameForErrors` (usually the path) starts
    /// every error message. Throws InvalidDataException on a wrong magic number, an unsupported dimension count,
    /// a short header, dimensions too large for one array, or a payload whose length is not exactly the product of
    /// the dimensions. Allocates only the payload's copy, after those checks.
    let parse (bytes: byte[]) (nameForErrors: string) : IdxArray =
        if isNull bytes then nullArg "bytes"
        let dims, headerLength, expected = header bytes nameForErrors
        let found = int64 bytes.Length - int64 headerLength
        if found < expected then
            fail nameForErrors (sprintf "truncated: expected %d data bytes after the header but found %d" expected found)
        if found > expected then
            fail nameForErrors (sprintf "trailing bytes: expected %d data bytes after the header but found %d (%d extra)" expected found (found - expected))
        { Dims = dims; Data = Array.sub bytes headerLength (int expected) }

    /// A file's bytes as they are on disk. FileNotFoundException names the path; a file larger than one array can
    /// hold is an InvalidDataException (checked before reading it).
    let private readFile (path: string) : byte[] =
        if String.IsNullOrWhiteSpace path then Errors.invalidArg "path" "a file path" path
        if not (File.Exists path) then
            raise (FileNotFoundException(sprintf "%s: file not found" path, path))
        let length = FileInfo(path).Length
        if length > int64 Array.MaxLength then
            fail path (sprintf "%d bytes, more than a single array can hold" length)
        File.ReadAllBytes path

    /// The file's bytes, decompressed when they start with the gzip magic (`gunzip`: the decompressed size is
    /// bounded before anything is allocated for it). FileNotFoundException names the path.
    let readBytes (path: string) : byte[] =
        let bytes = readFile path
        if isGzip bytes then gunzip bytes path else bytes

    /// The uncompressed bytes of an IDX file, raw or gzip-compressed. For gzip, the IDX header is decoded and checked
    /// first, and the rest is decompressed only when the size it describes is the size the gzip trailer gives: a
    /// gzip bomb, or a header or trailer that lies, is rejected after 16 decoded bytes instead of being inflated.
    /// Parse the result with `parse`; `read` does both.
    let readIdxBytes (path: string) : byte[] =
        let bytes = readFile path
        if not (isGzip bytes) then bytes
        else
            // The header is at most 16 bytes (rank 3); a short or broken stream gives fewer, and `header` says so.
            let start =
                try
                    use input = new GZipStream(new MemoryStream(bytes, false), CompressionMode.Decompress)
                    let buffer = Array.zeroCreate<byte> 16
                    let mutable count = 0
                    let mutable n = -1
                    while count < buffer.Length && n <> 0 do
                        n <- input.Read(buffer, count, buffer.Length - count)
                        count <- count + n
                    Array.sub buffer 0 count
                with :? InvalidDataException as e -> fail path (sprintf "corrupt gzip data (%s)" e.Message)
            let _, headerLength, payload = header start path
            let described = int64 headerLength + payload
            if bytes.Length >= 18 && trailerSize bytes <> described % (1L <<< 32) then
                fail path
                    (sprintf "the IDX header describes %d uncompressed bytes but the gzip trailer says %d: the file is truncated or corrupt" described (trailerSize bytes))
            gunzipAtMost described bytes path

    /// Reads an unsigned-byte IDX file, raw or gzip-compressed (detected by the 1f 8b magic, not the extension).
    /// InvalidDataException (naming the path) for a damaged file, without allocating for sizes it merely claims.
    let read (path: string) : IdxArray = parse (readIdxBytes path) path

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
