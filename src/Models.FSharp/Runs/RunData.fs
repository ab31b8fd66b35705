namespace Generative

open System

/// What a model trains on.
[<RequireQualifiedAccess>]
type DataKind =
    | Images
    | Text

/// The data a run trains on and is measured with: labelled images, or a text for a language model.
type RunData =
    /// Train and test images with their class names.
    | ImageData of ImageDataset
    /// A text, split by the run into contiguous training, validation and test parts (`TextCorpus.split`).
    | TextData of TextSource

    interface IDisposable with
        /// Frees the images' tensors (a text holds none).
        member this.Dispose() =
            match this with
            | ImageData d -> (d :> IDisposable).Dispose()
            | TextData _ -> ()

/// What runs and reports need to say about their data.
[<RequireQualifiedAccess>]
module RunData =
    /// The data's name for reports, e.g. "MNIST" or "tiny-shakespeare".
    let name (data: RunData) =
        match data with
        | ImageData d -> d.Name
        | TextData t -> t.Name

    /// Every file read, as (path, sha256 hex), for reports.
    let files (data: RunData) =
        match data with
        | ImageData d -> d.Files
        | TextData t -> t.Files

    /// What the model trains on, for a report's summary, e.g. "60000 training images".
    let describeTraining (data: RunData) =
        match data with
        | ImageData d -> sprintf "%d training images" d.Train.Count
        | TextData t -> sprintf "%d characters, %d of them for training" t.Text.Length (TextCorpus.split t.Text).Train.Length

    /// What kind of data it is.
    let kind (data: RunData) : DataKind =
        match data with
        | ImageData _ -> DataKind.Images
        | TextData _ -> DataKind.Text
