namespace Generative

open System
open System.IO

/// One run folder as `generative runs` lists it and `generative compare` heads it.
type RunSummary =
    { Folder: string
      Settings: RunSettings
      /// metrics.json, when the run has one (runs of earlier versions do not).
      Metrics: RunMetrics option
      /// The run's history (metrics.csv), empty when it has none.
      History: History
      /// When run.json was last written (UTC): the run's start, or a resume that changed its length or logging.
      Started: DateTime }

/// Finding and summarising run folders.
[<RequireQualifiedAccess>]
module RunIndex =
    /// The summary of one run folder: its run.json, metrics.json and metrics.csv. A folder without run.json is a
    /// FileNotFoundException naming it; damaged files are InvalidDataException naming them.
    let summaryOf (folder: string) : RunSummary =
        let settings = RunFolder.readSettings folder
        let metricsCsv = RunFolder.metricsPath folder
        { Folder = folder
          Settings = settings
          Metrics = RunMetricsFile.tryRead folder
          History = if File.Exists metricsCsv then History.ofCsv metricsCsv (File.ReadAllText metricsCsv) else History.empty
          Started = File.GetLastWriteTimeUtc(RunFolder.settingsPath folder) }

    /// Every run folder directly under `root` (folders holding a run.json), oldest first, with the folders whose files
    /// could not be read as (folder, error message).
    let under (root: string) : RunSummary list * (string * string) list =
        if not (Directory.Exists root) then
            raise (DirectoryNotFoundException(sprintf "%s: no such folder (runs are made in ./runs unless --runs names another)" root))
        let folders =
            Directory.GetDirectories root
            |> Array.filter (fun d -> File.Exists(RunFolder.settingsPath d))
            |> Array.sort
        let read (d: string) =
            try Choice1Of2 (summaryOf d)
            with :? InvalidDataException | :? IOException as e -> Choice2Of2 (d, e.Message)
        let results = folders |> Array.map read |> List.ofArray
        (results |> List.choose (function Choice1Of2 s -> Some s | _ -> None) |> List.sortBy (fun s -> s.Started)),
        (results |> List.choose (function Choice2Of2 e -> Some e | _ -> None))

    /// The status of a run as metrics.json writes it; `not-recorded` for a run without one.
    let statusText (s: RunSummary) : string =
        RunStatus.name (match s.Metrics with Some m -> m.Status | None -> RunStatus.NotRecorded)

    /// Epochs trained of those planned, e.g. "3/5".
    let epochsText (s: RunSummary) : string =
        let trained = match s.Metrics with Some m -> m.EpochsTrained | None -> History.lastEpoch s.History
        sprintf "%d/%d" trained s.Settings.Epochs

    /// The headline metric as "name value", or "-" when the run has none recorded.
    let headlineText (s: RunSummary) : string =
        match s.Metrics |> Option.bind RunMetricsFile.headline with
        | Some r -> sprintf "%s %.4g" r.Name r.Value
        | None -> "-"

    /// The newest picture grid of the run's samples/ folder (the highest epoch), if it has one.
    let lastGrid (s: RunSummary) : string option =
        let samples = RunFolder.picturesFolder s.Folder
        if not (Directory.Exists samples) then None
        else
            Directory.GetFiles(samples, "*-epoch-*.png")
            |> Array.sortBy (fun f -> Path.GetFileNameWithoutExtension(f).Split('-') |> Array.last, f)
            |> Array.tryLast
