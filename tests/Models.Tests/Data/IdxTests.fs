module Generative.Tests.Data.IdxTests

open System
open System.IO
open System.IO.Compression
open Expecto
open Generative.Tests
open FsCheck
open Generative

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "generative-idx-tests-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

let private withTemp (f: string -> 'a) =
    let d = tempDir ()
    try f d finally Directory.Delete(d, true)

/// A small random IDX array: rank 1 or 3, each dimension 0..5 (zero-sized arrays are valid IDX).
let private randomArray (seed: int) (rank3: bool) (a: int) (b: int) (c: int) =
    let dims = if rank3 then [| abs a % 6; abs b % 6; abs c % 6 |] else [| abs a % 40 |]
    let rng = Random(seed)
    let data = Array.zeroCreate<byte> (Array.fold (*) 1 dims)
    rng.NextBytes data
    { Dims = dims; Data = data }

/// Runs `action`, expecting InvalidDataException whose message names `path` and contains `fragment`.
let private rejects (path: string) (fragment: string) (action: unit -> 'a) =
    try
        action () |> ignore
        failtestf "expected InvalidDataException for %s (%s)" path fragment
    with
    | :? InvalidDataException as e ->
        Expect.stringContains e.Message path "the message names the file"
        Expect.stringContains e.Message fragment "the message says what is wrong"

let private config = { FsCheckConfig.defaultConfig with maxTest = 60 }

/// The 4-byte magic and big-endian dimensions of an unsigned-byte IDX header of rank 1 or 3, with no payload.
let private header (dims: int[]) =
    Array.append [| 0uy; 0uy; 8uy; byte dims.Length |] (dims |> Array.collect (fun d -> [| byte (d >>> 24); byte (d >>> 16); byte (d >>> 8); byte d |]))

/// Gzip-compressed bytes.
let private gzip (bytes: byte[]) =
    use ms = new MemoryStream()
    do
        use gz = new GZipStream(ms, CompressionLevel.Optimal, true)
        gz.Write(bytes, 0, bytes.Length)
    ms.ToArray()

/// A copy of gzip bytes whose trailer claims `isize` uncompressed bytes (ISIZE: the last 4 bytes, little-endian).
let private withIsize (isize: uint32) (gz: byte[]) =
    let copy = Array.copy gz
    let n = copy.Length
    copy.[n - 4] <- byte isize; copy.[n - 3] <- byte (isize >>> 8); copy.[n - 2] <- byte (isize >>> 16); copy.[n - 1] <- byte (isize >>> 24)
    copy

/// Expects `read` to fail with InvalidDataException naming `path` and saying `fragment`, having allocated (managed,
/// this thread) less than `bound` bytes: a reader that trusts a size field allocates what the field claims.
let private rejectsWithin (bound: int64) (path: string) (fragment: string) (read: unit -> 'a) =
    let result, allocated = Generative.Tests.Fuzz.Mutation.allocatedBy read
    match result with
    | Error (:? InvalidDataException as e) ->
        Expect.stringContains e.Message path "the message names the file"
        Expect.stringContains e.Message fragment "the message says what is wrong"
    | Error e -> failtestf "expected InvalidDataException, got %s: %s" (e.GetType().Name) e.Message
    | Ok _ -> failtestf "expected InvalidDataException for %s (%s)" path fragment
    Expect.isLessThan allocated bound (sprintf "allocated %d bytes reading a %d-byte file" allocated (FileInfo path).Length)

[<Tests>]
let tests =
    testList "Data.Idx" [
        testPropertyWithConfig config "write then read is the identity (raw and gzip)" <| fun (seed: int) (rank3: bool) (a: int) (b: int) (c: int) (gzip: bool) ->
            withTemp (fun dir ->
                let arr = randomArray seed rank3 a b c
                let path = Path.Combine(dir, "x-idx")
                Idx.write path arr gzip
                let back = Idx.read path
                back.Dims = arr.Dims && back.Data = arr.Data)

        test "gzip is detected by magic, not by extension" {
            withTemp (fun dir ->
                let arr = { Dims = [| 2; 3; 4 |]; Data = Array.init 24 byte }
                let gzNoExt = Path.Combine(dir, "plain-name")
                let rawGzExt = Path.Combine(dir, "looks.gz")
                Idx.write gzNoExt arr true
                Idx.write rawGzExt arr false
                Expect.isTrue (Idx.isGzip (File.ReadAllBytes gzNoExt)) "written compressed"
                Expect.equal (Idx.read gzNoExt).Data arr.Data "gzip without .gz"
                Expect.equal (Idx.read rawGzExt).Data arr.Data "raw with .gz")
        }

        test "the header is big-endian with magic 0x00000803" {
            let bytes = Idx.toBytes { Dims = [| 258; 1; 1 |]; Data = Array.zeroCreate 258 }
            Expect.equal bytes.[0..7] [| 0uy; 0uy; 8uy; 3uy; 0uy; 0uy; 1uy; 2uy |] "magic and first dimension"
        }

        test "wrong magic is rejected with the file name" {
            withTemp (fun dir ->
                let path = Path.Combine(dir, "bad-magic")
                let bytes = Idx.toBytes { Dims = [| 3 |]; Data = [| 1uy; 2uy; 3uy |] }
                bytes.[2] <- 0x0Duy // float type
                File.WriteAllBytes(path, bytes)
                rejects path "unsupported IDX element type" (fun () -> Idx.read path)
                bytes.[0] <- 0x12uy
                File.WriteAllBytes(path, bytes)
                rejects path "not an IDX file" (fun () -> Idx.read path))
        }

        test "a bad dimension count is rejected" {
            withTemp (fun dir ->
                let path = Path.Combine(dir, "rank2")
                // magic 0x00000802: a valid IDX rank, but not one of the two this reader accepts.
                File.WriteAllBytes(path, [| 0uy; 0uy; 8uy; 2uy; 0uy; 0uy; 0uy; 1uy; 0uy; 0uy; 0uy; 1uy; 7uy |])
                rejects path "bad dimension count 2" (fun () -> Idx.read path))
        }

        test "a truncated payload names expected and found sizes" {
            withTemp (fun dir ->
                let path = Path.Combine(dir, "train-images-idx3-ubyte")
                let bytes = Idx.toBytes { Dims = [| 10; 28; 28 |]; Data = Array.zeroCreate 7840 }
                File.WriteAllBytes(path, bytes.[0 .. 16 + 1200 - 1])
                rejects path "truncated: expected 7840 data bytes after the header but found 1200" (fun () -> Idx.read path))
        }

        test "a missing file is FileNotFoundException naming it" {
            let path = Path.Combine(Path.GetTempPath(), "no-such-idx-" + Guid.NewGuid().ToString("N"))
            try
                Idx.read path |> ignore
                failtest "expected FileNotFoundException"
            with :? FileNotFoundException as e -> Expect.stringContains e.Message path "names the file"
        }

        testPropertyWithConfig config "any truncation of a raw file is rejected" <| fun (seed: int) (cut: NonNegativeInt) ->
            withTemp (fun dir ->
                let path = Path.Combine(dir, "t-idx")
                let bytes = Idx.toBytes (randomArray seed true 3 4 5)
                let keep = cut.Get % bytes.Length
                File.WriteAllBytes(path, bytes.[0 .. keep - 1])
                rejects path "truncated" (fun () -> Idx.read path)
                true)

        testPropertyWithConfig config "any trailing bytes are rejected" <| fun (seed: int) (extra: PositiveInt) ->
            withTemp (fun dir ->
                let path = Path.Combine(dir, "trail-idx")
                let bytes = Idx.toBytes (randomArray seed false 17 0 0)
                File.WriteAllBytes(path, Array.append bytes (Array.create (1 + extra.Get % 50) 0uy))
                rejects path "trailing bytes" (fun () -> Idx.read path)
                true)

        testPropertyWithConfig config "any truncation of a gzip file is rejected" <| fun (seed: int) (cut: NonNegativeInt) ->
            withTemp (fun dir ->
                let full = Path.Combine(dir, "full-idx")
                Idx.write full (randomArray seed true 4 5 6) true
                let gz = File.ReadAllBytes full
                let path = Path.Combine(dir, "cut-idx.gz")
                File.WriteAllBytes(path, gz.[0 .. (cut.Get % gz.Length) - 1])
                try
                    Idx.read path |> ignore
                    false
                with :? InvalidDataException as e -> e.Message.Contains path)

        test "dimensions whose product overflows 64 bits are rejected, not read as an empty array" {
            withTemp (fun dir ->
                let path = Path.Combine(dir, "overflow-idx")
                // 2^21 * 2^21 * 2^22 = 2^64, which is 0 in wrapping int64 arithmetic: a header alone would pass as empty.
                File.WriteAllBytes(path, header [| 1 <<< 21; 1 <<< 21; 1 <<< 22 |])
                rejects path "more than a single array can hold" (fun () -> Idx.read path))
        }

        test "a header claiming 2^31-1 images is rejected without allocating for them" {
            withTemp (fun dir ->
                let path = Path.Combine(dir, "lying-idx")
                File.WriteAllBytes(path, Array.append (header [| Int32.MaxValue; 28; 28 |]) (Array.zeroCreate 1000))
                rejectsWithin (4L * 1016L + 65536L) path "more than a single array can hold" (fun () -> Idx.read path)
                // The same header honestly gzipped: the reader must not believe it either.
                File.WriteAllBytes(path, gzip (File.ReadAllBytes path))
                rejectsWithin (4L * (FileInfo path).Length + 65536L) path "more than a single array can hold" (fun () -> Idx.read path))
        }

        test "a gzip whose trailer understates its size stops decoding there instead of inflating the rest" {
            withTemp (fun dir ->
                let path = Path.Combine(dir, "understated-idx.gz")
                // 16 MB of an IDX file compress to about 16 KB; the trailer claims 1,000 bytes.
                let gz = gzip (Idx.toBytes { Dims = [| 20480; 28; 28 |]; Data = Array.zeroCreate (20480 * 784) })
                File.WriteAllBytes(path, withIsize 1000u gz)
                // readBytes (any file: texts, checksums) by the trailer alone; read by the IDX header too.
                rejectsWithin (8L * int64 gz.Length + 262144L) path "runs past the 1000 uncompressed bytes the trailer says" (fun () -> Idx.readBytes path)
                rejectsWithin (8L * int64 gz.Length + 262144L) path "gzip" (fun () -> Idx.read path))
        }

        test "a gzip trailer that overstates its size costs only the bytes really decoded" {
            withTemp (fun dir ->
                let path = Path.Combine(dir, "overstated.gz")
                // 64 KB of noise stay about 64 KB compressed; the trailer claims 32 MB, which deflate could produce
                // from that many bytes, so only decoding can show it false.
                let noise = Array.zeroCreate<byte> 65536
                Random(5).NextBytes noise
                let gz = gzip noise
                File.WriteAllBytes(path, withIsize (32u <<< 20) gz)
                rejectsWithin (8L * int64 gz.Length + 4L * 65536L + 65536L) path "corrupt gzip"
                    (fun () -> Idx.readBytes path))
        }

        test "a gzip bomb whose decompressed start is not an IDX header is rejected after the header" {
            withTemp (fun dir ->
                let path = Path.Combine(dir, "bomb-idx.gz")
                // 16 MB of zeros with an honest trailer: the header (magic 0x00000000) is wrong in its first 4 bytes.
                let gz = gzip (Array.zeroCreate (16 <<< 20))
                File.WriteAllBytes(path, gz)
                rejectsWithin (8L * int64 gz.Length + 262144L) path "unsupported IDX element type 0x00" (fun () -> Idx.read path))
        }

        test "a gzip trailer claiming more than deflate can produce from the file is rejected before decoding" {
            withTemp (fun dir ->
                let path = Path.Combine(dir, "claims-idx.gz")
                let gz = gzip (Idx.toBytes { Dims = [| 10 |]; Data = Array.zeroCreate 10 })
                File.WriteAllBytes(path, withIsize UInt32.MaxValue gz)
                rejectsWithin 65536L path "more than deflate can produce" (fun () -> Idx.readBytes path))
        }

        test "write rejects inconsistent arrays" {
            Expect.throwsT<ArgumentException> (fun () -> Idx.toBytes { Dims = [| 2; 2; 2 |]; Data = Array.zeroCreate 7 } |> ignore) "size mismatch"
            Expect.throwsT<ArgumentException> (fun () -> Idx.toBytes { Dims = [| 2; 2 |]; Data = Array.zeroCreate 4 } |> ignore) "rank 2"
        }
    ]
