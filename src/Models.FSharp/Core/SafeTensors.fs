namespace Generative

open System
open System.Collections.Generic
open System.IO
open System.Security.Cryptography
open System.Text
open System.Text.Json
open System.Text.Json.Nodes
open TorchSharp

/// Reading and writing the safetensors format (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then raw little-endian
/// tensor bytes. Python's `safetensors.torch.load_file` reads what this writes, and the reverse.
///
/// Files are not trusted: the whole header is checked against the file (every dtype known, every shape a list of
/// non-negative integers whose bytes are exactly its `data_offsets` span, the spans within the file, in order,
/// without overlap or holes, as the format requires) before any tensor is allocated, so a damaged or hostile header
/// costs at most the file's size in memory; every problem is an InvalidDataException naming the file. Files written
/// here also carry a SHA-256 digest of their tensors and metadata (`digestKey`), checked on reading when present.
[<RequireQualifiedAccess>]
module SafeTensors =
    /// Each supported dtype: its libtorch type, its name in the format and its size in bytes.
    let private dtypes =
        [ torch.ScalarType.Float32, "F32", 4; torch.ScalarType.Float64, "F64", 8; torch.ScalarType.Float16, "F16", 2
          torch.ScalarType.BFloat16, "BF16", 2; torch.ScalarType.Int64, "I64", 8; torch.ScalarType.Int32, "I32", 4
          torch.ScalarType.Int16, "I16", 2; torch.ScalarType.Int8, "I8", 1; torch.ScalarType.Byte, "U8", 1
          torch.ScalarType.Bool, "BOOL", 1 ]

    let private nameOf dt =
        match dtypes |> List.tryFind (fun (d, _, _) -> d = dt) with
        | Some (_, n, _) -> n
        | None -> raise (NotSupportedException(sprintf "safetensors: dtype %O is not supported" dt))

    /// The metadata key of the SHA-256 digest this library writes into every file: over the metadata (this key
    /// aside), each tensor's name, dtype, shape and offsets, and the tensor bytes, so that a changed byte anywhere in
    /// what a reader loads is caught. Files without it (older versions, other writers) are read unverified.
    let digestKey = "generative.sha256"

    /// The most dimensions a tensor may have: libtorch has no small hard limit, but no real tensor comes near this,
    /// and a damaged header must not make it build a shape of thousands of dimensions.
    let private maxRank = 64

    /// One tensor's header entry, checked against the file: offsets are relative to the data section.
    type private Entry = { Name: string; DType: torch.ScalarType; DTypeName: string; Shape: int64[]; Begin: int64; End: int64 }

    /// A checked header: metadata in file order (the digest included), tensor entries in file order, where the data
    /// section starts.
    type private Header = { Metadata: (string * string) list; Entries: Entry list; DataStart: int }

    /// A hash fed the digest's header part (see `digestKey`); the caller appends the tensor bytes. Fields are
    /// length-prefixed so that no two different headers feed the hash the same bytes.
    let private startDigest (metadata: (string * string) list) (entries: (string * string * int64[] * int64 * int64) list) =
        let hash = IncrementalHash.CreateHash HashAlgorithmName.SHA256
        let int64s (values: int64 seq) = for v in values do hash.AppendData(BitConverter.GetBytes v)
        let text (s: string) =
            let b = Encoding.UTF8.GetBytes s
            int64s [ int64 b.Length ]
            hash.AppendData b
        text "safetensors-digest-1"
        for (k, v) in metadata do
            if k <> digestKey then
                text "m"; text k; text v
        for (name, dtype, shape, b, e) in entries do
            text "t"; text name; text dtype
            int64s [ int64 shape.Length ]
            int64s shape
            int64s [ b; e ]
        hash

    /// The digest's text: lower-case hexadecimal.
    let private finishDigest (hash: IncrementalHash) = Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant()

    /// A strict UTF-8 decoder: invalid bytes in a header are damage, not characters to replace.
    let private strictUtf8 = UTF8Encoding(false, true)

    /// The object's properties by name; a name given twice is an error (readers would disagree on which one wins).
    let private propertiesOf (fail: string -> unit) (what: string) (element: JsonElement) =
        if element.ValueKind <> JsonValueKind.Object then fail (sprintf "%s is a JSON %O, not an object" what element.ValueKind)
        let props = Dictionary<string, JsonElement>()
        for p in element.EnumerateObject() do
            if props.ContainsKey p.Name then fail (sprintf "%s has '%s' twice" what p.Name)
            props[p.Name] <- p.Value
        props

    /// Reads and checks the whole header against the file, allocating nothing in proportion to what it claims.
    let private readHeader (source: string) (bytes: byte[]) : Header =
        let fail why : 'a = raise (InvalidDataException(sprintf "%s: not a valid safetensors file: %s" source why))
        if bytes.Length < 8 then fail (sprintf "%d bytes, shorter than its 8-byte header length" bytes.Length)
        let headerLength = BitConverter.ToUInt64(bytes, 0)
        if headerLength > uint64 (bytes.Length - 8) then
            fail (sprintf "header length %d exceeds the file size %d (truncated, or not a safetensors file)" headerLength bytes.Length)
        let dataStart = 8 + int headerLength
        let dataLength = int64 (bytes.Length - dataStart)
        let json =
            try strictUtf8.GetString(bytes, 8, int headerLength)
            with :? DecoderFallbackException -> fail "the header is not valid UTF-8 text"
        use doc =
            try JsonDocument.Parse json
            with :? JsonException as e -> fail ("the header is not JSON: " + e.Message)
        let root = propertiesOf fail "the header" doc.RootElement
        let metadata =
            match root.TryGetValue "__metadata__" with
            | true, m ->
                [ for KeyValue (k, v) in propertiesOf fail "__metadata__" m do
                    if v.ValueKind <> JsonValueKind.String then fail (sprintf "metadata '%s' is a JSON %O, not a string" k v.ValueKind)
                    yield k, v.GetString() ]
            | false, _ -> []
        let entries =
            [ for KeyValue (name, node) in root do
                if name <> "__metadata__" then
                    let what = sprintf "tensor '%s'" name
                    let entry = propertiesOf fail what node
                    let field key =
                        match entry.TryGetValue key with
                        | true, v -> v
                        | false, _ -> fail (sprintf "%s has no %s" what key)
                    let dtypeNode = field "dtype"
                    if dtypeNode.ValueKind <> JsonValueKind.String then fail (sprintf "%s: dtype is a JSON %O, not a string" what dtypeNode.ValueKind)
                    let dtypeName = dtypeNode.GetString()
                    let dtype, elementSize =
                        match dtypes |> List.tryFind (fun (_, n, _) -> n = dtypeName) with
                        | Some (d, _, size) -> d, int64 size
                        | None -> fail (sprintf "%s has unsupported dtype '%s'" what dtypeName)
                    let integers key (node: JsonElement) =
                        if node.ValueKind <> JsonValueKind.Array then fail (sprintf "%s: %s is a JSON %O, not an array" what key node.ValueKind)
                        if node.GetArrayLength() > maxRank then fail (sprintf "%s: %s has %d entries (at most %d)" what key (node.GetArrayLength()) maxRank)
                        [| for v in node.EnumerateArray() do
                            let isInteger, n = if v.ValueKind = JsonValueKind.Number then v.TryGetInt64() else (false, 0L)
                            if not isInteger || n < 0L then
                                fail (sprintf "%s: %s holds %s, not a non-negative 64-bit integer" what key (v.GetRawText()))
                            yield n |]
                    let shape = integers "shape" (field "shape")
                    let offsets = integers "data_offsets" (field "data_offsets")
                    if offsets.Length <> 2 then fail (sprintf "%s: data_offsets has %d entries, not 2 (begin, end)" what offsets.Length)
                    let b, e = offsets.[0], offsets.[1]
                    if b > e then fail (sprintf "%s: data_offsets [%d, %d] end before they begin" what b e)
                    if e > dataLength then
                        fail (sprintf "%s: data_offsets [%d, %d] run past the end of the data (%d bytes; truncated?)" what b e dataLength)
                    // The size the shape needs, computed without overflow: a product that would pass the data's length
                    // is refused before it is formed.
                    let needed =
                        if Array.contains 0L shape then 0L
                        else
                            shape |> Array.fold (fun acc d ->
                                if acc > dataLength / d then fail (sprintf "%s: shape %A of %s needs more bytes than the file holds" what shape dtypeName)
                                acc * d) elementSize
                    if e - b <> needed then
                        fail (sprintf "%s: shape %A of %s needs %d bytes but data_offsets [%d, %d] give %d" what shape dtypeName needed b e (e - b))
                    yield { Name = name; DType = dtype; DTypeName = dtypeName; Shape = shape; Begin = b; End = e } ]
        // The format requires the tensors to cover the data section exactly: no overlap, no hole, nothing after.
        let mutable covered = 0L
        for entry in entries |> List.sortBy (fun x -> x.Begin, x.End) do
            if entry.Begin < covered then fail (sprintf "tensor '%s' overlaps the tensor before it (data_offsets begin at %d, before %d)" entry.Name entry.Begin covered)
            if entry.Begin > covered then fail (sprintf "bytes %d to %d of the data belong to no tensor" covered entry.Begin)
            covered <- entry.End
        if covered <> dataLength then fail (sprintf "%d bytes after the last tensor's data (the data section has %d, the tensors use %d)" (dataLength - covered) dataLength covered)
        { Metadata = metadata; Entries = entries; DataStart = dataStart }

    /// Serialises named tensors (copied to the CPU, made contiguous) in the given order, with optional
    /// string metadata (the format's `__metadata__` entry) followed by the file's digest (`digestKey`). A name given
    /// twice (or a tensor named `__metadata__`) is an ArgumentException: JSON would keep one of them.
    let toBytesWithMetadata (metadata: (string * string) list) (tensors: (string * Tensor) list) : byte[] =
        let metadata = metadata |> List.filter (fun (k, _) -> k <> digestKey)
        let twice (names: string list) = names |> List.countBy id |> List.tryFind (fun (_, n) -> n > 1) |> Option.map fst
        match twice (List.map fst metadata), twice ("__metadata__" :: List.map fst tensors) with
        | Some key, _ -> Errors.invalidArg "metadata" "distinct keys" (sprintf "'%s' twice" key)
        | _, Some name -> Errors.invalidArg "tensors" "distinct names other than __metadata__" (sprintf "'%s' twice" name)
        | None, None -> ()
        let cpu = tensors |> List.map (fun (n, t) -> n, t.detach().cpu().contiguous())
        try
            let entries =
                cpu |> List.mapFold (fun offset (name, t) ->
                    let size = t.numel() * t.element_size()
                    (name, nameOf t.dtype, t.shape, offset, offset + size), offset + size) 0L
                |> fst
            let digest =
                use hash = startDigest metadata entries
                for (_, t) in cpu do hash.AppendData(Span.op_Implicit t.bytes : ReadOnlySpan<byte>)
                finishDigest hash
            let header = JsonObject()
            let m = JsonObject()
            for (k, v) in metadata do m[k] <- JsonValue.Create v
            m[digestKey] <- JsonValue.Create digest
            header["__metadata__"] <- m
            for (name, dtype, shape, b, e) in entries do
                let entry = JsonObject()
                entry["dtype"] <- JsonValue.Create dtype
                entry["shape"] <- JsonArray(shape |> Array.map (fun d -> JsonValue.Create d :> JsonNode))
                entry["data_offsets"] <- JsonArray(JsonValue.Create b, JsonValue.Create e)
                header[name] <- entry
            let json = Encoding.UTF8.GetBytes(header.ToJsonString())
            let padded = Array.append json (Array.create ((8 - json.Length % 8) % 8) (byte ' '))
            use ms = new MemoryStream()
            ms.Write(BitConverter.GetBytes(uint64 padded.Length), 0, 8)
            ms.Write(padded, 0, padded.Length)
            for (_, t) in cpu do ms.Write(t.bytes)
            ms.ToArray()
        finally
            for (_, t) in cpu do t.Dispose()

    /// Serialises named tensors without metadata (the digest aside).
    let toBytes (tensors: (string * Tensor) list) : byte[] = toBytesWithMetadata [] tensors

    /// The `__metadata__` string map of safetensors bytes (empty when absent), without the digest; the whole header
    /// is checked (InvalidDataException naming `source`), the tensor bytes are not (`ofBytes` checks them).
    let metadataOf (source: string) (bytes: byte[]) : (string * string) list =
        (readHeader source bytes).Metadata |> List.filter (fun (k, _) -> k <> digestKey)

    /// Parses safetensors bytes into named CPU tensors, in file order. `source` names the file in errors, which are
    /// all InvalidDataException and come before any tensor is allocated: a bad header, or a digest that does not
    /// match ("sha256 mismatch").
    let ofBytes (source: string) (bytes: byte[]) : (string * Tensor) list =
        let header = readHeader source bytes
        match header.Metadata |> List.tryFind (fun (k, _) -> k = digestKey) with
        | Some (_, recorded) ->
            let entries = [ for e in header.Entries -> e.Name, e.DTypeName, e.Shape, e.Begin, e.End ]
            let actual =
                use hash = startDigest header.Metadata entries
                hash.AppendData(bytes, header.DataStart, bytes.Length - header.DataStart)
                finishDigest hash
            if actual <> recorded then
                raise (InvalidDataException(sprintf "%s: sha256 mismatch: the file was changed or damaged after it was written (its tensors or metadata no longer give the digest it records)" source))
        | None -> ()
        let tensors = List<string * Tensor>()
        try
            for e in header.Entries do
                let t = torch.empty(e.Shape, dtype = e.DType)
                tensors.Add((e.Name, t))
                t.bytes <- Span<byte>(bytes, header.DataStart + int e.Begin, int (e.End - e.Begin))
            List.ofSeq tensors
        with _ ->
            for (_, t) in tensors do t.Dispose()
            reraise ()

    /// Writes named tensors to `path` atomically (temporary file, then rename).
    let save (path: string) (tensors: (string * Tensor) list) =
        AtomicFile.writeBytes path (toBytes tensors)

    /// Reads a safetensors file; errors name the file (FileNotFoundException when it is missing).
    let load (path: string) : (string * Tensor) list =
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "%s: file not found" path, path))
        ofBytes path (File.ReadAllBytes path)
