namespace Generative

open System
open System.Globalization
open System.IO
open System.Text.Json
open System.Text.Json.Nodes

/// Whether a smaller or a larger value of a metric is better, for marking the best of several runs.
[<RequireQualifiedAccess>]
type MetricDirection =
    | LowerIsBetter
    | HigherIsBetter
    /// Neither (a diagnostic such as a discriminator's mean output, or a baseline that is not the model's).
    | Unranked

/// One final test metric and how it was measured.
type MetricRecord =
    { Name: string
      Value: float
      /// How it was measured, as the evaluation words it (the sample size, the feature network).
      How: string
      /// The part of the data it was measured on: "test" for every end-of-run metric.
      Split: string
      /// The test examples of the data set: images, or characters of a text's test part.
      Examples: int64
      Direction: MetricDirection }

/// What metrics.json holds: a run's final test metrics, status, epochs and timings, for tools and for `generative
/// runs` and `compare`. The format is documented in docs/metrics-json.md; `Format` changes with any incompatible change.
type RunMetrics =
    { Format: int
      ModelId: string
      Dataset: string
      Status: RunStatus
      /// False when the end-of-run evaluation was skipped (or the run diverged): `Metrics` is then empty.
      Evaluated: bool
      /// Epochs whose every step ran.
      EpochsTrained: int
      /// Epochs the run was set to train.
      EpochsPlanned: int
      /// Steps taken in all (an interrupted epoch's too).
      Steps: int64
      /// The epoch whose weights the model holds when early stopping put back an earlier one.
      KeptEpoch: int option
      /// Seconds spent in the epochs that finished (over every resume).
      TrainingSeconds: float
      /// Seconds the evaluation took in the process that wrote the file (None when it did not run).
      EvaluationSeconds: float option
      Metrics: MetricRecord list
      WrittenUtc: DateTime }

/// metrics.json in a run folder: written atomically at the end of every run (also a stopped or diverged one) and by
/// `generative eval`; read back by `generative runs` and `generative compare`.
[<RequireQualifiedAccess>]
module RunMetricsFile =
    /// The version of the format this library writes.
    let format = 1

    /// `<folder>/metrics.json`.
    let path (folder: string) = Path.Combine(folder, "metrics.json")

    /// The direction of the library's own metrics, by name; other names are unranked.
    let directionOf (name: string) : MetricDirection =
        let has (part: string) = name.Contains(part, StringComparison.OrdinalIgnoreCase)
        if has "baseline" || has "D(code)" || has "D(prior)" then MetricDirection.Unranked
        elif has "accuracy" || has "inception score" then MetricDirection.HigherIsBetter
        elif has "loss" || has "MSE" || has "Frechet distance" || has "negative ELBO" || has "NLL" || has "bits per"
             || has "nats per" || has "perplexity" || has "KL" || has "error" || has "distance" || has "class share" then
            MetricDirection.LowerIsBetter
        else MetricDirection.Unranked

    let private directionName (d: MetricDirection) =
        match d with
        | MetricDirection.LowerIsBetter -> "lower"
        | MetricDirection.HigherIsBetter -> "higher"
        | MetricDirection.Unranked -> "unranked"

    /// The records of an evaluation's (name, value, how) metrics measured on `data`'s test part.
    let recordsOf (data: RunData) (metrics: (string * float * string) list) : MetricRecord list =
        let examples =
            match data with
            | ImageData d -> d.Test.Count
            | TextData t -> int64 (TextCorpus.split t.Text).Test.Length
        [ for (name, value, how) in metrics ->
            { Name = name; Value = value; How = how; Split = "test"; Examples = examples; Direction = directionOf name } ]

    let private number (v: float) : JsonNode =
        // JSON has no NaN or infinity: those are written as strings, which `read` turns back into numbers.
        if Double.IsFinite v then JsonValue.Create v :> JsonNode
        else JsonValue.Create(v.ToString(CultureInfo.InvariantCulture)) :> JsonNode

    let private toJson (m: RunMetrics) =
        let o = JsonObject()
        o["format"] <- JsonValue.Create m.Format
        o["model"] <- JsonValue.Create m.ModelId
        o["dataset"] <- JsonValue.Create m.Dataset
        o["status"] <- JsonValue.Create(RunStatus.name m.Status)
        o["evaluated"] <- JsonValue.Create m.Evaluated
        o["epochsTrained"] <- JsonValue.Create m.EpochsTrained
        o["epochsPlanned"] <- JsonValue.Create m.EpochsPlanned
        o["steps"] <- JsonValue.Create m.Steps
        m.KeptEpoch |> Option.iter (fun e -> o["keptEpoch"] <- JsonValue.Create e)
        o["trainingSeconds"] <- number m.TrainingSeconds
        m.EvaluationSeconds |> Option.iter (fun s -> o["evaluationSeconds"] <- number s)
        let metrics = JsonArray()
        for r in m.Metrics do
            let e = JsonObject()
            e["name"] <- JsonValue.Create r.Name
            e["value"] <- number r.Value
            e["how"] <- JsonValue.Create r.How
            e["split"] <- JsonValue.Create r.Split
            e["examples"] <- JsonValue.Create r.Examples
            e["better"] <- JsonValue.Create(directionName r.Direction)
            metrics.Add e
        o["metrics"] <- metrics
        o["writtenUtc"] <- JsonValue.Create(m.WrittenUtc.ToString("o", CultureInfo.InvariantCulture))
        // Relaxed escaping keeps the text readable ("data's", not "data\u0027s"); the file is never embedded in HTML.
        o.ToJsonString(JsonSerializerOptions(WriteIndented = true, Encoder = Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping))

    /// Writes `<folder>/metrics.json` atomically (temporary file, then rename).
    let write (folder: string) (m: RunMetrics) = AtomicFile.writeText (path folder) (toJson m)

    /// Reads `<folder>/metrics.json`; None when the run has none (runs of earlier versions). A damaged file is an
    /// InvalidDataException naming it.
    let tryRead (folder: string) : RunMetrics option =
        let file = path folder
        if not (File.Exists file) then None
        else
            let fail (why: string) = raise (InvalidDataException(sprintf "%s: damaged run metrics: %s" file why))
            try
                let o = JsonNode.Parse(File.ReadAllText file).AsObject()
                let num (n: JsonNode) =
                    match n.GetValueKind() with
                    | JsonValueKind.String -> Double.Parse(n.GetValue<string>(), CultureInfo.InvariantCulture)
                    | _ -> n.GetValue<float>()
                let version = o["format"].GetValue<int>()
                if version > format then fail (sprintf "format %d is newer than this library's %d" version format)
                let direction (text: string) =
                    match text with
                    | "lower" -> MetricDirection.LowerIsBetter
                    | "higher" -> MetricDirection.HigherIsBetter
                    | _ -> MetricDirection.Unranked
                Some
                    { Format = version
                      ModelId = o["model"].GetValue<string>()
                      Dataset = o["dataset"].GetValue<string>()
                      Status =
                        (let s = o["status"].GetValue<string>()
                         match RunStatus.tryParse s with Some status -> status | None -> fail (sprintf "unknown status '%s'" s))
                      Evaluated = o["evaluated"].GetValue<bool>()
                      EpochsTrained = o["epochsTrained"].GetValue<int>()
                      EpochsPlanned = o["epochsPlanned"].GetValue<int>()
                      Steps = o["steps"].GetValue<int64>()
                      KeptEpoch = (match o["keptEpoch"] with null -> None | n -> Some (n.GetValue<int>()))
                      TrainingSeconds = num o["trainingSeconds"]
                      EvaluationSeconds = (match o["evaluationSeconds"] with null -> None | n -> Some (num n))
                      Metrics =
                        [ for n in o["metrics"].AsArray() ->
                            { Name = n["name"].GetValue<string>(); Value = num n["value"]; How = n["how"].GetValue<string>()
                              Split = n["split"].GetValue<string>(); Examples = n["examples"].GetValue<int64>()
                              Direction = direction (n["better"].GetValue<string>()) } ]
                      WrittenUtc = DateTime.Parse(o["writtenUtc"].GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind) }
            with
            | :? JsonException | :? NullReferenceException | :? InvalidOperationException | :? FormatException as e -> fail e.Message

    /// The metric the run is judged by, as its report's header shows it (`RunReportFile.headlineMetrics`: test
    /// accuracy, the Frechet distance, test MSE per pixel, the negative ELBO, bits per token...).
    let headline (m: RunMetrics) : MetricRecord option =
        let triples = [ for r in m.Metrics -> r.Name, r.Value, r.How ]
        let chosen =
            match Catalog.all |> List.tryFind (fun e -> e.Id = m.ModelId) with
            | Some entry -> RunReportFile.headlineMetrics entry.Kind triples
            | None -> List.truncate 1 triples
        chosen |> List.tryHead |> Option.bind (fun (name, _, _) -> m.Metrics |> List.tryFind (fun r -> r.Name = name))

    /// The metrics file of a run that ended (or was re-measured) with `history`, `evaluation` and `status`.
    let ofRun (s: RunSettings) (data: RunData) (history: History) (status: RunStatus) (steps: int64) (keptEpoch: int option)
              (metrics: (string * float * string) list) (evaluated: bool) (evaluationSeconds: float option) : RunMetrics =
        { Format = format
          ModelId = s.ModelId
          Dataset = RunData.name data
          Status = status
          Evaluated = evaluated
          EpochsTrained = History.lastEpoch history
          EpochsPlanned = s.Epochs
          Steps = steps
          KeptEpoch = keptEpoch
          TrainingSeconds = history.Epochs |> List.sumBy (fun e -> e.Seconds)
          EvaluationSeconds = evaluationSeconds
          Metrics = recordsOf data metrics
          WrittenUtc = DateTime.UtcNow }
