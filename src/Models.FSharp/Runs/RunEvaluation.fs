namespace Generative

open System

/// What a run's end-of-run evaluation gave.
type Evaluation =
    /// The test metrics (name, value, how measured) and the report's artifacts.
    | Measured of metrics: (string * float * string) list * artifacts: ReportArtifact list
    /// Stopped before it finished (its token was cancelled): no metrics, no artifacts.
    | Skipped

/// A run's end-of-run evaluation: its test metrics (`RunModel.Evaluate`) and the report's artifacts
/// (`RunModel.Extras`), which can take minutes (a Frechet distance, a t-SNE), so a cancellation skips them.
[<RequireQualifiedAccess>]
module RunEvaluation =
    /// The model's test metrics, and its report artifacts drawn into the run folder, as units of `work`, in evaluation
    /// mode; OperationCanceledException when the work's token is cancelled (within one batch or iteration).
    let metricsAndArtifacts (work: Work) (folder: string) (model: RunModel) (data: RunData) =
        Trainer.eval model.Trainer
        let metrics = model.Evaluate work data
        let artifacts = RunPictures.drawExtras work folder model data
        metrics, artifacts

    /// `metricsAndArtifacts` as an `Evaluation`: `Skipped` when the work's token is cancelled, before or during.
    let measure (work: Work) (folder: string) (model: RunModel) (data: RunData) : Evaluation =
        if work.Token.IsCancellationRequested then Skipped
        else
            try Measured (metricsAndArtifacts work folder model data)
            with :? OperationCanceledException when work.Token.IsCancellationRequested -> Skipped

    /// The metrics of an evaluation (none when it was skipped).
    let metrics (evaluation: Evaluation) : (string * float * string) list =
        match evaluation with
        | Measured (m, _) -> m
        | Skipped -> []

    /// The report artifacts of an evaluation (none when it was skipped).
    let artifacts (evaluation: Evaluation) : ReportArtifact list =
        match evaluation with
        | Measured (_, a) -> a
        | Skipped -> []

    /// The report's sentence for an evaluation that was skipped, with the command that measures it.
    let skippedNote (folder: string) : string =
        sprintf "The evaluation (test metrics and end-of-run pictures) was skipped: the run was stopped. Measure it and rebuild this report with: generative eval %s" folder

    /// The report's notes of an evaluation: `skippedNote` when it was skipped, none otherwise.
    let notes (folder: string) (evaluation: Evaluation) : string list =
        match evaluation with
        | Measured _ -> []
        | Skipped -> [ skippedNote folder ]
