namespace Generative

open System
open Plotly.NET
open TorchSharp

/// Something a model's report shows, drawn once from the test set when a run ends (and when its report is rebuilt):
/// what explains a trained model, such as a latent scatter, a grid of samples or passages of generated text. A model
/// declares its artifacts; the run layer saves the images and the report renders whatever is declared.
type ReportArtifact =
    /// Images [N, C, H, W] in the data's normalised space, drawn as one grid (saved as `samples/final-<slug>.png`).
    | ImageGrid of title: string * caption: string * images: Tensor
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

/// How a run prepares its training data: a validation split, and inputs computed once before training.
type TrainingPlan =
    { /// None: every training image is trained on, no validation terms.
      Validation: ValidationPlan option
      /// Turns an image split into what the trainer's steps (and `Measure`) take, once before training, e.g. the
      /// features of a frozen backbone (transfer learning). None: steps take the images themselves.
      Inputs: (Split -> Split) option }

/// What a run needs from a model beyond training: pictures of a fixed batch, test metrics, and the operations
/// the `sample`, `reconstruct` and `encode` commands offer. Absent operations are `None`.
/// Devices: splits (`Evaluate`, `Extras`) stay on the CPU where data sets live, and the model moves what it needs
/// to its own device; `Reconstruct`, `Encode`, `Decode` and `Classify` take tensors on any device and return their
/// result on the input's device (`Device.runOn`); `Pictures`, `Sample` and the extras' pictures may return tensors
/// on the model's device, so callers move them to the CPU before reading or drawing them.
type RunModel =
    { Trainer: Trainer
      /// Named picture series of a fixed batch, as images [N, C, H, W] in the data's normalised space.
      Pictures: Batch -> (string * Tensor) list
      /// Test metrics of the test split, given the data set's class names (index k names class k): name, value,
      /// how it was measured.
      Evaluate: Split -> string list -> (string * float * string) list
      Reconstruct: (Tensor -> Tensor) option
      Encode: (Tensor -> Tensor) option
      Decode: (Tensor -> Tensor) option
      /// `count` new images from noise drawn with the given CPU generator (so sampling never disturbs libtorch's global
      /// generator, which training and checkpoints rely on).
      Sample: (torch.Generator -> int -> Tensor) option
      /// Class probabilities [N, classes] of images [N, C, H, W] (classifiers).
      Classify: (Tensor -> Tensor) option
      /// The report's artifacts from the test split and its class names; `RunModel.noExtras` when there are none.
      Extras: Split -> string list -> ReportArtifact list
      /// Validation split and prepared inputs; `RunModel.plainTraining` for none.
      Training: TrainingPlan }

/// What the catalog entries of every family share: test-set averages and picture layouts.
[<RequireQualifiedAccess>]
module RunModel =
    /// Train on every training image as it is, without validation.
    let plainTraining : TrainingPlan = { Validation = None; Inputs = None }

    /// No report artifacts.
    let noExtras (_: Split) (_: string list) : ReportArtifact list = []

    /// Mean of a loss over a split in batches, without gradients, in evaluation mode. Each batch is moved to
    /// `device` (the model's) before `lossOf` sees it, so a CPU split can be measured by a model on a GPU.
    let meanOver (device: torch.Device) (batchSize: int) (split: Split) (lossOf: Tensor -> Tensor) =
        use _ = torch.no_grad()
        let n = split.Count
        let mutable total = 0.0
        let mutable start = 0L
        while start < n do
            use _ = torch.NewDisposeScope()
            let len = min (int64 batchSize) (n - start)
            let x = split.Images.narrow(0L, start, len).``to``(device)
            total <- total + (lossOf x).ToDouble() * float len
            start <- start + len
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
