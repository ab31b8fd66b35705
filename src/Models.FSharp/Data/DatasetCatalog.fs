namespace Generative

open System

/// What a data set holds, and how it is read from the folder `Fetch` found or installed.
type DatasetContent =
    /// Labelled images with train and test splits (IDX files), read in a normalisation.
    | LabelledImages of classes: string list * load: (string -> Normalization -> ImageDataset)
    /// A text corpus for language models, read from its folder.
    | TextCorpus of load: (string -> TextSource)

/// A data set runs, the CLI and the C# facade can name.
type DatasetEntry =
    { /// The name at the edges (`--dataset`, run.json, the cache folder), e.g. "fashion-mnist".
      Name: string
      /// For messages and reports, e.g. "Fashion-MNIST".
      DisplayName: string
      Content: DatasetContent }

/// The data sets the library knows by name: the one place their names are listed.
[<RequireQualifiedAccess>]
module DatasetCatalog =
    /// MNIST digits (60,000 training and 10,000 test images, classes "0" to "9").
    let mnist = { Name = "mnist"; DisplayName = "MNIST"; Content = LabelledImages(Datasets.mnistClasses, Datasets.mnist) }

    /// Fashion-MNIST clothing images (60,000 training and 10,000 test images, 10 classes).
    let fashionMnist =
        { Name = "fashion-mnist"; DisplayName = "Fashion-MNIST"; Content = LabelledImages(Datasets.fashionMnistClasses, Datasets.fashionMnist) }

    /// A text corpus `Fetch` knows, read from the folder `Fetch.folderFor` returned.
    let private corpus (name: string) (displayName: string) =
        { Name = name; DisplayName = displayName
          Content = TextCorpus(fun folder -> { TextCorpus.readFile (Fetch.corpusFile name folder) with Name = displayName }) }

    /// The char-rnn corpus: 40,000 lines of Shakespeare's plays (1,115,394 characters).
    let tinyShakespeare = corpus "tiny-shakespeare" "tiny-shakespeare"

    /// The Jargon File 4.4.7 (Debian's jargon-text; 1,681,817 bytes): hacker slang, one entry per paragraph.
    let jargon = corpus "jargon" "Jargon File"

    /// Every data set, in the order messages list them.
    let all = [ mnist; fashionMnist; tinyShakespeare; jargon ]

    /// The names, e.g. "mnist or fashion-mnist" for messages.
    let names () = all |> List.map (fun d -> d.Name) |> String.concat " or "

    /// The data set called `name` (case-insensitive); the error (ParamName "dataset") lists the names there are.
    let find (name: string) : DatasetEntry =
        let key = if isNull name then "" else name.Trim().ToLowerInvariant()
        match all |> List.tryFind (fun d -> d.Name = key) with
        | Some d -> d
        | None -> Errors.invalidArg "dataset" (names ()) name

    /// Reads a data set of labelled images from `folder` in a normalisation; ArgumentException (ParamName
    /// "dataset") for a text corpus.
    let loadImages (entry: DatasetEntry) (folder: string) (normalization: Normalization) : ImageDataset =
        match entry.Content with
        | LabelledImages (_, load) -> load folder normalization
        | TextCorpus _ -> Errors.invalidArg "dataset" "a data set of images (this one is a text corpus, for language models)" entry.Name

    /// Reads a text corpus from `folder`; ArgumentException (ParamName "dataset") for a data set of images.
    let loadText (entry: DatasetEntry) (folder: string) : TextSource =
        match entry.Content with
        | TextCorpus load -> load folder
        | LabelledImages _ -> Errors.invalidArg "dataset" "a text corpus (this data set holds images)" entry.Name

    /// True for a text corpus, false for images.
    let isText (entry: DatasetEntry) = match entry.Content with TextCorpus _ -> true | LabelledImages _ -> false

    /// The class names of a data set of labelled images (none for a text corpus).
    let classes (entry: DatasetEntry) : string list =
        match entry.Content with
        | LabelledImages (classes, _) -> classes
        | TextCorpus _ -> []
