namespace Generative

open System
open System.Globalization
open System.IO
open TorchSharp

/// When a run's report is written, which decides what its header says about how the run ended.
type ReportMoment =
    /// At an epoch's end while the run goes on training.
    | DuringTraining
    /// When training has ended: how (`FitResult.Outcome`), the seconds spent in an epoch it stopped part-way
    /// (`FitResult.PartialEpochSeconds`), and whether the end-of-run evaluation was skipped.
    | AfterTraining of outcome: FitOutcome * partialEpochSeconds: float * evaluationSkipped: bool
    /// Rebuilt later from the run folder (`generative report`, `generative eval`): how the run ended is read from
    /// its history and settings.
    | Rebuilt

/// A run's report.html: what goes into it (summary, settings, pictures, charts, metrics, environment), gathered
/// from the run folder and handed to `RunReport` to render.
[<RequireQualifiedAccess>]
module RunReportFile =
    /// The report's sentence saying that the model holds the weights of `epoch`, early stopping's best.
    let restoredNote (stopping: EarlyStopping) (history: History) (epoch: int) =
        let value = history.Epochs |> List.tryFind (fun e -> e.Epoch = epoch) |> Option.bind (fun e -> e.Terms.TryFind stopping.Monitor)
        sprintf "Early stopping put back the weights of epoch %d, the best by %s%s; the test metrics measure them." epoch stopping.Monitor
            (value |> Option.map (sprintf " (%.5g)") |> Option.defaultValue "")

    /// A setting's value as the config table shows it: long values (a word vocabulary) cut, with their length.
    let private shortened (value: string) =
        if value.Length <= 300 then value else sprintf "%s… (%d characters; the whole value is in run.json)" (value.Substring(0, 300)) value.Length

    /// The metrics a run of `kind` is judged by, from its evaluation's `metrics`, for the report's header: test accuracy
    /// (classifiers), the Frechet distance (GANs), test MSE per pixel (autoencoders), the negative ELBO (the VAE),
    /// bits per token and perplexity (language models), the codes' k-NN accuracy (adversarial autoencoders). When
    /// none of those names is there, the first metric; none when nothing was measured.
    let headlineMetrics (kind: ModelKind) (metrics: (string * float * string) list) : (string * float * string) list =
        let wanted (name: string) =
            match kind with
            | ModelKind.Classifier -> name = "test accuracy"
            | ModelKind.Gan -> name = "Frechet distance"
            | ModelKind.Autoencoder -> name = "test MSE per pixel"
            | ModelKind.VariationalAutoencoder -> name = "test negative ELBO (nats)"
            | ModelKind.TextGenerator -> name.StartsWith "test bits per " || name = "test perplexity"
            | ModelKind.AdversarialAutoencoder -> name.StartsWith "test code " && name.EndsWith "-NN accuracy"
        match metrics |> List.filter (fun (n, _, _) -> wanted n), metrics with
        | [], first :: _ -> [ first ]
        | chosen, _ -> chosen

    /// How the run ended and why, as the report's header says it.
    let internal status (folder: string) (s: RunSettings) (history: History) (stopping: EarlyStopping option) (moment: ReportMoment) =
        let trained = History.lastEpoch history
        let steps = match history.Steps with [] -> 0L | st -> (List.last st).Step
        let recorded = match history.Epochs with [] -> 0L | es -> (List.last es).Step
        let where = if steps > recorded then sprintf "during epoch %d, after step %d" (trained + 1) steps else sprintf "after epoch %d (step %d)" trained steps
        let earlyStop () =
            stopping |> Option.bind (fun es ->
                Loop.bestEpoch es history.Epochs
                |> Option.filter (fun (_, best) -> trained < s.Epochs && trained - best >= es.Patience)
                |> Option.map (fun (_, best) -> es, best))
        let outcome =
            match moment with
            | DuringTraining -> None
            | AfterTraining (o, _, _) -> Some o
            | Rebuilt ->
                if trained >= s.Epochs then Some Completed
                elif s.MaxSteps |> Option.exists (fun m -> steps >= m) then Some StepBudgetReached
                elif (earlyStop ()).IsSome then Some StoppedEarly
                else Some Cancelled
        match outcome with
        | None ->
            RunStatus.Training,
            sprintf "Written at the end of epoch %d of %d while the run was training; the run replaces it when it ends. If the run is no longer running, it was stopped without a final report: rebuild it with generative report %s" trained s.Epochs folder
        | Some Completed -> RunStatus.Completed, (if s.Epochs = 1 then "Trained its one epoch." else sprintf "Trained all %d epochs." s.Epochs)
        | Some StoppedEarly ->
            RunStatus.StoppedEarly,
            match earlyStop () with
            | Some (es, best) ->
                sprintf "Early stopping ended the run after epoch %d of %d: %s did not improve for %d epochs (the best was epoch %d)." trained s.Epochs es.Monitor es.Patience best
            | None -> sprintf "Early stopping ended the run after epoch %d of %d." trained s.Epochs
        | Some StepBudgetReached ->
            RunStatus.StepBudgetReached,
            sprintf "The step budget (%s steps) ended the run %s. Continue with: generative train --resume %s --steps N"
                (match s.MaxSteps with Some m -> string m | None -> string steps) where folder
        | Some Cancelled ->
            RunStatus.Interrupted,
            (match moment with
             | AfterTraining _ -> sprintf "Stopped on request (Ctrl+C, SIGTERM or a cancelled token) %s; a checkpoint was saved." where
             | _ -> sprintf "Stopped before its end (Ctrl+C, SIGTERM or a kill) %s." where)
            + sprintf " Continue with: generative train --resume %s" folder

    /// The report header of a run: how it ended and why (`status`), the epochs and steps trained, the time spent
    /// training (the epochs' durations plus the part of an epoch a stopped run was in, when known) and the headline
    /// metrics (`headlineMetrics`).
    let internal header (folder: string) (s: RunSettings) (kind: ModelKind) (history: History)
                        (metrics: (string * float * string) list) (stopping: EarlyStopping option) (moment: ReportMoment) : RunHeader =
        let runStatus, reason = status folder s history stopping moment
        let steps = match history.Steps with [] -> 0L | st -> (List.last st).Step
        let recorded = match history.Epochs with [] -> 0L | es -> (List.last es).Step
        { Status = runStatus
          Reason = reason
          EvaluationSkipped = (match moment with AfterTraining (_, _, skipped) -> skipped | _ -> false)
          EpochsTrained = History.lastEpoch history
          EpochsPlanned = s.Epochs
          Steps = steps
          // Only the process that trained an unfinished epoch timed it; metrics.csv keeps whole epochs' times only.
          TimeNote =
            match moment with
            | AfterTraining _ -> ""
            | DuringTraining | Rebuilt ->
                if steps > recorded then sprintf "without the %d steps of epoch %d (not timed)" (steps - recorded) (History.lastEpoch history + 1) else ""
          Seconds =
            (history.Epochs |> List.sumBy (fun e -> e.Seconds))
            + (match moment with AfterTraining (_, partial, _) -> partial | _ -> 0.0)
          Headline =
            headlineMetrics kind metrics
            |> List.map (fun (n, v, how) -> n, (if Double.IsNaN v then "not measured" else v.ToString("G4", CultureInfo.InvariantCulture)), how) }

    /// What the loss charts of the per-epoch test terms show (`Charts.EpochTestMarks`): the part of the test set the
    /// run measured after each epoch, and the end-of-run `metrics` on the whole test set, keyed by their epoch term;
    /// None for a run without per-epoch test metrics.
    let internal epochTestMarks (s: RunSettings) (data: RunData) (metrics: (string * float * string) list) : EpochTestMarks option =
        match data with
        | ImageData images ->
            let n = RunSettings.epochTestCount s images.Test.Count
            if n = 0L then None
            else
                Some
                    { Sample = sprintf "first %d test images" n
                      Finals = metrics |> List.map (fun (name, value, _) -> RunModel.epochTestTerm name, value) |> Map.ofList
                      FinalSample = sprintf "all %d test images" images.Test.Count }
        | _ -> None

    /// Writes `<folder>/report.html` of `model`'s run and returns its path. `notes` end the summary, e.g.
    /// `restoredNote` or `RunEvaluation.skippedNote`.
    let write folder (s: RunSettings) (entry: CatalogEntry) (data: RunData) (device: torch.Device)
              (history: History) (metrics: (string * float * string) list) (artifacts: ReportArtifact list)
              (model: RunModel) (notes: string list) (moment: ReportMoment) =
        let parameters = Trainer.parameterCount model.Trainer
        let report = RunFolder.reportPath folder
        let run = header folder s entry.Kind history metrics (RunModel.earlyStopping model.Training) moment
        let summary =
            sprintf "%s, trained %d of %d epochs (%d steps, %s) on %s (%s), batch %d, seed %d; %d parameters."
                entry.Title run.EpochsTrained s.Epochs run.Steps
                (if run.TimeNote = "" then sprintf "%.1f s" run.Seconds else sprintf "%.1f s %s" run.Seconds run.TimeNote)
                (RunData.name data) (RunData.describeTraining data) s.BatchSize s.Seed parameters
            + (notes |> List.map (fun note -> " " + note) |> String.concat "")
        RunReport.write report
            { Title = entry.Title
              ModelId = entry.Id
              Summary = summary
              Run = Some run
              History = history
              EpochTest = epochTestMarks s data metrics
              ImageSeries = RunPictures.imageSeries folder
              TextSeries = RunPictures.textSeries folder
              Charts =
                (model.ComparedTerms |> List.map (fun (title, terms) -> title, Charts.comparedTerms title terms history))
                @ Charts.trainingValidationCurves history
                @ (artifacts |> List.choose (function Chart (title, chart) -> Some (title, chart) | _ -> None))
              Texts = artifacts |> List.choose (function Text t -> Some t | _ -> None)
              Tables = artifacts |> List.choose (function Table t -> Some t | _ -> None)
              Metrics = metrics |> List.map (fun (n, v, how) -> n, v.ToString("G6", CultureInfo.InvariantCulture), how)
              Config =
                [ yield "model", s.ModelId
                  yield "dataset", RunData.name data
                  if ModelSpec.dataKind entry.Kind = DataKind.Images then yield "normalization", RunSettings.normalizationOf entry s
                  yield "epochs", string s.Epochs
                  yield "batch size", string s.BatchSize
                  yield "seed", string s.Seed ]
                @ (RunSettings.effectiveModelSettings entry s |> List.map (fun (k, v) -> k, shortened v))
              Environment =
                RunEnvironment.describe device
                @ (RunData.files data |> List.map (fun (file, sha) -> "sha256 " + Path.GetFileName file, sha)) }
        report
