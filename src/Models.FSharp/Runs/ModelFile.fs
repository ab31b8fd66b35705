namespace Generative

open System.Collections.Generic
open System.IO
open System.Text.Json

/// A saved model file read into memory: its metadata, and its bytes, whose weights are copied into the model once
/// the model is built (from the metadata) by `ModelFile.loadWeights`.
type ModelFileContents =
    { Path: string
      Bytes: byte[]
      /// The safetensors header's metadata (key, value).
      Metadata: Map<string, string> }

/// The saved-model format: one safetensors file of the model's weights whose metadata names the model
/// (`generative.model`), the data normalisation it was trained on (`generative.normalization`) and its settings as
/// a JSON object of strings (`generative.settings`), optionally followed by more entries.
[<RequireQualifiedAccess>]
module ModelFile =
    /// Metadata key of the model's id (a catalog id, or "features-lenet" for the feature classifiers).
    let modelKey = "generative.model"

    /// Metadata key of the data normalisation's name, e.g. "zero-one".
    let normalizationKey = "generative.normalization"

    /// Metadata key of the model's settings, a JSON object of strings.
    let settingsKey = "generative.settings"

    /// Writes the trainer's weights to `path` (atomically) with the model id, the normalisation, the settings and
    /// then `extraMetadata` in the file's metadata, in that order.
    let save (path: string) (modelId: string) (settings: (string * string) list) (normalization: string)
             (extraMetadata: (string * string) list) (trainer: Trainer) =
        let metadata =
            [ modelKey, modelId
              normalizationKey, normalization
              settingsKey, JsonSerializer.Serialize(dict settings) ]
            @ extraMetadata
        AtomicFile.writeBytes path (SafeTensors.toBytesWithMetadata metadata (Checkpoint.stateOf trainer))

    /// Reads a model file's bytes and metadata (the caller checks that the file exists, with its own message).
    let read (path: string) : ModelFileContents =
        let bytes = File.ReadAllBytes path
        { Path = path; Bytes = bytes; Metadata = SafeTensors.metadataOf path bytes |> Map.ofList }

    /// The settings stored under `settingsKey`, in their saved order.
    let parseSettings (json: string) : (string * string) list =
        JsonSerializer.Deserialize<Dictionary<string, string>>(json)
        |> Seq.map (fun kv -> kv.Key, kv.Value) |> List.ofSeq

    /// The settings stored under `settingsKey` of the model file `path`, in their saved order; InvalidDataException
    /// naming the file when they are not a JSON object of strings.
    let parseSettingsIn (path: string) (json: string) : (string * string) list =
        let settings =
            try JsonSerializer.Deserialize<Dictionary<string, string>>(json)
            with :? JsonException as e ->
                raise (InvalidDataException(sprintf "%s: metadata '%s' is not a JSON object of strings: %s" path settingsKey e.Message, e))
        if isNull settings then raise (InvalidDataException(sprintf "%s: metadata '%s' is null, not a JSON object of strings" path settingsKey))
        settings |> Seq.map (fun kv -> kv.Key, kv.Value) |> List.ofSeq

    /// Copies the file's weights into the trainer's modules, checked as `Checkpoint.loadWeights` does (names, dtypes,
    /// shapes, finite values) after the file's own digest (`SafeTensors.digestKey`) when it has one.
    let loadWeights (contents: ModelFileContents) (trainer: Trainer) =
        let saved = SafeTensors.ofBytes contents.Path contents.Bytes
        try Checkpoint.loadWeights contents.Path trainer saved
        finally for (_, t) in saved do t.Dispose()
