namespace Generative

open System
open System.IO
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

/// Checkpoints: one folder per save, `checkpoints/step-<n>/`, holding
/// weights.safetensors (every module's parameters and buffers as `<module>.<name>`), optimizer-<name>.bin
/// (TorchSharp's optimiser state format), rng.safetensors (libtorch's global generator state),
/// carried.safetensors (the state a model carries between steps, when it has one: see `CarriedState`),
/// history.csv and manifest.json. A save writes a hidden temporary folder and renames it into place, then
/// updates `checkpoints/latest` the same way, so an interrupted save never damages an earlier checkpoint.
/// Beside them, `checkpoints/best.safetensors` holds the weights of early stopping's best epoch so far (with the
/// epoch in its metadata), replaced atomically by each new best and never removed by the rotation of step folders,
/// so a run interrupted after its best epoch and resumed can still end with that epoch's weights.
[<RequireQualifiedAccess>]
module Checkpoint =
    let private manifestName = "manifest.json"
    let private latestName = "latest"
    let private carriedName = "carried.safetensors"

    /// All parameters and buffers of the trainer's modules, named `<module>.<entry>`.
    let stateOf (trainer: Trainer) : (string * Tensor) list =
        [ for (name, m) in trainer.Modules do
            for KeyValue (k, t) in m.state_dict() do
                yield name + "." + k, t ]

    /// Copies saved weights into the trainer's modules. Every expected entry must be present with its shape, and
    /// no other; errors name the file and the entry, and leave the modules untouched (all is checked first).
    let loadWeights (source: string) (trainer: Trainer) (saved: (string * Tensor) list) =
        let byName = dict saved
        let targets = stateOf trainer
        for (name, target) in targets do
            match byName.TryGetValue name with
            | false, _ ->
                raise (InvalidDataException(sprintf "%s: the checkpoint has no tensor '%s' (was it written by another model or version?)" source name))
            | true, t when t.shape <> target.shape ->
                raise (InvalidDataException(sprintf "%s: tensor '%s' has shape %A but the model expects %A" source name t.shape target.shape))
            | true, _ -> ()
        let expected = targets |> List.map fst |> Set.ofList
        match saved |> List.map fst |> List.tryFind (fun n -> not (expected.Contains n)) with
        | Some extra -> raise (InvalidDataException(sprintf "%s: unexpected tensor '%s' for this model" source extra))
        | None -> ()
        use _ = torch.no_grad()
        for (name, target) in targets do target.copy_(byName.[name]) |> ignore

    let private infoToJson (info: CheckpointInfo) =
        let o = JsonObject()
        o["format"] <- JsonValue.Create 1
        o["model"] <- JsonValue.Create info.ModelId
        let settings = JsonObject()
        for (k, v) in info.Settings do settings[k] <- JsonValue.Create v
        o["settings"] <- settings
        o["epoch"] <- JsonValue.Create info.Position.Epoch
        o["stepInEpoch"] <- JsonValue.Create info.Position.StepInEpoch
        o["step"] <- JsonValue.Create info.Position.Step
        o["createdUtc"] <- JsonValue.Create(info.CreatedUtc.ToString("o"))
        o["library"] <- JsonValue.Create(typeof<Trainer>.Assembly.GetName().Version.ToString())
        o.ToJsonString(JsonSerializerOptions(WriteIndented = true))

    /// Reads a checkpoint folder's manifest.
    let readInfo (folder: string) : CheckpointInfo =
        let path = Path.Combine(folder, manifestName)
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "%s: no checkpoint manifest here" folder, path))
        try
            let o = JsonNode.Parse(File.ReadAllText path).AsObject()
            { ModelId = o["model"].GetValue<string>()
              Settings = [ for KeyValue (k, v) in o["settings"].AsObject() -> k, v.GetValue<string>() ]
              Position =
                { Epoch = o["epoch"].GetValue<int>(); StepInEpoch = o["stepInEpoch"].GetValue<int>()
                  Step = o["step"].GetValue<int64>() }
              CreatedUtc = DateTime.Parse(o["createdUtc"].GetValue<string>()).ToUniversalTime() }
        with
        | :? JsonException | :? NullReferenceException | :? InvalidOperationException | :? FormatException as e ->
            raise (InvalidDataException(sprintf "%s: damaged checkpoint manifest: %s" path e.Message, e))

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

    /// Saves the trainer, its optimisers, the RNG state and the history as `checkpoints/step-<n>`, atomically,
    /// keeping the newest `keep` checkpoints. Returns the new folder.
    let save (checkpointsFolder: string) (keep: int) (trainer: Trainer) (history: History) (info: CheckpointInfo) : string =
        Directory.CreateDirectory checkpointsFolder |> ignore
        let name = sprintf "step-%09d" info.Position.Step
        let final = Path.Combine(checkpointsFolder, name)
        let tmp = Path.Combine(checkpointsFolder, sprintf ".tmp-%s-%s" name (Guid.NewGuid().ToString("N")))
        Directory.CreateDirectory tmp |> ignore
        SafeTensors.save (Path.Combine(tmp, "weights.safetensors")) (stateOf trainer)
        for (n, opt) in trainer.Optimizers do
            AtomicFile.writeWith (Path.Combine(tmp, sprintf "optimizer-%s.bin" n)) (fun stream ->
                use writer = new BinaryWriter(stream)
                opt.save_state_dict writer)
        use rng = torch.random.get_rng_state()
        SafeTensors.save (Path.Combine(tmp, "rng.safetensors")) [ "global", rng ]
        trainer.Carried |> Option.iter (fun carried ->
            SafeTensors.save (Path.Combine(tmp, carriedName)) [ for (n, t) in carried.Save() -> n, t.cpu() ])
        AtomicFile.writeText (Path.Combine(tmp, "history.csv")) (History.toCsv history)
        // The manifest is written last: a folder without one is incomplete and never loaded.
        AtomicFile.writeText (Path.Combine(tmp, manifestName)) (infoToJson info)
        if Directory.Exists final then Directory.Delete(final, true)
        Directory.Move(tmp, final)
        AtomicFile.writeText (Path.Combine(checkpointsFolder, latestName)) name
        let all = Directory.GetDirectories(checkpointsFolder, "step-*") |> Array.sort
        for old in all |> Array.truncate (max 0 (all.Length - max 1 keep)) do
            Directory.Delete(old, true)
        final

    /// Restores weights, and unless `weightsOnly`, optimiser and RNG state; returns the manifest and history.
    let restore (folder: string) (weightsOnly: bool) (trainer: Trainer) : CheckpointInfo * History =
        let info = readInfo folder
        let weightsPath = Path.Combine(folder, "weights.safetensors")
        let saved = SafeTensors.load weightsPath
        try loadWeights weightsPath trainer saved
        finally for (_, t) in saved do t.Dispose()
        if not weightsOnly then
            for (n, opt) in trainer.Optimizers do
                let path =
                    let current = Path.Combine(folder, sprintf "optimizer-%s.bin" n)
                    // The first version's autoencoders saved their single optimiser as "adam", whatever it was.
                    let legacy = Path.Combine(folder, "optimizer-adam.bin")
                    if n = Trainer.optimizerName && not (File.Exists current) && File.Exists legacy then legacy else current
                if not (File.Exists path) then raise (FileNotFoundException(sprintf "%s: optimiser state missing" path, path))
                opt.load_state_dict(path)
            match SafeTensors.load (Path.Combine(folder, "rng.safetensors")) with
            | [ (_, rng) ] -> torch.random.set_rng_state rng; rng.Dispose()
            | _ -> raise (InvalidDataException(sprintf "%s: rng.safetensors should hold one tensor" folder))
            match trainer.Carried with
            | Some carried ->
                // A checkpoint written at an epoch's end may hold the state too; the loop resets it at the next epoch.
                let path = Path.Combine(folder, carriedName)
                if File.Exists path then carried.Restore (SafeTensors.load path) else carried.Reset()
            | None -> ()
        let historyPath = Path.Combine(folder, "history.csv")
        let history = if File.Exists historyPath then History.ofCsv (File.ReadAllText historyPath) else History.empty
        info, history

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
        let metadata =
            try SafeTensors.metadataOf path bytes
            with :? JsonException | :? InvalidOperationException | :? ArgumentException as e ->
                raise (InvalidDataException(sprintf "%s: not a valid safetensors file: %s" path e.Message, e))
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
            with :? IOException | :? InvalidDataException | :? JsonException | :? FormatException | :? InvalidOperationException -> None
