/// Fuzzing the IDX readers and the folder loaders with damaged files, raw and gzip: every input either loads exactly
/// what its bytes hold (checked against a decoding written here from the format, independent of the library) or fails
/// with InvalidDataException naming the file. Never another exception type, and never an allocation larger than a
/// small multiple of what the file really holds: a reader that believes a size field allocates what the field claims.
module Generative.Tests.Fuzz.IdxFuzzTests

open System
open System.Buffers.Binary
open System.IO
open System.IO.Compression
open System.Numerics
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Generative
open Generative.Tests.Fuzz.Mutation

// ---- the files --------------------------------------------------------------------------------------------------

/// One split of a small MNIST-layout data set: `count` 28x28 images (a bar whose row follows the label, plus a few
/// noisy pixels, so gzip has something to compress and something it cannot) and their labels, as IDX bytes.
let private split (count: int) (seed: int) : byte[] * byte[] =
    let rng = Random(seed)
    let labels = Array.init count (fun _ -> byte (rng.Next 10))
    let pixels = Array.zeroCreate<byte> (count * 784)
    for i in 0 .. count - 1 do
        let row = 2 + 2 * int labels.[i]
        for r in row .. row + 2 do
            for c in 4 .. 23 do pixels.[i * 784 + r * 28 + c] <- 255uy
        for _ in 1 .. 20 do pixels.[i * 784 + rng.Next 784] <- byte (rng.Next 256)
    Idx.toBytes { Dims = [| count; 28; 28 |]; Data = pixels }, Idx.toBytes { Dims = [| count |]; Data = labels }

/// The four standard files (in `Datasets.standardFileNames` order): 20 training and 10 test images with labels.
let private originals : (string * byte[]) list =
    let trainImages, trainLabels = split 20 1
    let testImages, testLabels = split 10 2
    List.zip Datasets.standardFileNames [ trainImages; trainLabels; testImages; testLabels ]

/// Gzip-compressed bytes (deterministic for given input: no file name, and .NET writes a zero MTIME).
let private gzip (bytes: byte[]) =
    use ms = new MemoryStream()
    do
        use gz = new GZipStream(ms, CompressionLevel.Optimal, true)
        gz.Write(bytes, 0, bytes.Length)
    ms.ToArray()

let private withTemp (f: string -> 'a) =
    let dir = Path.Combine(Path.GetTempPath(), "generative-idx-fuzz-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory dir |> ignore
    try f dir finally (try Directory.Delete(dir, true) with _ -> ())

// ---- the reference decoding -------------------------------------------------------------------------------------

/// What an IDX file holds by the format (unsigned bytes, rank 1 or 3, big-endian sizes, a payload of exactly their
/// product), with arbitrary-precision sizes so no overflow can hide a lie; None when it is not such a file.
let private referenceIdx (bytes: byte[]) : (int[] * byte[]) option =
    if bytes.Length < 4 || bytes.[0] <> 0uy || bytes.[1] <> 0uy || bytes.[2] <> 8uy || (bytes.[3] <> 1uy && bytes.[3] <> 3uy) then None
    else
        let rank = int bytes.[3]
        let header = 4 + 4 * rank
        if bytes.Length < header then None
        else
            let dims = Array.init rank (fun i -> BinaryPrimitives.ReadInt32BigEndian(ReadOnlySpan(bytes, 4 + 4 * i, 4)))
            let size = dims |> Array.fold (fun acc d -> acc * BigInteger d) BigInteger.One
            if dims |> Array.exists (fun d -> d < 0) || size <> BigInteger(bytes.Length - header) then None
            else Some(dims, bytes.[header..])

/// More than any mutation of the small files here can honestly decode to; the reference stops there.
let private decodeCap = 1L <<< 26

/// The bytes a gzip file holds by the format: the stream decoded (GZipStream checks each member's CRC-32), and the
/// trailer's ISIZE (its last 4 bytes, little-endian) equal to the decoded length; None when damaged. Also how many
/// bytes the stream really decodes to before it ends or fails, which bounds what a reader may allocate.
let private referenceGunzip (bytes: byte[]) : byte[] option * int64 =
    use input = new GZipStream(new MemoryStream(bytes, false), CompressionMode.Decompress)
    use out = new MemoryStream()
    let buffer = Array.zeroCreate<byte> 65536
    let mutable total = 0L
    let mutable intact = true
    let mutable fin = false
    while not fin do
        match (try Some(input.Read(buffer, 0, buffer.Length)) with _ -> None) with
        | None -> intact <- false; fin <- true
        | Some 0 -> fin <- true
        | Some n ->
            total <- total + int64 n
            if total > decodeCap then intact <- false; fin <- true
            else out.Write(buffer, 0, n)
    let n = bytes.Length
    let isize = if n >= 4 then BinaryPrimitives.ReadUInt32LittleEndian(ReadOnlySpan(bytes, n - 4, 4)) else 0u
    (if intact && n >= 18 && int64 isize = total then Some(out.ToArray()) else None), total

let private isGzip (bytes: byte[]) = bytes.Length >= 2 && bytes.[0] = 0x1fuy && bytes.[1] = 0x8buy

/// A file's uncompressed content by the format (gzip recognised by its magic bytes, as the library does), and how many
/// bytes it really decodes to.
let private referenceContent (bytes: byte[]) : byte[] option * int64 =
    if isGzip bytes then referenceGunzip bytes else Some bytes, int64 bytes.Length

/// What `Idx.read` must return for a file's bytes, and how many bytes the file really decodes to.
let private referenceRead (bytes: byte[]) : (int[] * byte[]) option * int64 =
    let content, decoded = referenceContent bytes
    Option.bind referenceIdx content, decoded

/// What a reader may allocate for a file: 8 times its size plus 4 times what it really decodes to, plus 64 KB of
/// fixed costs (stream buffers, messages). Never what a header or trailer merely claims.
let private allocationBound (fileLength: int) (decoded: int64) = 8L * int64 fileLength + 4L * decoded + 65536L

// ---- generated damage -------------------------------------------------------------------------------------------

/// A few byte mutations (one to four). Positions are drawn from the whole int range, so after `Mutation.apply` takes
/// them modulo the length they land anywhere in the file, not only in its first hundred bytes.
type Mutations = Mutations of ByteMutation list

/// A value to write into a header field: the edge values a damaged or hostile header holds.
type SizeEdit =
    | Zero
    | One
    | MinusOne
    | MaxValue
    | MinValue
    /// 2^(n mod 31).
    | PowerOfTwo of int
    /// The field's value plus n.
    | Plus of int
    /// The field's value times n (wrapping, as a corrupt field may).
    | Times of int
    | Other of int

/// A change to an IDX header, applied to the uncompressed bytes.
type HeaderEdit =
    /// The whole 4-byte magic number.
    | Magic of int
    /// The element type code (third byte of the magic; 0x08 is unsigned byte).
    | TypeCode of byte
    /// The dimension count (fourth byte of the magic).
    | Rank of byte
    /// One dimension's size (index modulo the rank): a lying length.
    | Dimension of index: int * size: SizeEdit
    /// A consistent lie: the first dimension set to n mod 41 and the payload cut or zero-padded to match.
    | Count of int
    /// The payload cut or zero-padded to a new length (clamped to 0 .. 4x its length + 64): a header that no longer
    /// matches, or matches a lie (all dimensions' product wrapping to 0 over an empty payload, say).
    | Payload of SizeEdit

/// The generators FsCheck uses for `Mutations` (its own derivation would draw positions below 100 only).
type Generators =
    static member Mutations() : Arbitrary<Mutations> =
        let anywhere = Gen.choose (0, Int32.MaxValue)
        let someBytes = Gen.choose (0, 64) |> Gen.bind (fun n -> Gen.arrayOfLength n (Gen.choose (0, 255) |> Gen.map byte))
        let one =
            Gen.oneof
                [ Gen.map2 (fun p b -> FlipBit(p, b)) anywhere (Gen.choose (0, 7))
                  Gen.map2 (fun p v -> SetByte(p, byte v)) anywhere (Gen.choose (0, 255))
                  Gen.map Truncate anywhere
                  Gen.map2 (fun p b -> Insert(p, b)) anywhere someBytes
                  Gen.map2 (fun p c -> Remove(p, c)) anywhere (Gen.choose (0, 63))
                  Gen.map Append someBytes ]
        Gen.choose (1, 4) |> Gen.bind (fun n -> Gen.listOfLength n one) |> Gen.map Mutations |> Arb.fromGen

let private config = { Mutation.config with arbitrary = [ typeof<Generators> ] }

let private sizeValue (original: int) (edit: SizeEdit) =
    match edit with
    | Zero -> 0
    | One -> 1
    | MinusOne -> -1
    | MaxValue -> Int32.MaxValue
    | MinValue -> Int32.MinValue
    | PowerOfTwo n -> 1 <<< (abs (n % 31))
    | Plus n -> original + n
    | Times n -> original * n
    | Other n -> n

let private applyEdit (bytes: byte[]) (edit: HeaderEdit) : byte[] =
    let copy = Array.copy bytes
    let writeInt (offset: int) (value: int) =
        if offset + 4 <= copy.Length then BinaryPrimitives.WriteInt32BigEndian(Span(copy, offset, 4), value)
    let rank = if copy.Length >= 4 then max 1 (int copy.[3] % 4) else 1
    match edit with
    | Magic m -> writeInt 0 m; copy
    | TypeCode t -> (if copy.Length > 2 then copy.[2] <- t); copy
    | Rank r -> (if copy.Length > 3 then copy.[3] <- r); copy
    | Dimension (i, size) ->
        let offset = 4 + 4 * (abs (i % rank))
        if offset + 4 <= copy.Length then writeInt offset (sizeValue (BinaryPrimitives.ReadInt32BigEndian(ReadOnlySpan(copy, offset, 4))) size)
        copy
    | Count n when copy.Length >= 8 ->
        let count = abs (n % 41)
        let header = 4 + 4 * rank
        let rowBytes =
            if rank = 3 && copy.Length >= 16 then
                int64 (BinaryPrimitives.ReadInt32BigEndian(ReadOnlySpan(copy, 8, 4))) * int64 (BinaryPrimitives.ReadInt32BigEndian(ReadOnlySpan(copy, 12, 4)))
            else 1L
        writeInt 4 count
        // Only when the row size is sane: a consistent lie, not a huge allocation in the test itself.
        if header <= copy.Length && rowBytes >= 0L && rowBytes <= 4096L then
            let payload = copy.[header..]
            let wanted = int (int64 count * rowBytes)
            Array.append copy.[.. header - 1] (if wanted <= payload.Length then payload.[.. wanted - 1] else Array.append payload (Array.zeroCreate (wanted - payload.Length)))
        else copy
    | Count _ -> copy
    | Payload size ->
        let header = min copy.Length (4 + 4 * rank)
        let payload = copy.[header..]
        let wanted = sizeValue payload.Length size |> max 0 |> min (4 * payload.Length + 64)
        Array.append copy.[.. header - 1] (if wanted <= payload.Length then payload.[.. wanted - 1] else Array.append payload (Array.zeroCreate (wanted - payload.Length)))

let private applyEdits (edits: HeaderEdit list) (bytes: byte[]) = List.fold applyEdit bytes edits

// ---- outcomes ---------------------------------------------------------------------------------------------------

/// Counts a property's outcomes and prints them after its last case, for the long check's report.
type private Tally(name: string) =
    let counts = Collections.Generic.SortedDictionary<string, int>()
    let mutable cases = 0
    member _.Add(outcome: string) =
        cases <- cases + 1
        counts.[outcome] <- (match counts.TryGetValue outcome with | true, n -> n + 1 | _ -> 1)
        if cases = caseCount then
            printfn "Fuzz.Idx %s: %d cases (%s)" name cases (counts |> Seq.map (fun kv -> sprintf "%s %d" kv.Key kv.Value) |> String.concat ", ")

/// Fails unless the exception is an InvalidDataException whose message names one of `paths`.
let private expectNamed (paths: string list) (e: exn) =
    match e with
    | :? InvalidDataException as e ->
        if not (paths |> List.exists e.Message.Contains) then
            failtestf "InvalidDataException without the file's name (%s): %s" (String.concat " or " paths) e.Message
    | e -> failtestf "unnamed exception %s (expected InvalidDataException): %s" (e.GetType().FullName) e.Message

/// Writes `bytes` as `name`, reads it with `Idx.read` and checks outcome and allocation against the reference.
let private checkRead (tally: Tally) (name: string) (original: byte[]) (bytes: byte[]) =
    withTemp (fun dir ->
        let path = Path.Combine(dir, name)
        File.WriteAllBytes(path, bytes)
        let expected, decoded = referenceRead bytes
        let result, allocated = allocatedBy (fun () -> Idx.read path)
        let bound = allocationBound bytes.Length decoded
        if allocated > bound then
            failtestf "allocated %d bytes reading a %d-byte file that decodes to %d bytes (bound %d)" allocated bytes.Length decoded bound
        match result, expected with
        | Ok arr, Some (dims, data) ->
            Expect.equal arr.Dims dims "the dimensions the header holds"
            if arr.Data <> data then failtest "the payload differs from the file's"
            tally.Add(if bytes = original then "unchanged" else "loaded, valid after the damage")
        | Ok arr, None -> failtestf "accepted a file the format rejects, as dimensions %A" arr.Dims
        | Error e, Some _ -> failtestf "rejected a valid file: %s: %s" (e.GetType().Name) e.Message
        | Error e, None ->
            expectNamed [ path ] e
            tally.Add "rejected, named")

// ---- the folder loaders -----------------------------------------------------------------------------------------

/// Writes the four files into `folder`, file `which` (0..3) replaced by `damaged` under its name (+ ".gz" when
/// `gz`); returns the paths in standard order.
let private writeFolder (folder: string) (which: int) (gz: bool) (damaged: byte[]) : string list =
    originals
    |> List.mapi (fun i (name, bytes) ->
        if i = which then
            let path = Path.Combine(folder, if gz then name + ".gz" else name)
            File.WriteAllBytes(path, damaged)
            path
        else
            let path = Path.Combine(folder, name)
            File.WriteAllBytes(path, bytes)
            path)

/// What `Datasets.mnist` must give for these files (each as `referenceRead` decodes it): the four arrays, or None
/// when a file is not valid IDX or the set is inconsistent (wrong rank, counts that disagree, a label of 10 or more,
/// images without pixels, train and test images of different sizes).
let private referenceDataset (files: (int[] * byte[]) option list) =
    match files with
    | [ Some (trI, _ as trainImages); Some (trL, _ as trainLabels); Some (teI, _ as testImages); Some (teL, _ as testLabels) ] ->
        let imagesOk (d: int[]) = d.Length = 3 && d.[1] > 0 && d.[2] > 0
        let labelsOk (d: int[], data: byte[]) = d.Length = 1 && data |> Array.forall (fun b -> b < 10uy)
        if imagesOk trI && imagesOk teI && labelsOk trainLabels && labelsOk testLabels
           && trI.[0] = trL.[0] && teI.[0] = teL.[0] && trI.[1] = teI.[1] && trI.[2] = teI.[2] then
            Some(trainImages, trainLabels, testImages, testLabels)
        else None
    | _ -> None

/// The bytes of a split's images (undoing the [0,1] scaling) and its labels, as loaded.
let private splitBytes (s: Split) =
    use _ = torch.NewDisposeScope()
    use scale = (255.0f).ToScalar()
    s.Images.mul(scale).round().to_type(torch.ScalarType.Byte).data<byte>().ToArray(), s.Labels.data<int64>().ToArray() |> Array.map byte

/// A data set spec for the four original files: no mirrors, no registries, so nothing touches the network.
let private spec : KnownDataset =
    { Key = "fuzz"
      DisplayName = "Fuzz"
      Layout = FileLayout.IdxImages
      Files = originals |> List.map (fun (n, b) -> Fetch.knownFile n (Datasets.sha256Hex b))
      Mirrors = []
      SystemFolders = []
      Registries = [] }

let private rawTally = Tally "raw file"
let private gzipTally = Tally "gzip file"
let private headerTally = Tally "header edits"
let private folderTally = Tally "folder (Datasets.mnist)"
let private fetchTally = Tally "fetch --from and a named folder"

[<Tests>]
let tests =
    testList "Fuzz.Idx" [
        testPropertyWithConfig config "a raw file with damaged bytes loads what its bytes hold, or fails naming the file" <| fun (labels: bool) (Mutations mutations) ->
            let name, original = originals.[if labels then 1 else 0]
            checkRead rawTally name original (applyAll mutations original)

        testPropertyWithConfig config "a gzip file with damaged bytes loads what it decodes to, or fails naming the file" <| fun (labels: bool) (Mutations mutations) ->
            let name, original = originals.[if labels then 1 else 0]
            let packed = gzip original
            checkRead gzipTally (name + ".gz") packed (applyAll mutations packed)

        testPropertyWithConfig config "a header that lies (magic, type, rank, sizes), raw or honestly gzipped, is read as the format says" <| fun (labels: bool) (edits: HeaderEdit list) (gz: bool) ->
            let name, original = originals.[if labels then 1 else 0]
            let edited = applyEdits edits original
            checkRead headerTally name (if gz then gzip original else original) (if gz then gzip edited else edited)

        testPropertyWithConfig config "a folder with one damaged file (raw or gzip) loads what the files hold, or fails naming the file" <| fun (which: int) (gz: bool) (withEdits: bool) (edits: HeaderEdit list) (Mutations mutations) ->
            let which = abs (which % 4)
            let original = snd originals.[which]
            // Half the cases damage only bytes, so that more of them still hold valid (different) data to compare.
            let edited = if withEdits then applyEdits edits original else original
            let damaged = applyAll mutations (if gz then gzip edited else edited)
            withTemp (fun folder ->
                let paths = writeFolder folder which gz damaged
                let decoded = List.init 4 (fun i -> if i = which then referenceRead damaged else referenceRead (snd originals.[i]))
                let expected = referenceDataset (decoded |> List.map fst)
                let fileBytes = List.init 4 (fun i -> if i = which then damaged.Length else (snd originals.[i]).Length)
                let bound = List.map2 allocationBound fileBytes (decoded |> List.map snd) |> List.sum
                // Other threads (Array.Parallel's workers, the runtime's own) count too: 256 KB of slack.
                let result, allocated = allocatedByAnyThread (fun () -> Datasets.mnist folder ZeroOne)
                if allocated > bound + 262144L then
                    failtestf "allocated %d bytes loading %A bytes of files that decode to %A (bound %d)" allocated fileBytes (List.map snd decoded) bound
                match result, expected with
                | Ok ds, Some ((trI, trIData), (_, trLData), (teI, teIData), (_, teLData)) ->
                    use ds = ds
                    Expect.equal ds.Train.Images.shape [| int64 trI.[0]; 1L; int64 trI.[1]; int64 trI.[2] |] "train images [N,1,H,W]"
                    Expect.equal ds.Test.Images.shape [| int64 teI.[0]; 1L; int64 teI.[1]; int64 teI.[2] |] "test images [N,1,H,W]"
                    if splitBytes ds.Train <> (trIData, trLData) || splitBytes ds.Test <> (teIData, teLData) then
                        failtest "the loaded pixels or labels differ from the files'"
                    folderTally.Add(if damaged = (if gz then gzip original else original) then "unchanged" else "loaded, valid after the damage")
                | Ok ds, None ->
                    (ds :> IDisposable).Dispose()
                    failtestf "accepted %s, which the format or the data set's consistency rejects" paths.[which]
                | Error e, Some _ -> failtestf "rejected a valid folder: %s: %s" (e.GetType().Name) e.Message
                | Error e, None ->
                    expectNamed [ paths.[which] ] e
                    folderTally.Add "rejected, named")

        testPropertyWithConfig config "fetch --from and a named folder take a folder with one damaged file only when it still holds the original bytes" <| fun (which: int) (gz: bool) (Mutations mutations) ->
            let which = abs (which % 4)
            let original = snd originals.[which]
            let damaged = applyAll mutations (if gz then gzip original else original)
            let intact = fst (referenceContent damaged) = Some original
            withTemp (fun dir ->
                let folder = Path.Combine(dir, "from")
                let cache = Path.Combine(dir, "cache")
                Directory.CreateDirectory folder |> ignore
                let paths = writeFolder folder which gz damaged
                let named, allocated = allocatedBy (fun () -> Fetch.folderForWith spec cache (Some folder))
                // Verification reads the files one after another on this thread: each may cost its own bound.
                let bound =
                    List.init 4 (fun i -> if i = which then damaged else snd originals.[i])
                    |> List.sumBy (fun b -> allocationBound b.Length (snd (referenceContent b)))
                if allocated > bound then failtestf "allocated %d bytes verifying the folder (bound %d)" allocated bound
                let fetched = try Ok(Fetch.fetchWith spec cache (Some folder) ignore) with e -> Error e
                match named, fetched with
                | Ok f, Ok c when intact ->
                    Expect.equal f folder "the named folder is used"
                    Expect.equal c cache "fetch installs into the cache"
                    for name, bytes in originals do
                        if File.ReadAllBytes(Path.Combine(cache, name)) <> bytes then failtestf "%s installed with other bytes" name
                    fetchTally.Add(if damaged = (if gz then gzip original else original) then "unchanged" else "accepted, same content")
                | Error a, Error b when not intact ->
                    expectNamed [ paths.[which] ] a
                    expectNamed [ paths.[which] ] b
                    let installed = if Directory.Exists cache then Directory.GetFiles cache |> Array.filter (fun p -> not (Path.GetFileName(p).StartsWith ".verified")) else [||]
                    if installed.Length > 0 then failtestf "installed %A from a folder that failed" installed
                    fetchTally.Add "rejected, named"
                | named, fetched ->
                    failtestf "content %s, but folderFor gave %A and fetch gave %A" (if intact then "intact" else "changed") named fetched)

        testPropertyWithConfig config "label and image files that disagree in count are rejected naming both" <| fun (images: int) (labels: int) ->
            let n = 1 + abs (images % 30)
            let m = 1 + abs (labels % 30)
            withTemp (fun folder ->
                let imageBytes, _ = split n 3
                let _, labelBytes = split m 4
                let paths = writeFolder folder 0 false imageBytes
                File.WriteAllBytes(paths.[1], labelBytes)
                let result = try Ok(Datasets.mnist folder ZeroOne) with e -> Error e
                match result with
                | Ok ds ->
                    use ds = ds
                    Expect.equal n m "loaded only when the counts agree"
                    Expect.equal ds.Train.Count (int64 n) "every image with its label"
                | Error e ->
                    Expect.notEqual n m (sprintf "rejected only when the counts differ (%s)" e.Message)
                    expectNamed [ paths.[1] ] e
                    Expect.stringContains e.Message paths.[0] "names the images file too"
                    Expect.stringContains e.Message (sprintf "%d labels" m) "gives the label count"
                    Expect.stringContains e.Message (sprintf "%d images" n) "gives the image count")
    ]
