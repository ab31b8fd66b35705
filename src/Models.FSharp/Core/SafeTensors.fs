namespace Generative

open System
open System.Collections.Generic
open System.IO
open System.Text
open System.Text.Json
open System.Text.Json.Nodes
open TorchSharp

/// Reading and writing the safetensors format (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then raw little-endian
/// tensor bytes. Python's `safetensors.torch.load_file` reads what this writes, and the reverse.
[<RequireQualifiedAccess>]
module SafeTensors =
    let private dtypeNames =
        [ torch.ScalarType.Float32, "F32"; torch.ScalarType.Float64, "F64"; torch.ScalarType.Float16, "F16"
          torch.ScalarType.BFloat16, "BF16"; torch.ScalarType.Int64, "I64"; torch.ScalarType.Int32, "I32"
          torch.ScalarType.Int16, "I16"; torch.ScalarType.Int8, "I8"; torch.ScalarType.Byte, "U8"
          torch.ScalarType.Bool, "BOOL" ]

    let private nameOf dt =
        match dtypeNames |> List.tryFind (fun (d, _) -> d = dt) with
        | Some (_, n) -> n
        | None -> raise (NotSupportedException(sprintf "safetensors: dtype %O is not supported" dt))

    /// Serialises named tensors (copied to the CPU, made contiguous) in the given order, with optional
    /// string metadata (the format's `__metadata__` entry).
    let toBytesWithMetadata (metadata: (string * string) list) (tensors: (string * Tensor) list) : byte[] =
        let header = JsonObject()
        if not metadata.IsEmpty then
            let m = JsonObject()
            for (k, v) in metadata do m[k] <- JsonValue.Create v
            header["__metadata__"] <- m
        let mutable offset = 0L
        let cpu =
            tensors |> List.map (fun (n, t) -> n, t.detach().cpu().contiguous())
        for (name, t) in cpu do
            let size = t.numel() * t.element_size()
            let entry = JsonObject()
            entry["dtype"] <- JsonValue.Create(nameOf t.dtype)
            entry["shape"] <- JsonArray(t.shape |> Array.map (fun d -> JsonValue.Create d :> JsonNode))
            entry["data_offsets"] <- JsonArray(JsonValue.Create offset, JsonValue.Create(offset + size))
            header[name] <- entry
            offset <- offset + size
        let json = Encoding.UTF8.GetBytes(header.ToJsonString())
        let padded = Array.append json (Array.create ((8 - json.Length % 8) % 8) (byte ' '))
        use ms = new MemoryStream()
        ms.Write(BitConverter.GetBytes(uint64 padded.Length), 0, 8)
        ms.Write(padded, 0, padded.Length)
        for (_, t) in cpu do
            ms.Write(t.bytes)
            t.Dispose()
        ms.ToArray()

    /// Serialises named tensors without metadata.
    let toBytes (tensors: (string * Tensor) list) : byte[] = toBytesWithMetadata [] tensors

    /// The `__metadata__` string map of safetensors bytes (empty when absent).
    let metadataOf (source: string) (bytes: byte[]) : (string * string) list =
        if bytes.Length < 8 then raise (InvalidDataException(sprintf "%s: not a valid safetensors file: too short" source))
        let headerLength = BitConverter.ToUInt64(bytes, 0)
        if headerLength > uint64 (bytes.Length - 8) then
            raise (InvalidDataException(sprintf "%s: not a valid safetensors file: header length %d exceeds the file size" source headerLength))
        let header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, int headerLength)).AsObject()
        match header["__metadata__"] with
        | null -> []
        | m -> [ for KeyValue (k, v) in m.AsObject() -> k, v.GetValue<string>() ]

    /// Parses safetensors bytes into named CPU tensors, in file order. `source` names the file in errors.
    let ofBytes (source: string) (bytes: byte[]) : (string * Tensor) list =
        let fail why = raise (InvalidDataException(sprintf "%s: not a valid safetensors file: %s" source why))
        if bytes.Length < 8 then fail "shorter than its 8-byte header length"
        let headerLength = BitConverter.ToUInt64(bytes, 0)
        if headerLength > uint64 (bytes.Length - 8) then fail (sprintf "header length %d exceeds the file size %d" headerLength bytes.Length)
        let dataStart = 8 + int headerLength
        let header =
            try JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, int headerLength)).AsObject()
            with e -> fail ("header is not JSON: " + e.Message)
        [ for KeyValue (name, node) in header do
            if name <> "__metadata__" then
                let dtypeName = node["dtype"].GetValue<string>()
                let dtype =
                    match dtypeNames |> List.tryFind (fun (_, n) -> n = dtypeName) with
                    | Some (d, _) -> d
                    | None -> fail (sprintf "tensor '%s' has unsupported dtype %s" name dtypeName)
                let shape = node["shape"].AsArray() |> Seq.map (fun d -> d.GetValue<int64>()) |> Array.ofSeq
                let offsets = node["data_offsets"].AsArray() |> Seq.map (fun d -> d.GetValue<int64>()) |> Array.ofSeq
                let t = torch.empty(shape, dtype = dtype)
                let expected = t.numel() * t.element_size()
                if offsets.Length <> 2 || offsets.[1] - offsets.[0] <> expected then
                    fail (sprintf "tensor '%s' has %A bytes for shape %A of %s" name offsets shape dtypeName)
                if int64 dataStart + offsets.[1] > int64 bytes.Length then
                    fail (sprintf "tensor '%s' runs past the end of the file (truncated?)" name)
                t.bytes <- Span<byte>(bytes, dataStart + int offsets.[0], int expected)
                yield name, t ]

    /// Writes named tensors to `path` atomically (temporary file, then rename).
    let save (path: string) (tensors: (string * Tensor) list) =
        AtomicFile.writeBytes path (toBytes tensors)

    /// Reads a safetensors file; errors name the file.
    let load (path: string) : (string * Tensor) list =
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "%s: file not found" path, path))
        ofBytes path (File.ReadAllBytes path)
