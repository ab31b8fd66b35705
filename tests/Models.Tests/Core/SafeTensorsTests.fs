module Generative.Tests.Core.SafeTensorsTests

open System
open System.IO
open System.Text
open System.Text.Json.Nodes
open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// A safetensors file taken apart: its JSON header and its data section.
let splitFile (bytes: byte[]) : JsonObject * byte[] =
    let length = int (BitConverter.ToUInt64(bytes, 0))
    JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, length)).AsObject(), bytes.[8 + length ..]

/// A safetensors file put together from a header (as JSON text) and a data section, padded as the writer pads.
let joinText (header: string) (data: byte[]) : byte[] =
    let json = Encoding.UTF8.GetBytes header
    let padded = Array.append json (Array.create ((8 - json.Length % 8) % 8) (byte ' '))
    Array.concat [ BitConverter.GetBytes(uint64 padded.Length); padded; data ]

/// A safetensors file put together from a header and a data section.
let joinFile (header: JsonObject) (data: byte[]) : byte[] = joinText (header.ToJsonString()) data

/// The file without its `__metadata__` (and so without its digest): what other writers and earlier versions wrote,
/// which only the header checks guard.
let withoutDigest (bytes: byte[]) : byte[] =
    let header, data = splitFile bytes
    header.Remove "__metadata__" |> ignore
    joinFile header data

/// Two small tensors of different dtypes, as a file with its digest.
let sample () : byte[] =
    use a = torch.arange(6, dtype = torch.float32).reshape(2L, 3L)
    use b = torch.tensor([| 7L; -8L |])
    SafeTensors.toBytes [ "a", a; "b", b ]

/// The named tensors as (name, dtype, shape, bytes), to compare loaded data.
let contentsOf (tensors: (string * torch.Tensor) list) =
    tensors |> List.map (fun (n, t) -> n, t.dtype, t.shape, t.bytes.ToArray())

/// Expects `ofBytes` to fail with InvalidDataException naming the file and saying `why`.
let private expectRefused (bytes: byte[]) (why: string) =
    let e = TestData.raises<InvalidDataException> (fun () -> SafeTensors.ofBytes "edited.safetensors" bytes |> ignore)
    Expect.stringContains e.Message "edited.safetensors" "the error names the file"
    Expect.stringContains e.Message why "and says what is wrong"

/// The sample's header with tensor "a"'s entry edited by `edit`, without a digest (so only the header checks apply).
let private editA (edit: JsonObject -> unit) =
    let header, data = splitFile (withoutDigest (sample ()))
    edit (header["a"].AsObject())
    joinFile header data

[<Tests>]
let tests =
    testList "Core.SafeTensors" [
        test "every dtype round-trips, with metadata, and the digest is not part of the metadata read back" {
            let tensors =
                [ "f32", torch.rand(3L, 2L); "f64", torch.rand(2L, dtype = torch.float64); "f16", torch.rand(4L).to_type(torch.float16)
                  "bf16", torch.rand(4L).to_type(torch.bfloat16); "i64", torch.tensor([| 1L; -2L |]); "i32", torch.tensor([| 3; 4 |])
                  "i16", torch.tensor([| 5s |]); "i8", torch.tensor([| -6y |]); "u8", torch.tensor([| 9uy |])
                  "bool", torch.tensor([| true; false |]); "empty", torch.zeros(0L, 5L) ]
            let bytes = SafeTensors.toBytesWithMetadata [ "k", "v" ] tensors
            Expect.equal (SafeTensors.metadataOf "x" bytes) [ "k", "v" ] "the caller's metadata, without the digest"
            let header, _ = splitFile bytes
            Expect.isNotNull (header["__metadata__"][SafeTensors.digestKey]) "the file carries its digest"
            Expect.equal (contentsOf (SafeTensors.ofBytes "x" bytes)) (contentsOf tensors) "same names, dtypes, shapes and bytes"
            Expect.equal (contentsOf (SafeTensors.ofBytes "x" (withoutDigest bytes))) (contentsOf tensors) "a file without a digest loads too"
        }

        test "writing a name twice is refused: JSON would keep only one of them" {
            use t = torch.ones(2L)
            let e = TestData.raises<ArgumentException> (fun () -> SafeTensors.toBytes [ "a", t; "a", t ] |> ignore)
            Expect.equal e.ParamName "tensors" "names the tensors"
            let e = TestData.raises<ArgumentException> (fun () -> SafeTensors.toBytesWithMetadata [ "k", "1"; "k", "2" ] [ "a", t ] |> ignore)
            Expect.equal e.ParamName "metadata" "names the metadata"
            TestData.raises<ArgumentException> (fun () -> SafeTensors.toBytes [ "__metadata__", t ] |> ignore) |> ignore
        }

        test "a changed data byte is a sha256 mismatch naming the file" {
            let bytes = sample ()
            let damaged = Array.copy bytes
            damaged.[damaged.Length - 3] <- damaged.[damaged.Length - 3] ^^^ 0x10uy
            expectRefused damaged "sha256 mismatch: the file was changed or damaged after it was written"
        }

        test "a header entry without dtype, shape or data_offsets, or with a value of the wrong JSON type, is named" {
            for key in [ "dtype"; "shape"; "data_offsets" ] do
                expectRefused (editA (fun a -> a.Remove key |> ignore)) (sprintf "tensor 'a' has no %s" key)
            expectRefused (editA (fun a -> a["dtype"] <- JsonValue.Create 5)) "dtype is a JSON Number, not a string"
            expectRefused (editA (fun a -> a["dtype"] <- JsonValue.Create "F128")) "unsupported dtype 'F128'"
            expectRefused (editA (fun a -> a["shape"] <- JsonValue.Create "2,3")) "shape is a JSON String, not an array"
            expectRefused (editA (fun a -> a["shape"] <- JsonArray(JsonValue.Create "2", JsonValue.Create 3))) "shape holds \"2\""
            expectRefused (editA (fun a -> a["shape"] <- JsonArray(JsonValue.Create 2.5, JsonValue.Create 3))) "shape holds 2.5"
            expectRefused (editA (fun a -> a["data_offsets"] <- JsonArray(JsonValue.Create 0))) "data_offsets has 1 entries, not 2"
            let header, data = splitFile (withoutDigest (sample ()))
            header["a"] <- JsonValue.Create "F32"
            expectRefused (joinFile header data) "tensor 'a' is a JSON String, not an object"
            expectRefused (joinText "[1, 2]" data) "the header is a JSON Array, not an object"
            expectRefused (joinText "{\"a\": {" data) "the header is not JSON"
            expectRefused (joinText """{"__metadata__": {"k": 1}}""" [||]) "metadata 'k' is a JSON Number, not a string"
        }

        test "a huge shape is refused before anything is allocated, a negative one before libtorch sees it" {
            let before = GC.GetAllocatedBytesForCurrentThread()
            // 999999999 x 784 floats would be 3.1 TB.
            expectRefused (editA (fun a -> a["shape"] <- JsonArray(JsonValue.Create 999999999L, JsonValue.Create 784L))) "needs more bytes than the file holds"
            // The same, with offsets that agree with the shape: the file is still far too short.
            expectRefused (editA (fun a ->
                a["shape"] <- JsonArray(JsonValue.Create 999999999L, JsonValue.Create 784L)
                a["data_offsets"] <- JsonArray(JsonValue.Create 0L, JsonValue.Create(999999999L * 784L * 4L)))) "run past the end of the data"
            // A product that overflows 64 bits.
            expectRefused (editA (fun a -> a["shape"] <- JsonArray(JsonValue.Create Int64.MaxValue, JsonValue.Create Int64.MaxValue))) "needs more bytes than the file holds"
            Expect.isLessThan (GC.GetAllocatedBytesForCurrentThread() - before) (1L <<< 20) "well under a megabyte of managed memory for all three"
            expectRefused (editA (fun a -> a["shape"] <- JsonArray(JsonValue.Create -2L, JsonValue.Create -3L))) "shape holds -2, not a non-negative 64-bit integer"
            expectRefused (editA (fun a -> a["shape"] <- JsonArray([| for _ in 1 .. 100 -> JsonValue.Create 1 :> JsonNode |]))) "shape has 100 entries (at most 64)"
        }

        test "offsets that overlap, leave a hole, end before they begin, or pass the end are named" {
            // "a" is 2x3 F32 (24 bytes at [0, 24]), "b" two I64 (16 bytes at [24, 40]).
            let offsets (b: int64) (e: int64) = editA (fun a -> a["data_offsets"] <- JsonArray(JsonValue.Create b, JsonValue.Create e))
            let header, data = splitFile (withoutDigest (sample ()))
            header["b"]["data_offsets"] <- JsonArray(JsonValue.Create 16L, JsonValue.Create 32L)
            expectRefused (joinFile header data) "tensor 'b' overlaps the tensor before it"
            expectRefused (offsets 24L 0L) "end before they begin"
            expectRefused (offsets 40L 64L) "run past the end of the data"
            expectRefused (offsets 0L 16L) "needs 24 bytes but data_offsets [0, 16] give 16"
            // Both tensors moved up by 8 bytes: the first 8 bytes of data belong to no tensor.
            let header, data = splitFile (withoutDigest (sample ()))
            header["a"]["data_offsets"] <- JsonArray(JsonValue.Create 8L, JsonValue.Create 32L)
            header["b"]["data_offsets"] <- JsonArray(JsonValue.Create 32L, JsonValue.Create 48L)
            expectRefused (joinFile header (Array.append (Array.zeroCreate 8) data)) "bytes 0 to 8 of the data belong to no tensor"
            expectRefused (Array.append (withoutDigest (sample ())) [| 1uy; 2uy |]) "2 bytes after the last tensor's data"
            // The format lets the header list tensors in any order: only the data must be covered exactly.
            let swapped, data = splitFile (withoutDigest (sample ()))
            let b = swapped["b"].DeepClone()
            swapped.Remove "b" |> ignore
            let reordered = JsonObject()
            reordered["b"] <- b
            reordered["a"] <- swapped["a"].DeepClone()
            Expect.equal (SafeTensors.ofBytes "x" (joinFile reordered data) |> contentsOf |> List.sortBy (fun (n, _, _, _) -> n))
                (SafeTensors.ofBytes "x" (sample ()) |> contentsOf) "the same tensors"
        }

        test "a header length past the file or past 32 bits, a file shorter than 8 bytes, and a name given twice are named" {
            let bytes = sample ()
            let lying (length: uint64) = Array.append (BitConverter.GetBytes length) bytes.[8..]
            expectRefused (lying (uint64 bytes.Length)) "exceeds the file size"
            expectRefused (lying (1UL <<< 40)) "exceeds the file size"
            expectRefused (lying UInt64.MaxValue) "exceeds the file size"
            expectRefused bytes.[.. 4] "shorter than its 8-byte header length"
            let _, data = splitFile (withoutDigest bytes)
            expectRefused (joinText """{"a":{"dtype":"F32","shape":[6],"data_offsets":[0,24]},"a":{"dtype":"I64","shape":[2],"data_offsets":[24,40]}}""" data)
                "the header has 'a' twice"
            let notUtf8 = joinText """{"a":{"dtype":"F32","shape":[6],"data_offsets":[0,24]},"b":{"dtype":"I64","shape":[2],"data_offsets":[24,40]}}""" data
            notUtf8.[10] <- 0xFFuy
            expectRefused notUtf8 "not valid UTF-8"
        }

        test "a missing file is a FileNotFoundException naming it" {
            let path = Path.Combine(TestData.tempFolder "st", "missing.safetensors")
            let e = TestData.raises<FileNotFoundException> (fun () -> SafeTensors.load path |> ignore)
            Expect.equal e.FileName path "names the file"
        }
    ]
