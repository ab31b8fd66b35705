namespace Generative

open System.Globalization
open System.IO
open TorchSharp

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

    /// Writes `<folder>/report.html` of `model`'s run and returns its path. `notes` end the summary, e.g.
    /// `restoredNote` or `RunEvaluation.skippedNote`.
    let write folder (s: RunSettings) (entry: CatalogEntry) (data: RunData) (device: torch.Device)
              (history: History) (metrics: (string * float * string) list) (artifacts: ReportArtifact list)
              (model: RunModel) (notes: string list) =
        let parameters = Trainer.parameterCount model.Trainer
        let report = RunFolder.reportPath folder
        let epochs = history.Epochs.Length
        let seconds = history.Epochs |> List.sumBy (fun e -> e.Seconds)
        let summary =
            sprintf "%s, trained %d of %d epochs (%d steps, %.1f s) on %s (%s), batch %d, seed %d; %d parameters."
                entry.Title epochs s.Epochs (match history.Steps with [] -> 0L | st -> (List.last st).Step) seconds
                (RunData.name data) (RunData.describeTraining data) s.BatchSize s.Seed parameters
            + (notes |> List.map (fun note -> " " + note) |> String.concat "")
        RunReport.write report
            { Title = entry.Title
              ModelId = entry.Id
              Summary = summary
              History = history
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
