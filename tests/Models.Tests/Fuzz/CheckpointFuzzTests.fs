/// Fuzzing the readers of checkpoints: safetensors files, whole checkpoint folders and histories, fed mutated copies
/// of valid files. Every input must either load what the original held or fail with the library's named exception
/// (InvalidDataException, or FileNotFoundException for a missing file) naming the file, never another exception,
/// and without allocating more than a small multiple of the input's size.
module Generative.Tests.Fuzz.CheckpointFuzzTests

open System
open System.IO
open System.Text
open System.Text.Json.Nodes
open System.Threading
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Generative
open Generative.Tests
open Generative.Tests.Core
open Generative.Tests.Training

// ---- Generators -------------------------------------------------------------------------------------------------

/// A position anywhere in a file: FsCheck's own ints stay within ±size (±100 with `Mutation.config`), which would
/// only ever reach a file's first 100 bytes. Half the positions fall in the first 512 bytes, where headers are.
let private position = Gen.oneof [ Gen.choose (0, 511); Gen.choose (0, Int32.MaxValue - 1) ]

let private someBytes = Gen.arrayOf (Gen.choose (0, 255) |> Gen.map byte)

/// One byte mutation anywhere in the file.
let private anyMutation : Gen<Mutation.ByteMutation> =
    Gen.oneof
        [ gen { let! p = position in let! b = Gen.choose (0, 7) in return Mutation.FlipBit (p, b) }
          gen { let! p = position in let! v = Gen.choose (0, 255) in return Mutation.SetByte (p, byte v) }
          gen { let! p = position in return Mutation.Truncate p }
          gen { let! p = position in let! b = someBytes in return Mutation.Insert (p, b) }
          gen { let! p = position in let! c = Gen.choose (0, 63) in return Mutation.Remove (p, c) }
          gen { let! b = someBytes in return Mutation.Append b } ]

/// One to three mutations.
let private mutations : Gen<Mutation.ByteMutation list> = Gen.choose (1, 3) |> Gen.bind (fun n -> Gen.listOfLength n anyMutation)

/// An edit of a safetensors header at the JSON level, where byte flips rarely land on something that still parses.
type HeaderEdit =
    | DropKey of tensor: int * key: string
    | SetDtype of tensor: int * dtype: string
    | SetShape of tensor: int * dims: int64 list
    | SetOffsets of tensor: int * first: int64 * last: int64
    /// Replaces a key's value with some JSON text (wrong types, odd numbers).
    | SetRaw of tensor: int * key: string * json: string
    | DropTensor of tensor: int
    | DropMetadata
    /// Adds this to the 8-byte header length, wrapping around.
    | LieLength of delta: uint64

let private interestingSizes =
    [ 0L; 1L; 2L; 3L; 4L; 6L; 8L; 16L; 24L; 784L; 999999999L; -1L; -2L; Int64.MaxValue; Int64.MinValue; 1L <<< 31
      1L <<< 32; 1L <<< 62; (1L <<< 61) + 1L ]

let private headerEdit : Gen<HeaderEdit> =
    let tensor = Gen.choose (0, 7)
    let key = Gen.elements [ "dtype"; "shape"; "data_offsets" ]
    let size = Gen.oneof [ Gen.elements interestingSizes; Gen.choose (0, 100) |> Gen.map int64 ]
    Gen.oneof
        [ gen { let! t = tensor in let! k = key in return DropKey (t, k) }
          gen {
              let! t = tensor
              let! d = Gen.elements [ "F32"; "F64"; "F16"; "BF16"; "I64"; "I32"; "I16"; "I8"; "U8"; "BOOL"; "F128"; ""; "f32"; "F32 " ]
              return SetDtype (t, d) }
          gen { let! t = tensor in let! n = Gen.choose (0, 4) in let! dims = Gen.listOfLength n size in return SetShape (t, dims) }
          gen { let! t = tensor in let! b = size in let! e = size in return SetOffsets (t, b, e) }
          gen {
              let! t = tensor
              let! k = key
              let! json =
                  Gen.elements
                      [ "null"; "\"x\""; "1"; "-1"; "1.5"; "[]"; "{}"; "[\"1\"]"; "[1,2,3]"; "true"; "[1e300]"; "[18446744073709551615]"
                        "[-0]"; "[0.0]"; "[1,2]"; "[[1],[2]]"; "[null,null]"; "{\"a\":1}" ]
              return SetRaw (t, k, json) }
          gen { let! t = tensor in return DropTensor t }
          Gen.constant DropMetadata
          gen {
              let! d = Gen.elements [ 1UL; 7UL; 8UL; 16UL; 1UL <<< 31; 1UL <<< 32; 1UL <<< 63; UInt64.MaxValue; UInt64.MaxValue - 7UL ]
              return LieLength d } ]

/// Applies header edits to a safetensors file (tensor indices are taken modulo the number of tensors).
let private applyEdits (edits: HeaderEdit list) (bytes: byte[]) : byte[] =
    let header, data = SafeTensorsTests.splitFile bytes
    // Tensors dropped by earlier edits are gone: edits of a header without tensors do nothing.
    let names () = [ for KeyValue (k, _) in header do if k <> "__metadata__" then yield k ]
    let onEntry (t: int) (edit: JsonObject -> unit) =
        match names () with
        | [] -> ()
        | ns -> edit (header[ns.[t % ns.Length]].AsObject())
    let mutable lie = 0UL
    for edit in edits do
        match edit with
        | DropKey (t, k) -> onEntry t (fun e -> e.Remove k |> ignore)
        | SetDtype (t, d) -> onEntry t (fun e -> e["dtype"] <- JsonValue.Create d)
        | SetShape (t, dims) -> onEntry t (fun e -> e["shape"] <- JsonArray([| for d in dims -> JsonValue.Create d :> JsonNode |]))
        | SetOffsets (t, b, e) -> onEntry t (fun entry -> entry["data_offsets"] <- JsonArray(JsonValue.Create b, JsonValue.Create e))
        | SetRaw (t, k, json) -> onEntry t (fun e -> e[k] <- JsonNode.Parse json)
        | DropTensor t ->
            match names () with
            | [] -> ()
            | ns -> header.Remove(ns.[t % ns.Length]) |> ignore
        | DropMetadata -> header.Remove "__metadata__" |> ignore
        | LieLength d -> lie <- lie + d
    let joined = SafeTensorsTests.joinFile header data
    let length = BitConverter.ToUInt64(joined, 0) + lie
    Array.append (BitConverter.GetBytes length) joined.[8..]

// ---- What every reader must do ----------------------------------------------------------------------------------

/// The library's named exceptions; anything else escaping a reader is a bug.
let private isNamed (e: exn) = e :? InvalidDataException || e :? FileNotFoundException

/// Runs `read`, giving its result or its exception, and the managed bytes it allocated.
let private measured (read: unit -> 'a) : Result<'a, exn> * int64 =
    let before = GC.GetAllocatedBytesForCurrentThread()
    let result = try Ok (read ()) with e -> Error e
    result, GC.GetAllocatedBytesForCurrentThread() - before

/// At most this many managed bytes for reading `size` bytes of input: JSON parsing and UTF-16 copies of headers and
/// histories take several times their size, never more than a small multiple.
let private allocationLimit (size: int64) = 16L * size + (256L <<< 10)

/// Fails the property with what went wrong (FsCheck prints the case).
let private fail (what: string) : 'a = failtestf "%s" what

/// The safetensors property: `bytes` (a mutation of a file with contents `original`) loads the original tensors, or,
/// when the mutation took the digest away, tensors that fit in the file; or it fails with a named InvalidDataException.
let private safeTensorsBehave (original: (string * torch.ScalarType * int64[] * byte[]) list) (bytes: byte[]) : bool =
    let result, allocated = measured (fun () -> SafeTensors.ofBytes "fuzzed.safetensors" bytes)
    if allocated > allocationLimit bytes.LongLength then fail (sprintf "%d managed bytes allocated reading %d bytes" allocated bytes.Length)
    match result with
    | Ok tensors ->
        let contents = SafeTensorsTests.contentsOf tensors
        let tensorBytes = tensors |> List.sumBy (fun (_, t) -> t.numel() * t.element_size())
        for (_, t) in tensors do t.Dispose()
        let stillDigested = Encoding.UTF8.GetString(bytes).Contains SafeTensors.digestKey
        if tensorBytes > bytes.LongLength then fail (sprintf "tensors of %d bytes from a file of %d" tensorBytes bytes.Length)
        elif stillDigested && contents <> original then fail "a file with its digest loaded data other than the original's"
        else true
    | Error (:? InvalidDataException as e) when e.Message.Contains "fuzzed.safetensors" -> true
    | Error e -> fail (sprintf "%s (not a named InvalidDataException): %s" (e.GetType().Name) e.Message)

// ---- A tiny checkpoint ------------------------------------------------------------------------------------------

/// A tiny autoencoder (2x3 inputs, a 2-wide code: 32 weights), so that a fuzz case costs about a millisecond.
let private tinyConfig = { Autoencoder.linear with InputShape = [ 1; 2; 3 ]; EncoderWidths = [ 2 ] }

/// A fresh tiny trainer with carried state (so that carried.safetensors is fuzzed too).
let private tinyTrainer () =
    Device.seed 3L
    TestData.withCarried (Autoencoder.trainer (Autoencoder.create tinyConfig))

/// Everything a full restore puts into a trainer, as comparable values: weights, optimiser state (its serialised
/// bytes), the global generator's state and the carried state.
let private stateOf (trainer: Trainer) (carried: (string * torch.Tensor) list ref) =
    let optimizer =
        trainer.Optimizers |> List.map (fun (n, opt) ->
            use ms = new MemoryStream()
            use w = new BinaryWriter(ms)
            opt.save_state_dict w
            w.Flush()
            n, ms.ToArray())
    use rng = torch.random.get_rng_state()
    TestData.weightsOf trainer, optimizer, rng.bytes.ToArray(), SafeTensorsTests.contentsOf carried.Value

/// A trained tiny model's checkpoint (a few steps of Adam, so the optimiser state is not zeros), as the bytes of
/// each file, with what restoring it must give: its manifest's information, its history and the trainer's state.
let private checkpoint =
    lazy (
        let folder = TestData.tempFolder "fuzz-checkpoint"
        let trainer, carried = tinyTrainer ()
        use images = torch.rand(16L, 1L, 2L, 3L)
        let data = { Images = images; Labels = torch.zeros(16L, dtype = torch.int64) }
        let options = { Loop.defaults with Epochs = 1; BatchSize = 4; Seed = 1L }
        let r = Loop.fit options Loop.noHooks CancellationToken.None { trainer with Carried = None } data (Loop.start, History.empty)
        let info = { ModelId = "ae-linear"; Settings = SettingsTable.print Autoencoder.settings tinyConfig; Position = r.Position; CreatedUtc = DateTime.UtcNow }
        Device.seed 17L
        let ck = Checkpoint.save folder 1 trainer r.History info
        let files = [ for f in Directory.GetFiles ck |> Array.sort -> Path.GetFileName f, File.ReadAllBytes f ]
        let expected = stateOf trainer carried
        Directory.Delete(folder, true)
        files, info, r.History, expected)

/// The checkpoint's files as a version before integrity hashes wrote them: the same, with a manifest of format 1.
let private legacyFiles =
    lazy (
        let files, _, _, _ = checkpoint.Force()
        let folder = TestData.tempFolder "fuzz-legacy"
        File.WriteAllBytes(Path.Combine(folder, "manifest.json"), files |> List.pick (fun (n, b) -> if n = "manifest.json" then Some b else None))
        TestData.withoutHashes folder
        let manifest = File.ReadAllBytes(Path.Combine(folder, "manifest.json"))
        Directory.Delete(folder, true)
        files |> List.map (fun (n, b) -> n, (if n = "manifest.json" then manifest else b)))

/// A folder holding a copy of the checkpoint (with hashes, or as a legacy one), shared by every case (cases run one
/// at a time, and each puts back the file it changed): writing one file per case instead of a whole folder keeps a
/// case near a millisecond.
let private workFolder (files: (string * byte[]) list) =
    let folder = TestData.tempFolder "fuzz-restore"
    for (name, bytes) in files do File.WriteAllBytes(Path.Combine(folder, name), bytes)
    AppDomain.CurrentDomain.ProcessExit.Add(fun _ -> try Directory.Delete(folder, true) with _ -> ())
    folder

let private hashedFolder = lazy (let files, _, _, _ = checkpoint.Force() in workFolder files)
let private legacyFolder = lazy (workFolder (legacyFiles.Force()))

/// The restore property: the checkpoint (`hashed`, or a legacy one without hashes) with `file` replaced by `mutated`
/// (None: deleted) fails with a named exception naming a file of the checkpoint and leaves the trainer and the
/// global generator as they were, or restores: exactly the original when the checkpoint has hashes or the restore
/// does not read the file; when a legacy checkpoint's changed file is read, nothing can tell a changed value from
/// the original, and only the other checks (names, dtypes, shapes, finite weights, sizes) apply.
let private restoreBehaves (hashed: bool) (file: string) (mutated: byte[] option) (weightsOnly: bool) : bool =
    let _, info, history, (weights, optimizer, rng, carried) = checkpoint.Force()
    let files = if hashed then (let f, _, _, _ = checkpoint.Force() in f) else legacyFiles.Force()
    let folder = if hashed then hashedFolder.Force() else legacyFolder.Force()
    let path = Path.Combine(folder, file)
    match mutated with
    | Some bytes -> File.WriteAllBytes(path, bytes)
    | None -> File.Delete path
    try
        let trainer, carriedCell = tinyTrainer ()
        // The state before: a fresh model, and a generator state other than the checkpoint's.
        Device.seed 99L
        let before = stateOf trainer carriedCell
        let result, allocated = measured (fun () -> Checkpoint.restore folder weightsOnly trainer)
        let folderSize = files |> List.sumBy (fun (_, b) -> b.LongLength)
        if allocated > allocationLimit folderSize then fail (sprintf "%d managed bytes allocated restoring %d bytes" allocated folderSize)
        let unverifiable = not hashed && (file = "weights.safetensors" || not weightsOnly)
        match result with
        | Ok _ when unverifiable -> true
        | Ok (restoredInfo, restoredHistory) ->
            let w, o, r, c = stateOf trainer carriedCell
            let _, beforeOptimizer, beforeRng, beforeCarried = before
            if restoredInfo <> info then fail (sprintf "restored %A, not the original %A" restoredInfo info)
            elif w <> weights then fail "weights other than the original's"
            elif weightsOnly then
                if restoredHistory <> History.empty then fail "a weights-only restore returned a history"
                elif o <> beforeOptimizer || r <> beforeRng || c <> beforeCarried then fail "a weights-only restore changed more than the weights"
                else true
            elif History.toCsv restoredHistory <> History.toCsv history then fail "a history other than the original's"
            elif o <> optimizer then fail "optimiser state other than the original's"
            elif r <> rng then fail "generator state other than the original's"
            elif c <> carried then fail "carried state other than the original's"
            else true
        | Error e when isNamed e ->
            let namesAFile = files |> List.exists (fun (name, _) -> e.Message.Contains(Path.Combine(folder, name)))
            if not namesAFile then fail (sprintf "the error does not name a file of the checkpoint: %s" e.Message)
            elif stateOf trainer carriedCell <> before then fail (sprintf "a failed restore changed the trainer or the generator: %s" e.Message)
            else true
        | Error e -> fail (sprintf "%s (not a named exception): %s" (e.GetType().Name) e.Message)
    finally
        File.WriteAllBytes(path, files |> List.pick (fun (name, b) -> if name = file then Some b else None))

/// The bytes of one file of the checkpoint.
let private fileOf (name: string) =
    let files, _, _, _ = checkpoint.Force()
    files |> List.pick (fun (n, b) -> if n = name then Some b else None)

/// The names of the checkpoint's files.
let private fileNames () =
    let files, _, _, _ = checkpoint.Force()
    files |> List.map fst

[<Tests>]
let tests =
    testList "Fuzz.Checkpoint" [
        testPropertyWithConfig Mutation.config "SafeTensors.ofBytes: mutated bytes load the original tensors or fail with a named InvalidDataException"
            (Prop.forAll (Arb.fromGen (gen { let! ms = mutations in let! d = Gen.elements [ true; false ] in return ms, d })) (fun (ms, digested) ->
                let file = SafeTensorsTests.sample ()
                let original = SafeTensors.ofBytes "original" file |> SafeTensorsTests.contentsOf
                let file = if digested then file else SafeTensorsTests.withoutDigest file
                safeTensorsBehave original (Mutation.applyAll ms file)))

        testPropertyWithConfig Mutation.config "SafeTensors.ofBytes: header edits (keys dropped, dtypes, huge or negative shapes, lying offsets and lengths) fail with a named InvalidDataException or load what fits"
            (Prop.forAll
                (Arb.fromGen (gen {
                    let! edits = Gen.choose (1, 3) |> Gen.bind (fun n -> Gen.listOfLength n headerEdit)
                    let! digested = Gen.elements [ true; false ]
                    return edits, digested }))
                (fun (edits, digested) ->
                    let file = SafeTensorsTests.sample ()
                    let original = SafeTensors.ofBytes "original" file |> SafeTensorsTests.contentsOf
                    let file = if digested then file else SafeTensorsTests.withoutDigest file
                    safeTensorsBehave original (applyEdits edits file)))

        testPropertyWithConfig Mutation.config "the weights of a real checkpoint, mutated, load the original or fail with a named InvalidDataException"
            (Prop.forAll (Arb.fromGen mutations) (fun ms ->
                let weights = fileOf "weights.safetensors"
                let original = SafeTensors.ofBytes "original" weights |> SafeTensorsTests.contentsOf
                safeTensorsBehave original (Mutation.applyAll ms weights)))

        testPropertyWithConfig Mutation.config "Checkpoint.restore: a checkpoint with one file mutated or deleted restores the original or fails naming the file, leaving the trainer as it was"
            (Prop.forAll
                (Arb.fromGen (gen {
                    let! file = Gen.elements (fileNames ())
                    let! change = Gen.frequency [ 9, mutations |> Gen.map Some; 1, Gen.constant None ]
                    let! weightsOnly = Gen.elements [ true; false ]
                    return file, change, weightsOnly }))
                (fun (file, change, weightsOnly) ->
                    restoreBehaves true file (change |> Option.map (fun ms -> Mutation.applyAll ms (fileOf file))) weightsOnly))

        testPropertyWithConfig Mutation.config "Checkpoint.restore: a checkpoint without hashes (an earlier version's) with a file mutated fails naming the file, leaving the trainer as it was, or restores"
            (Prop.forAll
                (Arb.fromGen (gen {
                    let! file = Gen.elements (fileNames () |> List.filter (fun n -> n <> "manifest.json"))
                    let! ms = mutations
                    let! weightsOnly = Gen.elements [ true; false ]
                    return file, ms, weightsOnly }))
                (fun (file, ms, weightsOnly) -> restoreBehaves false file (Some (Mutation.applyAll ms (fileOf file))) weightsOnly))

        testPropertyWithConfig Mutation.config "Checkpoint.restore: header edits of the checkpoint's safetensors files fail naming the file or restore the original"
            (Prop.forAll
                (Arb.fromGen (gen {
                    let! file = Gen.elements (fileNames () |> List.filter (fun n -> n.EndsWith ".safetensors"))
                    let! edits = Gen.choose (1, 3) |> Gen.bind (fun n -> Gen.listOfLength n headerEdit)
                    let! weightsOnly = Gen.elements [ true; false ]
                    return file, edits, weightsOnly }))
                (fun (file, edits, weightsOnly) -> restoreBehaves true file (Some (applyEdits edits (fileOf file))) weightsOnly))

        testPropertyWithConfig Mutation.config "History.ofCsv: a mutated history parses to a history that reads back the same, or fails with InvalidDataException naming the file"
            (Prop.forAll (Arb.fromGen mutations) (fun ms ->
                let text = Encoding.UTF8.GetString(Mutation.applyAll ms (Encoding.UTF8.GetBytes HistoryTests.sampleCsv))
                let result, allocated = measured (fun () -> History.ofCsv "fuzzed/history.csv" text)
                if allocated > allocationLimit (int64 text.Length * 2L) then fail (sprintf "%d managed bytes allocated parsing %d characters" allocated text.Length)
                else
                    match result with
                    | Ok h ->
                        let csv = History.toCsv h
                        History.toCsv (History.ofCsv "again" csv) = csv || fail "what it parsed does not read back the same"
                    | Error (:? InvalidDataException as e) when e.Message.StartsWith "fuzzed/history.csv" -> true
                    | Error e -> fail (sprintf "%s (not a named InvalidDataException): %s" (e.GetType().Name) e.Message)))

        testPropertyWithConfig Mutation.config "History.ofCsv: a history cut anywhere but at a line's end is refused; cut at one, it is a prefix of the original"
            (Prop.forAll (Arb.fromGen (Gen.choose (0, HistoryTests.sampleCsv.Length - 1))) (fun cut ->
                let text = HistoryTests.sampleCsv.Substring(0, cut)
                let original = History.ofCsv "original" HistoryTests.sampleCsv
                let prefix (a: 'a list) (b: 'a list) = a.Length <= b.Length && List.truncate a.Length b = a
                match (try Ok (History.ofCsv "cut.csv" text) with e -> Error e) with
                | Ok h when cut > 0 && text.EndsWith "\n" ->
                    (prefix h.Epochs original.Epochs && prefix (h.Steps |> List.map (fun s -> s.Step)) (original.Steps |> List.map (fun s -> s.Step)))
                    || fail (sprintf "a cut at %d gave rows the original does not begin with" cut)
                | Ok _ -> fail (sprintf "a cut at %d, mid-line, was read as a history" cut)
                | Error (:? InvalidDataException as e) when e.Message.StartsWith "cut.csv" ->
                    not (text.EndsWith "\n") || fail (sprintf "a cut at %d, at a line's end, was refused: %s" cut e.Message)
                | Error e -> fail (sprintf "%s: %s" (e.GetType().Name) e.Message)))
    ]
