namespace Generative

open System
open Plotly.NET
open TorchSharp

/// Something a model's report shows, drawn once from the test set when a run ends (and when its report is rebuilt):
/// what explains a trained model, such as a latent scatter, a grid of samples or passages of generated text. A model
/// declares its artifacts; the run layer saves the images and the report renders whatever is declared.
type ReportArtifact =
    /// Images [N, C, H, W] in the data's normalised space, drawn as one grid of `columns` images per row (saved as
    /// `samples/final-<slug>.png`); `RunModel.gridColumns` unless rows mean something (a traversal, a transfer).
    | ImageGrid of title: string * caption: string * columns: int * images: Tensor
    /// A chart, e.g. ("Test codes coloured by digit", a 3-D scatter).
    | Chart of title: string * chart: GenericChart
    /// Passages of text, shown verbatim.
    | Text of TextSamples
    /// A table with a header row.
    | Table of ReportTable

/// Validation of a model during training, on images held out from the training split (never the test split).
type ValidationPlan =
    { /// Fraction of the training split held out, taken from its end (as Keras' `validation_split`), e.g. 0.1.
      Fraction: float
      /// Metrics of the held-out split (after `TrainingPlan.Inputs`), e.g. "loss" and "accuracy"; the loop runs it
      /// in evaluation mode without gradients and records its terms per epoch as "val <name>".
      Measure: Split -> Map<string, float>
      /// Stop when a validation term stops improving (and keep the best weights), or None.
      EarlyStopping: EarlyStopping option }

/// How a run prepares training images: a validation split, and inputs computed once before training.
type ImageTraining =
    { /// None: every training image is trained on, no validation terms.
      Validation: ValidationPlan option
      /// Turns an image split into what the trainer's steps (and `Measure`) take, once before training, e.g. the
      /// features of a frozen backbone (transfer learning). None: steps take the images themselves.
      Inputs: (Split -> Split) option }

/// How a language model's run prepares its text: the run splits it contiguously (`TextCorpus.split`), encodes the
/// training part into a stream read in stateful chunks (`BatchSource.contiguous`) and measures the validation part
/// after every epoch.
type TextTraining =
    { /// Tokens per chunk.
      SequenceLength: int
      /// The token ids [N] (int64, CPU) of a text.
      Encode: string -> Tensor
      /// Terms of a held-out token stream, e.g. "loss" and "bits"; recorded per epoch as "val <name>".
      Measure: Tensor -> Map<string, float> }

/// How a run turns its data into the batches the trainer's steps take.
type TrainingPlan =
    /// Shuffled mini-batches of the training images (`BatchSource.shuffled`).
    | ShuffledImages of ImageTraining
    /// Consecutive chunks of the training text, with the hidden state carried between them.
    | ContiguousText of TextTraining

/// Writing new text with a language model: prompt, number of tokens, sampling options, a CPU generator to draw with,
/// a callback receiving each piece of text as it is drawn, and a cancellation token; returns the text written.
type TextGenerator = string -> int -> SamplingOptions -> torch.Generator -> (string -> unit) -> Threading.CancellationToken -> string

/// What a run needs from a model beyond training: pictures of a fixed batch, test metrics, and the operations
/// the `sample`, `reconstruct`, `encode` and `generate` commands offer. Absent operations are `None`.
/// Devices: data (`Evaluate`, `Extras`) stays on the CPU where data sets live, and the model moves what it needs
/// to its own device; `Reconstruct`, `Encode`, `Decode` and `Classify` take tensors on any device and return their
/// result on the input's device (`Device.runOn`); `Pictures`, `Sample` and the extras' pictures may return tensors
/// on the model's device, so callers move them to the CPU before reading or drawing them.
type RunModel =
    { Trainer: Trainer
      /// Named picture series of a fixed batch of test images, as images [N, C, H, W] in the data's normalised space
      /// (image models; `fun _ -> []` for none).
      Pictures: Batch -> (string * Tensor) list
      /// Named passages the model writes at the end of every epoch (language models; `RunModel.noPassages` for none).
      Passages: unit -> (string * string) list
      /// Test metrics of the run's data: name, value, how it was measured. Long loops run as units of the `Work`
      /// (cancellation checked and progress reported between batches or iterations).
      Evaluate: Work -> RunData -> (string * float * string) list
      Reconstruct: (Tensor -> Tensor) option
      Encode: (Tensor -> Tensor) option
      Decode: (Tensor -> Tensor) option
      /// `count` new images from noise drawn with the given CPU generator (so sampling never disturbs libtorch's global
      /// generator, which training and checkpoints rely on).
      Sample: (torch.Generator -> int -> Tensor) option
      /// Class probabilities [N, classes] of images [N, C, H, W] (classifiers).
      Classify: (Tensor -> Tensor) option
      /// New text after a prompt (language models).
      Generate: TextGenerator option
      /// The report's artifacts from the run's data, long loops run as units of the `Work`; `RunModel.noExtras` when
      /// there are none.
      Extras: Work -> RunData -> ReportArtifact list
      /// Terms the report draws together, one chart per (title, terms), e.g. ("D(prior) against D(code)",
      /// ["d_prior"; "d_code"]); `[]` for none.
      ComparedTerms: (string * string list) list
      /// How the run's data becomes batches (and validation terms); `RunModel.plainTraining` for shuffled images.
      Training: TrainingPlan
      /// Test metrics measured after every epoch on a small part of the test set (the first
      /// `RunSettings.EpochTestImages` test images; a sample metric draws as many images, from a fixed seed), so the
      /// end-of-run metrics can be followed as curves. Each is named as the end-of-run metric it follows, without a
      /// leading "test " (e.g. "MSE per pixel", "Frechet distance"); the loop records it as "test <name>"
      /// (`RunModel.epochTestTerm`). It must not draw from libtorch's global generator, which training and
      /// checkpoints rely on. None: the model has none (classifiers and language models have validation terms).
      EpochTest: (Split -> Map<string, float>) option }

/// What the catalog entries of every family share: test-set averages and picture layouts.
[<RequireQualifiedAccess>]
module RunModel =
    /// Train on every training image as it is, without validation.
    let plainTraining : TrainingPlan = ShuffledImages { Validation = None; Inputs = None }

    /// Images per row of a report's grids and of the per-epoch pictures.
    let gridColumns = 8

    /// The epoch term ("test <name>") of the per-epoch measure of an end-of-run metric ("test MSE per pixel" and
    /// "MSE per pixel" both give "test MSE per pixel"; "Frechet distance" gives "test Frechet distance").
    let epochTestTerm (metric: string) : string = if metric.StartsWith "test " then metric else "test " + metric

    /// No report artifacts.
    let noExtras (_: Work) (_: RunData) : ReportArtifact list = []

    /// No passages of text.
    let noPassages () : (string * string) list = []

    /// What an image model measures or draws from the test split and the class names, as a function of the run's
    /// data; InvalidOperationException for text (an image model never gets text: runs check the data kind first).
    let onImages (f: Split -> string list -> 'T list) (data: RunData) : 'T list =
        match data with
        | ImageData d -> f d.Test d.Classes
        | TextData t -> invalidOp (sprintf "an image model was given the text %s" t.Name)

    /// The early stopping of a training plan, if any.
    let earlyStopping (plan: TrainingPlan) : EarlyStopping option =
        match plan with
        | ShuffledImages images -> images.Validation |> Option.bind (fun v -> v.EarlyStopping)
        | ContiguousText _ -> None

    /// Mean of a loss over a split in batches, without gradients, in evaluation mode. Each batch is moved to
    /// `device` (the model's) before `lossOf` sees it, so a CPU split can be measured by a model on a GPU. Each batch
    /// is a unit of `work` named `task` (cancellation is checked before it, progress reported after it).
    let meanOver (work: Work) (task: string) (device: torch.Device) (batchSize: int) (split: Split) (lossOf: Tensor -> Tensor) =
        use _ = torch.no_grad()
        let n = split.Count
        let batches = Batches.batchCount n batchSize false
        let mutable total = 0.0
        let mutable start = 0L
        while start < n do
            Work.check work
            use _ = torch.NewDisposeScope()
            let len = min (int64 batchSize) (n - start)
            let x = split.Images.narrow(0L, start, len).``to``(device)
            total <- total + (lossOf x).ToDouble() * float len
            start <- start + len
            work.Report { Task = task; Done = int ((start + int64 batchSize - 1L) / int64 batchSize); Total = batches }
        total / float n

    /// Interleaves rows of originals and their reconstructions: row 2k holds originals, row 2k+1 their
    /// reconstructions, `columns` images per row.
    let interleaveRows (columns: int) (originals: Tensor) (reconstructions: Tensor) =
        let n = originals.shape.[0]
        let rows = (n + int64 columns - 1L) / int64 columns
        [ for r in 0L .. rows - 1L do
            let s = r * int64 columns
            let len = min (int64 columns) (n - s)
            yield originals.narrow(0L, s, len)
            yield reconstructions.narrow(0L, s, len) ]
        |> fun parts -> torch.cat(parts |> List.toArray, 0L)
