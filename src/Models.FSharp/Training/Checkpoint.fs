namespace Generative

open System
open System.Collections.Generic
open System.IO
open System.Security.Cryptography
open System.Text.Json
open System.Text.Json.Nodes
open TorchSharp

/// What a checkpoint's manifest.json says about the run it belongs to.
type CheckpointInfo =
    { /// The catalog id of the model, e.g. "ae-linear".
      ModelId: string
      /// The model's and the run's settings as written on the command line (key, value), enough to rebuild it.
      Settings: (string * string) list
      /// Where the run stood when the checkpoint was written.
      Position: TrainingPosition
      /// When it was written (UTC).
      CreatedUtc: DateTime }

/// A reader of TorchSharp's optimiser state that refuses any count or length larger than the file. TorchSharp
/// reads them as 7-bit encoded integers, byte by byte through `ReadByte` (its `Decode`, and BinaryReader's string
/// lengths), and allocates an array of a tensor's dimension count before reading the dimensions: one damaged count in
/// a 7 KB file asked for 1.4 GB. Every such number of a sound file (a dtype code, a dimension count, a dimension, a
/// count of groups or states, a name's length) is at most the file's length, so this bounds what a damaged one costs.
type internal BoundedReader(stream: Stream, limit: int64) =
    inherit BinaryReader(stream)
    let mutable value = 0L
    let mutable shift = 0
    override _.ReadByte() =
        let b = base.ReadByte()
        if shift < 63 then value <- value ||| (int64 (b &&& 0x7Fuy) <<< shift)
        if b &&& 0x80uy <> 0uy then
            shift <- shift + 7
            if shift > 63 then raise (InvalidDataException "an encoded integer longer than 64 bits")
        else
            let decoded = value
            value <- 0L
            shift <- 0
            if decoded < 0L || decoded > limit then
                raise (InvalidDataException(sprintf "a count or length of %d in a file of %d bytes" decoded limit))
        b

/// Checkpoints: one folder per save, `checkpoints/step-<n>/`, holding
/// weights.safetensors (every module's parameters and buffers as `<module>.<name>`), optimizer-<name>.bin
/// (TorchSharp's optimiser state format), rng.safetensors (libtorch's global generator state),
/// carried.safetensors (the state a model carries between steps, when it has one: see `CarriedState`),
/// history.csv and manifest.json. A save writes a hidden temporary folder and renames it into place, then
/// updates `checkpoints/latest` the same way, so an interrupted save never damages an earlier checkpoint.
/// Beside them, `checkpoints/best.safetensors` holds the weights of early stopping's best epoch so far (with the
/// epoch in its metadata), replaced atomically by each new best and never removed by the rotation of step folders,
/// so a run interrupted after its best epoch and resumed can still end with that epoch's weights.
///
/// Integrity: the manifest (format 2) records the SHA-256 of every other file of the folder (`files`) and a digest
/// of its own contents (`manifestSha256`); loading checks every file it reads against it before using any, so a
/// changed byte is an InvalidDataException naming the file ("sha256 mismatch"), never different weights. Weights are
/// also checked against the model (names, dtypes, shapes) and refused when not finite. Checkpoints written before
/// format 2 have no hashes and still load, with every other check.
[<RequireQualifiedAccess>]
module Checkpoint =
    let private manifestName = "manifest.json"
    let private latestName = "latest"
    let private weightsName = "weights.safetensors"
    let private rngName = "rng.safetensors"
    let private carriedName = "carried.safetensors"
    let private historyName = "history.csv"
    /// The manifest format written: 1 had no hashes; 2 adds `files` and `manifestSha256`.
    let private manifestFormat = 2

    /// All parameters and buffers of the trainer's modules, named `<module>.<entry>`.
    let stateOf (trainer: Trainer) : (string * Tensor) list =
        [ for (name, m) in trainer.Modules do
            for KeyValue (k, t) in m.state_dict() do
                yield name + "." + k, t ]

    /// Checks saved weights against the trainer's modules (see `loadWeights`), changing nothing.
    let private checkWeights (source: string) (trainer: Trainer) (saved: (string * Tensor) list) =
        let byName = dict saved
        let targets = stateOf trainer
        for (name, target) in targets do
            match byName.TryGetValue name with
            | false, _ ->
                raise (InvalidDataException(sprintf "%s: no tensor '%s' in this file (was it written for another model or version?)" source name))
            | true, t when t.dtype <> target.dtype ->
                raise (InvalidDataException(sprintf "%s: tensor '%s' has dtype %O but the model expects %O" source name t.dtype target.dtype))
            | true, t when t.shape <> target.shape ->
                raise (InvalidDataException(sprintf "%s: tensor '%s' has shape %A but the model expects %A" source name t.shape target.shape))
            | true, t when t.is_floating_point() && not (use finite = t.isfinite().all() in finite.ToBoolean()) ->
                raise (InvalidDataException(sprintf "%s: tensor '%s' holds NaN or infinite values (damaged weights, or a run that diverged); refusing to load them" source name))
            | true, _ -> ()
        let expected = targets |> List.map fst |> Set.ofList
        match saved |> List.map fst |> List.tryFind (fun n -> not (expected.Contains n)) with
        | Some extra -> raise (InvalidDataException(sprintf "%s: unexpected tensor '%s' for this model" source extra))
        | None -> ()

    /// Copies weights `checkWeights` accepted into the trainer's modules.
    let private copyWeights (trainer: Trainer) (saved: (string * Tensor) list) =
        let byName = dict saved
        use _ = torch.no_grad()
        for (name, target) in stateOf trainer do target.copy_(byName.[name]) |> ignore

    /// Copies saved weights into the trainer's modules. Every expected entry must be present with its dtype and
    /// shape, and no other, and floating-point weights must be finite (NaN or infinite weights would only give black
    /// pictures and NaN metrics later); errors name the file and the entry, and leave the modules untouched (all is
    /// checked first).
    let loadWeights (source: string) (trainer: Trainer) (saved: (string * Tensor) list) =
        checkWeights source trainer saved
        copyWeights trainer saved

    /// Lower-case hexadecimal SHA-256 of some bytes.
    let private sha256Of (bytes: byte[]) = Convert.ToHexString(SHA256.HashData bytes).ToLowerInvariant()

    /// The manifest's digest of itself: SHA-256 over a canonical form of its JSON (the `manifestSha256` property
    /// aside), built from values rather than from the serialiser's text, so that it does not depend on how a .NET
    /// version indents or escapes JSON. Strings count by value, numbers by their text.
    let private canonicalDigest (o: JsonObject) =
        use hash = IncrementalHash.CreateHash HashAlgorithmName.SHA256
        let text (s: string) =
            let b = Text.Encoding.UTF8.GetBytes s
            hash.AppendData(BitConverter.GetBytes(int64 b.Length))
            hash.AppendData b
        let rec feed (top: bool) (node: JsonNode) =
            match node with
            | null -> text "null"
            | :? JsonObject as o ->
                text "{"
                for KeyValue (k, v) in o do
                    if not (top && k = "manifestSha256") then
                        text k
                        feed false v
                text "}"
            | :? JsonArray as a ->
                text "["
                for v in a do feed false v
                text "]"
            | v ->
                match v.GetValueKind() with
                | JsonValueKind.String -> text "string"; text (v.GetValue<string>())
                | kind -> text (string kind); text (v.ToJsonString())
        feed true o
        Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant()

    let private manifestJson (info: CheckpointInfo) (files: (string * string) list) =
        let o = JsonObject()
        o["format"] <- JsonValue.Create manifestFormat
        o["model"] <- JsonValue.Create info.ModelId
        let settings = JsonObject()
        for (k, v) in info.Settings do settings[k] <- JsonValue.Create v
        o["settings"] <- settings
        o["epoch"] <- JsonValue.Create info.Position.Epoch
        o["stepInEpoch"] <- JsonValue.Create info.Position.StepInEpoch
        o["step"] <- JsonValue.Create info.Position.Step
        o["createdUtc"] <- JsonValue.Create(info.CreatedUtc.ToString("o"))
        o["library"] <- JsonValue.Create(typeof<Trainer>.Assembly.GetName().Version.ToString())
        let hashes = JsonObject()
        for (name, sha) in files do hashes[name] <- JsonValue.Create sha
        o["files"] <- hashes
        o["manifestSha256"] <- JsonValue.Create(canonicalDigest o)
        o.ToJsonString(JsonSerializerOptions(WriteIndented = true))

    /// A checkpoint's manifest: what it says, and the SHA-256 of each file of its folder (None for checkpoints
    /// written before format 2, which had no hashes).
    type private Manifest = { Info: CheckpointInfo; Files: Map<string, string> option }

    let private readManifest (folder: string) : Manifest =
        let path = Path.Combine(folder, manifestName)
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "%s: missing, so %s holds no complete checkpoint" path folder, path))
        let damaged why : 'a = raise (InvalidDataException(sprintf "%s: damaged checkpoint manifest: %s" path why))
        // Any other failure of System.Text.Json on a damaged file (a key given twice, say) is named too.
        try
            let o =
                match JsonNode.Parse(File.ReadAllText path) with
                | :? JsonObject as o -> o
                | _ -> damaged "not a JSON object"
            // Reading a value of the wrong kind is a damage like any other, named with its key.
            let value (parent: JsonObject) (key: string) (kind: JsonValueKind) : JsonValue =
                match parent[key] with
                | null -> damaged (sprintf "no '%s' entry" key)
                | :? JsonValue as v when v.GetValueKind() = kind -> v
                | v -> damaged (sprintf "'%s' is a JSON %O, not a %O" key (v.GetValueKind()) kind)
            let text (parent: JsonObject) key = (value parent key JsonValueKind.String).GetValue<string>()
            let number (key: string) : 'n =
                match (value o key JsonValueKind.Number).TryGetValue<'n>() with
                | true, n -> n
                | false, _ -> damaged (sprintf "'%s' is %s, not a whole number in range" key (o[key].ToJsonString()))
            let strings (key: string) =
                match o[key] with
                | :? JsonObject as entries -> [ for KeyValue (k, _) in entries -> k, text entries k ]
                | null -> damaged (sprintf "no '%s' entry" key)
                | v -> damaged (sprintf "'%s' is a JSON %O, not an object" key (v.GetValueKind()))
            let format : int = number "format"
            if format < 1 || format > manifestFormat then
                damaged (sprintf "format %d is not one this version reads (1 to %d); was it written by a newer version?" format manifestFormat)
            // A manifest with either integrity entry, or of format 2, must have both and match them: deleting one must
            // not turn a checked checkpoint into an unchecked one.
            let files =
                if format < 2 && not (o.ContainsKey "files") && not (o.ContainsKey "manifestSha256") then None
                else
                    let recorded = text o "manifestSha256"
                    if recorded <> canonicalDigest o then
                        raise (InvalidDataException(sprintf "%s: sha256 mismatch: the file was changed or damaged after it was written (its contents do not give the digest it records)" path))
                    Some (Map.ofList (strings "files"))
            let created =
                match DateTime.TryParse(text o "createdUtc", Globalization.CultureInfo.InvariantCulture, Globalization.DateTimeStyles.RoundtripKind) with
                | true, t -> t.ToUniversalTime()
                | false, _ -> damaged (sprintf "createdUtc '%s' is not a date" (text o "createdUtc"))
            let info =
                { ModelId = text o "model"
                  Settings = strings "settings"
                  Position = { Epoch = number "epoch"; StepInEpoch = number "stepInEpoch"; Step = number "step" }
                  CreatedUtc = created }
            { Info = info; Files = files }
        with :? JsonException | :? ArgumentException | :? InvalidOperationException | :? FormatException as e -> damaged e.Message

    /// Reads a checkpoint folder's manifest (checking its own digest when it has one).
    let readInfo (folder: string) : CheckpointInfo = (readManifest folder).Info

    /// Whether the checkpoint has the file `name`: the manifest's list decides when there is one.
    let private has (folder: string) (manifest: Manifest) (name: string) =
        match manifest.Files with
        | Some files -> files.ContainsKey name || File.Exists(Path.Combine(folder, name))
        | None -> File.Exists(Path.Combine(folder, name))

    /// The bytes of a file of the checkpoint, checked against the manifest's SHA-256 when it has hashes.
    let private verifiedBytes (folder: string) (manifest: Manifest) (name: string) : byte[] =
        let path = Path.Combine(folder, name)
        if not (File.Exists path) then
            raise (FileNotFoundException(sprintf "%s: missing from the checkpoint (the folder is incomplete or was edited)" path, path))
        let bytes = File.ReadAllBytes path
        match manifest.Files with
        | None -> bytes
        | Some files ->
            match files.TryFind name with
            | None -> raise (InvalidDataException(sprintf "%s: not listed in the checkpoint's manifest.json (added after the checkpoint was written?)" path))
            | Some recorded ->
                let actual = sha256Of bytes
                if actual <> recorded then
                    raise (InvalidDataException(sprintf "%s: sha256 mismatch: the file was changed or damaged after it was written (manifest.json records %s, the file has %s)" path recorded actual))
                bytes

    /// An optimiser's state in TorchSharp's format.
    let private optimizerBytes (opt: Modules.OptimizerHelper) =
        use stream = new MemoryStream()
        do
            use writer = new BinaryWriter(stream, Text.Encoding.UTF8, true)
            opt.save_state_dict writer
        stream.ToArray()

    /// Reads TorchSharp optimiser state from (checked) bytes into `opt`; any failure, TorchSharp's included (which
    /// may say only "Attempted to read past the end of the stream"), is an InvalidDataException naming the file.
    let private loadOptimizer (path: string) (bytes: byte[]) (opt: Modules.OptimizerHelper) =
        try
            use stream = new MemoryStream(bytes, false)
            use reader = new BoundedReader(stream, bytes.LongLength)
            opt.load_state_dict reader
            if stream.Position <> stream.Length then
                raise (InvalidDataException(sprintf "%d bytes after the end of the state" (stream.Length - stream.Position)))
        with e ->
            raise (InvalidDataException(sprintf "%s: damaged optimiser state, or one of another optimiser or model: %s" path e.Message, e))

    /// The folder of the newest complete checkpoint under `checkpointsFolder`, if any.
    let latest (checkpointsFolder: string) : string option =
        let pointer = Path.Combine(checkpointsFolder, latestName)
        let fromPointer =
            if File.Exists pointer then
                let f = Path.Combine(checkpointsFolder, File.ReadAllText(pointer).Trim())
                if File.Exists(Path.Combine(f, manifestName)) then Some f else None
            else None
        match fromPointer with
        | Some f -> Some f
        | None when Directory.Exists checkpointsFolder ->
            // The pointer may predate a crash: fall back to the highest complete step folder.
            Directory.GetDirectories(checkpointsFolder, "step-*")
            |> Array.filter (fun d -> File.Exists(Path.Combine(d, manifestName)))
            |> Array.sort
            |> Array.tryLast
        | None -> None

    /// Deletes what an interrupted save left under `checkpointsFolder`: temporary checkpoint folders (`.tmp-*`) and
    /// temporary files of atomic writes (`*.tmp`, e.g. of `latest` or best.safetensors). Only one process writes a
    /// run folder, so at the start of a save nothing else can be writing them. Best effort: what cannot be deleted is
    /// left for the next save, since a leftover never stops training.
    let removeLeftovers (checkpointsFolder: string) =
        if Directory.Exists checkpointsFolder then
            for d in Directory.GetDirectories(checkpointsFolder, ".tmp-*") do
                try Directory.Delete(d, true) with :? IOException | :? UnauthorizedAccessException -> ()
            for f in Directory.GetFiles(checkpointsFolder, "*.tmp") do
                try File.Delete f with :? IOException | :? UnauthorizedAccessException -> ()

    /// Saves the trainer, its optimisers, the RNG state and the history as `checkpoints/step-<n>`, atomically,
    /// keeping the newest `keep` checkpoints. Returns the new folder. The manifest, written last, records each file's
    /// SHA-256. Leftovers of interrupted saves are removed first; when this save fails (a full disk), its temporary
    /// folder is removed and the exception rethrown.
    let save (checkpointsFolder: string) (keep: int) (trainer: Trainer) (history: History) (info: CheckpointInfo) : string =
        Directory.CreateDirectory checkpointsFolder |> ignore
        removeLeftovers checkpointsFolder
        let name = sprintf "step-%09d" info.Position.Step
        let final = Path.Combine(checkpointsFolder, name)
        let tmp = Path.Combine(checkpointsFolder, sprintf ".tmp-%s-%s" name (Guid.NewGuid().ToString("N")))
        try
            Directory.CreateDirectory tmp |> ignore
            SafeTensors.save (Path.Combine(tmp, weightsName)) (stateOf trainer)
            for (n, opt) in trainer.Optimizers do
                AtomicFile.writeWith (Path.Combine(tmp, sprintf "optimizer-%s.bin" n)) (fun stream ->
                    use writer = new BinaryWriter(stream)
                    opt.save_state_dict writer)
            do
                use rng = torch.random.get_rng_state()
                SafeTensors.save (Path.Combine(tmp, rngName)) [ "global", rng ]
            trainer.Carried |> Option.iter (fun carried ->
                SafeTensors.save (Path.Combine(tmp, carriedName)) [ for (n, t) in carried.Save() -> n, t.cpu() ])
            AtomicFile.writeText (Path.Combine(tmp, historyName)) (History.toCsv history)
            // Hashed as they are on disk, so what is checked on loading is what was written.
            let files = [ for f in Directory.GetFiles tmp |> Array.sort -> Path.GetFileName f, sha256Of (File.ReadAllBytes f) ]
            // The manifest is written last: a folder without one is incomplete and never loaded.
            AtomicFile.writeText (Path.Combine(tmp, manifestName)) (manifestJson info files)
            if Directory.Exists final then Directory.Delete(final, true)
            Directory.Move(tmp, final)
        with _ ->
            (try if Directory.Exists tmp then Directory.Delete(tmp, true) with :? IOException | :? UnauthorizedAccessException -> ())
            reraise ()
        AtomicFile.writeText (Path.Combine(checkpointsFolder, latestName)) name
        let all = Directory.GetDirectories(checkpointsFolder, "step-*") |> Array.sort
        for old in all |> Array.truncate (max 0 (all.Length - max 1 keep)) do
            Directory.Delete(old, true)
        final

    /// Restores weights, and unless `weightsOnly`, optimiser and RNG state (and carried state); returns the manifest
    /// and, unless `weightsOnly`, the history (History.empty with `weightsOnly`: history.csv is then not read at all,
    /// so sampling or evaluating needs only sound weights). Every file read is checked against the manifest's
    /// SHA-256 (when it has hashes) and parsed before anything is put into the trainer, so a damaged checkpoint
    /// fails with an InvalidDataException (FileNotFoundException for a missing file) naming the file and leaves the
    /// trainer as it was.
    let restore (folder: string) (weightsOnly: bool) (trainer: Trainer) : CheckpointInfo * History =
        let manifest = readManifest folder
        let weightsPath = Path.Combine(folder, weightsName)
        let saved = SafeTensors.ofBytes weightsPath (verifiedBytes folder manifest weightsName)
        try
            if weightsOnly then
                loadWeights weightsPath trainer saved
                manifest.Info, History.empty
            else
                let optimizers =
                    [ for (n, opt) in trainer.Optimizers do
                        let name =
                            let current = sprintf "optimizer-%s.bin" n
                            // The first version's autoencoders saved their single optimiser as "adam", whatever it was.
                            let legacy = "optimizer-adam.bin"
                            if n = Trainer.optimizerName && not (has folder manifest current) && has folder manifest legacy then legacy else current
                        yield Path.Combine(folder, name), verifiedBytes folder manifest name, opt ]
                let rngPath = Path.Combine(folder, rngName)
                let rng =
                    // libtorch checks a generator state's size and little else: anything of the right size is a state.
                    let expected = (use current = torch.random.get_rng_state() in current.shape)
                    match SafeTensors.ofBytes rngPath (verifiedBytes folder manifest rngName) with
                    | [ (_, t) ] when t.dtype = torch.ScalarType.Byte && t.shape = expected -> t
                    | other ->
                        for (_, t) in other do t.Dispose()
                        raise (InvalidDataException(sprintf "%s: should hold one tensor of %A bytes (libtorch's generator state)" rngPath expected))
                use _rng = rng
                let historyPath = Path.Combine(folder, historyName)
                let history =
                    if has folder manifest historyName then
                        let bytes = verifiedBytes folder manifest historyName
                        let text =
                            try Text.UTF8Encoding(false, true).GetString bytes
                            with :? Text.DecoderFallbackException -> raise (InvalidDataException(sprintf "%s: not UTF-8 text" historyPath))
                        History.ofCsv historyPath text
                    else History.empty
                // A checkpoint written at an epoch's end may hold the carried state too; the loop resets it at the next epoch.
                let carried =
                    match trainer.Carried with
                    | Some _ when has folder manifest carriedName ->
                        Some (SafeTensors.ofBytes (Path.Combine(folder, carriedName)) (verifiedBytes folder manifest carriedName))
                    | _ -> None
                // Everything read and checked: now put it into the trainer. Only TorchSharp's optimiser reader can
                // still fail (on a file without hashes); its state before is kept to put back, so that a failed
                // restore leaves the trainer as it was.
                checkWeights weightsPath trainer saved
                let before = [ for (_, _, opt) in optimizers -> opt, optimizerBytes opt ]
                try
                    for (path, bytes, opt) in optimizers do loadOptimizer path bytes opt
                    torch.random.set_rng_state rng
                with _ ->
                    for (opt, bytes) in before do
                        try loadOptimizer "(state before the restore)" bytes opt with _ -> ()
                    reraise ()
                copyWeights trainer saved
                match trainer.Carried, carried with
                | Some c, Some state -> c.Restore state
                | Some c, None -> c.Reset()
                | None, _ -> ()
                manifest.Info, history
        finally
            for (_, t) in saved do t.Dispose()

    /// The file under a checkpoints folder holding the weights of early stopping's best epoch.
    let bestPath (checkpointsFolder: string) = Path.Combine(checkpointsFolder, "best.safetensors")

    let private bestEpochKey = "generative.epoch"

    /// Saves the trainer's weights as those of `epoch`, early stopping's new best (`monitor` = `value`), to
    /// `checkpoints/best.safetensors`: written to a temporary file and renamed over the previous best, so a crash
    /// leaves either the old best or the new one, never a mix.
    let saveBest (checkpointsFolder: string) (trainer: Trainer) (epoch: int) (monitor: string) (value: float) =
        Directory.CreateDirectory checkpointsFolder |> ignore
        let path = bestPath checkpointsFolder
        let metadata =
            [ bestEpochKey, string epoch
              "generative.monitor", monitor
              "generative.value", value.ToString("R", Globalization.CultureInfo.InvariantCulture) ]
        AtomicFile.writeBytes path (SafeTensors.toBytesWithMetadata metadata (stateOf trainer))

    /// Copies the weights `saveBest` kept into the trainer, checking that they are those of `epoch`. Throws
    /// FileNotFoundException when there is no best file, InvalidDataException when it is damaged, belongs to
    /// another epoch or another model; the modules are left untouched then.
    let restoreBest (checkpointsFolder: string) (epoch: int) (trainer: Trainer) =
        let path = bestPath checkpointsFolder
        if not (File.Exists path) then
            raise (FileNotFoundException(sprintf "%s: no best weights saved (runs of earlier versions did not save them)" path, path))
        let bytes = File.ReadAllBytes path
        let metadata = SafeTensors.metadataOf path bytes
        match metadata |> List.tryFind (fun (k, _) -> k = bestEpochKey) |> Option.map snd with
        | Some e when e = string epoch -> ()
        | Some e -> raise (InvalidDataException(sprintf "%s holds the weights of epoch %s, but the best epoch in the run's history is %d" path e epoch))
        | None -> raise (InvalidDataException(sprintf "%s: no '%s' metadata (not written by a run's early stopping)" path bestEpochKey))
        let saved = SafeTensors.ofBytes path bytes
        try loadWeights path trainer saved
        finally for (_, t) in saved do t.Dispose()

    /// The epoch of the weights `saveBest` kept when the trainer holds exactly those weights (e.g. loaded from a
    /// run whose early stopping put them back); None when it holds other weights or there is no readable best file.
    let heldBestEpoch (checkpointsFolder: string) (trainer: Trainer) : int option =
        let path = bestPath checkpointsFolder
        if not (File.Exists path) then None
        else
            try
                let bytes = File.ReadAllBytes path
                let epoch = SafeTensors.metadataOf path bytes |> List.tryFind (fun (k, _) -> k = bestEpochKey) |> Option.map (snd >> int)
                let saved = SafeTensors.ofBytes path bytes
                try
                    let byName = dict saved
                    let state = stateOf trainer
                    let same (name, (t: Tensor)) =
                        match byName.TryGetValue name with
                        | true, s when s.shape <> t.shape || s.dtype <> t.dtype -> false
                        | true, s when t.device_type = DeviceType.CPU -> t.Equals s
                        | true, s -> (use onDevice = s.``to``(t.device) in t.Equals onDevice)
                        | false, _ -> false
                    if saved.Length = state.Length && List.forall same state then epoch else None
                finally for (_, t) in saved do t.Dispose()
            with :? IOException | :? InvalidDataException | :? JsonException | :? FormatException | :? OverflowException | :? InvalidOperationException -> None
