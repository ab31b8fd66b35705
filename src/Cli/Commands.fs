/// What each `generative` sub-command does, on top of the library's Experiment, Fetch and Images modules.
module Generative.Cli.Commands

open System
open System.IO
open System.Threading
open Argu
open TorchSharp
open Generative
open Generative.Cli.Arguments

/// An error the user can fix; printed without a stack trace.
exception UsageError of string

/// `--threads N`: caps libtorch's intra-op CPU threads for this process (before any tensor work).
let setThreads (count: int) =
    if count < 1 then raise (UsageError(sprintf "--threads expects a positive number of threads, but got %d." count))
    Device.ensureNativeLoaded ()
    torch.set_num_threads count

let private parseSet (text: string) =
    match text.Split('=', 2) with
    | [| k; v |] when k.Trim() <> "" -> k.Trim(), v.Trim()
    | _ -> raise (UsageError(sprintf "--set expects key=value, but got '%s'." text))

/// The events of a run on the console: `ProgressDisplay`'s callbacks, with the evaluation's progress also handed to
/// `evaluating` (from `withRunStopKeys`).
let private runEvents onStep log (onWork: WorkProgress -> unit) (evaluating: WorkProgress -> unit) : RunEvents =
    { OnStep = onStep; Log = log; OnWork = fun p -> evaluating p; onWork p }

let private printResult (r: RunResult) =
    for (name, value, how) in r.Metrics do
        Console.WriteLine(sprintf "%s: %.6g  (%s)" name value how)
    Console.WriteLine(sprintf "report: %s" (Path.GetFullPath r.Report))
    match r.Outcome, r.Evaluation with
    | _ when StopSignals.terminationRequested () -> StopSignals.terminatedExitCode
    | Cancelled, _ | _, Skipped -> StopSignals.stoppedExitCode ()
    | _ -> 0

/// The budget `--epochs N` or `--steps N` gives (None: neither); both at once is a usage error.
let private budgetOf (args: ParseResults<TrainArgs>) : TrainingBudget option =
    match args.TryGetResult TrainArgs.Epochs, args.TryGetResult TrainArgs.Steps with
    | Some _, Some _ -> raise (UsageError "--epochs and --steps both say how long to train: give one.")
    | Some n, None -> Some (TrainingBudget.Epochs n)
    | None, Some n ->
        if n < 1L then raise (UsageError(sprintf "--steps expects a positive number of steps, but got %d." n))
        Some (TrainingBudget.Steps n)
    | None, None -> None

/// `generative train`.
let train (args: ParseResults<TrainArgs>) =
    let device = args.TryGetResult TrainArgs.Device |> Option.map Device.parse |> Option.defaultValue Auto
    let budget = budgetOf args
    let r =
        match args.TryGetResult TrainArgs.Resume with
        | Some folder ->
            if args.Contains TrainArgs.Model then
                raise (UsageError "--resume continues a run with its own model and settings: give either a model or --resume.")
            if args.Contains TrainArgs.Epoch_Test then
                raise (UsageError "--epoch-test: a resumed run keeps the per-epoch test metrics it started with, so its curves stay one series; leave it out.")
            if args.Contains TrainArgs.Precision then
                raise (UsageError "--precision: a resumed run keeps the precision it started with (run.json), so it continues exactly; leave it out.")
            // The log starts with the resumed part; run.json keeps the setting for later resumes.
            if args.Contains TrainArgs.Tensorboard then Experiment.enableTensorBoard folder
            StopSignals.withRunStopKeys (fun stop evaluating ->
                ProgressDisplay.run (fun onStep log onWork ->
                    Experiment.resumeUntil folder budget device (runEvents onStep log onWork evaluating) stop))
        | None ->
            let model =
                match args.TryGetResult TrainArgs.Model with
                | Some m -> m
                | None -> raise (UsageError "Name a model to train (see `generative models`), or --resume a run folder.")
            let d = Experiment.defaults model
            if args.Contains TrainArgs.Dataset && args.Contains TrainArgs.Corpus then
                raise (UsageError "--dataset and --corpus name the same thing: give one.")
            if args.Contains TrainArgs.Precision && (args.GetResults TrainArgs.Set |> List.exists (fun s -> (fst (parseSet s)).Trim() = "precision")) then
                raise (UsageError "--precision and --set precision=... name the same setting: give one.")
            if args.Contains TrainArgs.Text && (args.Contains TrainArgs.Dataset || args.Contains TrainArgs.Corpus) then
                raise (UsageError "--text trains on a file instead of a named corpus: give either --text or --corpus.")
            let s =
                { d with
                    ModelSettings =
                        (args.GetResults TrainArgs.Set |> List.map parseSet)
                        @ (args.TryGetResult TrainArgs.Precision |> Option.map (fun p -> "precision", p) |> Option.toList)
                    Dataset = args.TryGetResult TrainArgs.Corpus |> Option.orElse (args.TryGetResult TrainArgs.Dataset) |> Option.defaultValue d.Dataset
                    TextFile = args.TryGetResult TrainArgs.Text
                    DataFolder = args.TryGetResult TrainArgs.Data
                    Normalization = args.TryGetResult TrainArgs.Normalization
                    BatchSize = args.GetResult(TrainArgs.Batch_Size, d.BatchSize)
                    Seed = args.GetResult(TrainArgs.Seed, d.Seed)
                    Device = device
                    RunsRoot = args.GetResult(TrainArgs.Runs, d.RunsRoot)
                    RunFolder = args.TryGetResult TrainArgs.Run_Folder
                    CheckpointEverySteps = args.GetResult(TrainArgs.Checkpoint_Every, d.CheckpointEverySteps)
                    CheckpointEveryMinutes = args.GetResult(TrainArgs.Checkpoint_Minutes, d.CheckpointEveryMinutes)
                    KeepCheckpoints = args.GetResult(TrainArgs.Keep_Checkpoints, d.KeepCheckpoints)
                    EpochTestImages = args.GetResult(TrainArgs.Epoch_Test, d.EpochTestImages)
                    TensorBoard = args.Contains TrainArgs.Tensorboard }
                |> fun s -> match budget with Some b -> RunSettings.withBudget b s | None -> s
            // Settings the command line gave are checked before anything is loaded or written; a bad one is a usage
            // error (exit 2) naming the setting.
            try Experiment.validate s
            with :? ArgumentException as e -> raise (UsageError(Errors.messageOf e))
            StopSignals.withRunStopKeys (fun stop evaluating ->
                ProgressDisplay.run (fun onStep log onWork -> Experiment.trainUntil s (runEvents onStep log onWork evaluating) stop))
    printResult r

let private outPath (run: string) (args: ParseResults<RunImageArgs>) (name: string) =
    args.GetResult(RunImageArgs.Out, Path.Combine(run, name + ".png"))

/// Loads the run the arguments name on their device, with the operation `operationOf` takes from its model; a model
/// without it is a usage error worded by `missing` (given the model id and the run folder).
let private loadRunWith (args: ParseResults<RunImageArgs>) (operationOf: RunModel -> 'Operation option) (missing: string -> string -> string) =
    let run = args.GetResult RunImageArgs.Run
    let device = args.TryGetResult RunImageArgs.Device |> Option.map Device.parse |> Option.defaultValue Auto
    let s, model = Experiment.load run device
    match operationOf model with
    | None -> raise (UsageError(missing s.ModelId run))
    | Some operation -> run, device, s, operation

/// The images of a run's data set; a usage error for a language model's run.
let private imagesOf (s: RunSettings) (run: string) : ImageDataset =
    match Experiment.loadData s with
    | ImageData images -> images
    | TextData _ -> raise (UsageError(sprintf "%s is a language model's run: it has no images (try `generative generate %s`)." run run))

/// Streams `length` tokens of a language model to the console as they are drawn (Ctrl+C stops early).
let private streamText (generate: TextGenerator) (prompt: string) (length: int) (options: SamplingOptions) (seed: int64) =
    use generator = new torch.Generator(uint64 seed)
    Console.Write prompt
    StopSignals.withCancelKey (fun token -> generate prompt length options generator (fun piece -> Console.Write piece; Console.Out.Flush()) token) |> ignore
    Console.WriteLine()

/// `generative generate`.
let generate (args: ParseResults<GenerateArgs>) =
    let run = args.GetResult GenerateArgs.Run
    let device = args.TryGetResult GenerateArgs.Device |> Option.map Device.parse |> Option.defaultValue Auto
    let options =
        { Temperature = args.GetResult(GenerateArgs.Temperature, 0.8)
          TopK = args.GetResult(GenerateArgs.Top_K, 0)
          TopP = args.GetResult(GenerateArgs.Top_P, 1.0) }
    let length = args.GetResult(GenerateArgs.Length, 500)
    // Options are checked before the model is loaded.
    try
        TokenSampling.validate options
        if length < 0 then Errors.invalidArg "length" "a number of tokens >= 0" length
    with :? ArgumentException as e -> raise (UsageError(Errors.messageOf e))
    let s, model = Experiment.load run device
    match model.Generate with
    | None -> raise (UsageError(sprintf "%s is not a language model (%s); try `generative sample %s`." run s.ModelId run))
    | Some generate -> streamText generate (args.GetResult(GenerateArgs.Prompt, "")) length options (args.GetResult(GenerateArgs.Seed, 0L))
    if StopSignals.terminationRequested () then StopSignals.terminatedExitCode else 0

/// Images per row of a run's sample grid: the number of classes when sample i is written as class i mod classes (AAE-S,
/// or an AAE whose labels are tied to its prior), so that every column holds one class; 8 otherwise.
let private sampleColumns (s: RunSettings) =
    match (Catalog.find s.ModelId).Kind with
    | ModelKind.AdversarialAutoencoder ->
        let c = AdversarialAutoencoderEntries.configOf s.ModelId s.ModelSettings
        if c.Supervised || c.TieLabelsToPrior then c.Classes else RunModel.gridColumns
    | _ -> RunModel.gridColumns

/// `generative sample`: images from a generative image model, text from a language model.
let sample (args: ParseResults<RunImageArgs>) =
    let run = args.GetResult RunImageArgs.Run
    let device = args.TryGetResult RunImageArgs.Device |> Option.map Device.parse |> Option.defaultValue Auto
    let seed = args.GetResult(RunImageArgs.Seed, 0L)
    let count = args.TryGetResult RunImageArgs.Count
    // The count is checked before the model is loaded: a negative or absurd one is a usage error.
    match count with
    | Some n when n < 0 -> raise (UsageError(sprintf "--n expects a number of images (or of a language model's tokens) >= 0, but got %d." n))
    | _ -> ()
    let saved = Experiment.readSettings run
    match count, (Catalog.find saved.ModelId).Kind with
    | Some _, ModelKind.TextGenerator | None, _ -> ()
    | Some n, _ ->
        try Experiment.ensureImageCountFits "n" saved.ModelId saved.ModelSettings (int64 n)
        with :? ArgumentException as e -> raise (UsageError(Errors.messageOf e))
    let s, model = Experiment.load run device
    match model.Sample, model.Generate with
    | Some draw, _ ->
        let columns = sampleColumns s
        use generator = new torch.Generator(uint64 seed)
        use _ = torch.no_grad()
        use images = draw generator (args.GetResult(RunImageArgs.Count, 8 * columns))
        let out = outPath run args "samples"
        Images.saveGrid out columns (Transforms.denormalize (Experiment.parseNormalization s.Normalization.Value) (images.cpu()))
        Console.WriteLine(sprintf "wrote %s" (Path.GetFullPath out))
    | None, Some generate ->
        // A language model's sample is text: --n tokens at temperature 1, after a line break.
        streamText generate "" (args.GetResult(RunImageArgs.Count, 500)) TokenSampling.plain seed
    | None, None ->
        raise (UsageError(sprintf "%s has no prior to sample from; `generative reconstruct %s` shows what it learned." s.ModelId run))
    0

/// `generative reconstruct`.
let reconstruct (args: ParseResults<RunImageArgs>) =
    match args.TryGetResult RunImageArgs.Count with
    | Some n when n < 1 -> raise (UsageError(sprintf "--n expects at least 1 image, but got %d." n))
    | _ -> ()
    let run, device, s, f =
        loadRunWith args (fun model -> model.Reconstruct) (sprintf "%s does not reconstruct inputs; try `generative sample %s`.")
    let data = imagesOf s run
    let n = min (int64 (args.GetResult(RunImageArgs.Count, 32))) data.Test.Count
    // A seeded random choice of test images, so repeated calls can show different digits.
    use g = new torch.Generator(uint64 (args.GetResult(RunImageArgs.Seed, 0L)))
    use idx = torch.randperm(data.Test.Count, generator = g).narrow(0L, 0L, n)
    use _ = torch.no_grad()
    use x = data.Test.Images.index_select(0L, idx).``to``(Device.resolve device)
    use r = f x
    use grid = RunModel.interleaveRows 8 (x.cpu()) (r.cpu())
    let out = outPath run args "reconstructions"
    Images.saveGrid out 8 (Transforms.denormalize data.Normalization grid)
    Console.WriteLine(sprintf "wrote %s (odd rows: originals, even rows: reconstructions)" (Path.GetFullPath out))
    0

/// `generative encode`.
let encode (args: ParseResults<EncodeArgs>) =
    let run = args.GetResult EncodeArgs.Run
    let device = args.TryGetResult EncodeArgs.Device |> Option.map Device.parse |> Option.defaultValue Auto
    let s, model = Experiment.load run device
    match model.Encode with
    | None -> raise (UsageError(sprintf "%s has no encoder." s.ModelId))
    | Some f ->
        let data = imagesOf s run
        let out = args.GetResult(EncodeArgs.Out, Path.Combine(run, "codes.csv"))
        use _ = torch.no_grad()
        use codes = f (data.Test.Images.``to``(Device.resolve device))
        let c = codes.cpu().to_type(torch.float32)
        let width = int c.shape.[1]
        let values = c.data<float32>().ToArray()
        let labels = data.Test.Labels.data<int64>().ToArray()
        let lines =
            seq {
                yield "label," + String.Join(",", [ for i in 0 .. width - 1 -> sprintf "code%d" i ])
                for row in 0 .. labels.Length - 1 do
                    yield string labels.[row] + "," + String.Join(",", [ for i in 0 .. width - 1 -> values.[row * width + i].ToString("R", Globalization.CultureInfo.InvariantCulture) ])
            }
        File.WriteAllLines(out, lines)
        Console.WriteLine(sprintf "wrote %d codes of size %d to %s" labels.Length width (Path.GetFullPath out))
        0

/// `generative style`: the style traversal or style transfer grid of a supervised adversarial autoencoder (AAE-S), from
/// a run folder or a model file.
let style (args: ParseResults<StyleArgs>) =
    let source = args.GetResult StyleArgs.Source
    let device = args.TryGetResult StyleArgs.Device |> Option.map Device.parse |> Option.defaultValue Auto
    let kind = args.GetResult(StyleArgs.Kind, "traversal").Trim().ToLowerInvariant()
    if kind <> "traversal" && kind <> "transfer" then
        raise (UsageError(sprintf "--kind expects traversal or transfer, but got '%s'." kind))
    let count = args.TryGetResult StyleArgs.Count
    match count with
    | Some n when n < 1 -> raise (UsageError(sprintf "--n expects at least 1, but got %d." n))
    | _ -> ()
    let isModelFile = File.Exists source
    if not isModelFile && (args.Contains StyleArgs.Dataset || args.Contains StyleArgs.Data) then
        raise (UsageError "--dataset and --data choose a model file's test images: a run folder uses its own data set.")
    // A model file brings its id, settings and normalisation; its test images come from --dataset (MNIST by default).
    let s, model =
        if isModelFile then
            let modelId, settings, normalization, model = Experiment.loadModel source device
            let d = Experiment.defaults modelId
            { d with
                ModelSettings = settings
                Dataset = args.GetResult(StyleArgs.Dataset, d.Dataset)
                DataFolder = args.TryGetResult StyleArgs.Data
                Normalization = Some normalization
                Device = device },
            model
        else Experiment.load source device
    let entry = Catalog.find s.ModelId
    let aae =
        if entry.Kind = ModelKind.AdversarialAutoencoder then Some (AdversarialAutoencoderEntries.ofRunModel s.ModelId s.ModelSettings model)
        else None
    let m =
        match aae with
        | Some m when m.Config.Supervised -> m
        | _ ->
            let what = if entry.Kind = ModelKind.AdversarialAutoencoder then "an unsupervised adversarial autoencoder" else "not an adversarial autoencoder"
            raise (UsageError(sprintf "%s holds %s (%s): style grids need a supervised adversarial autoencoder (aae-s), whose decoder takes the label beside the code." source s.ModelId what))
    let c = m.Config
    let norm = Experiment.parseNormalization s.Normalization.Value
    let out =
        let name = sprintf "style-%s.png" kind
        args.GetResult(StyleArgs.Out,
                       if isModelFile then Path.Combine(Path.GetDirectoryName(Path.GetFullPath source), Path.GetFileNameWithoutExtension source + "-" + name)
                       else Path.Combine(source, name))
    use _ = torch.no_grad()
    if kind = "traversal" then
        let n = defaultArg count AdversarialAutoencoderEntries.traversalLabels.Length
        if n > c.Classes then raise (UsageError(sprintf "--n expects at most %d classes (the model's), but got %d." c.Classes n))
        let steps = AdversarialAutoencoderEntries.traversalSteps
        use images = Aae.styleTraversal m [ 0 .. n - 1 ] steps
        Images.saveGrid out steps (Transforms.denormalize norm (images.cpu()))
        Console.WriteLine(sprintf "wrote %s (rows: classes 0 to %d sweeping code dimension 1, then the same classes sweeping dimension 2; %d points over ±%g)"
                              (Path.GetFullPath out) (n - 1) steps (LatentPrior.traversalHalfWidth c.Prior 0))
    else
        let data =
            match Experiment.loadData s with
            | ImageData images -> images
            | TextData _ -> raise (UsageError(sprintf "%s trains on images, not text." s.ModelId))
        let n = min (int64 (defaultArg count AdversarialAutoencoderEntries.transferImages)) data.Test.Count
        use images = Aae.styleTransfer m (data.Test.Images.narrow(0L, 0L, n))
        Images.saveGrid out (c.Classes + 1) (Transforms.denormalize norm (images.cpu()))
        Console.WriteLine(sprintf "wrote %s (rows: a test image, then its code decoded as class 0 to %d)" (Path.GetFullPath out) (c.Classes - 1))
    0

/// Re-measures a run with progress on the console; Ctrl+C stops it within a unit of work, leaving the run's report as it
/// was. Some (metrics, report path), or None when stopped.
let private evaluateWithProgress (folder: string) (device: DeviceChoice) =
    StopSignals.withCancelKey (fun token ->
        ProgressDisplay.run (fun _ log onWork ->
            try Some (Experiment.evaluateIn { Token = token; Report = onWork } folder device)
            with :? OperationCanceledException when token.IsCancellationRequested ->
                log (sprintf "stopped; the report of %s is unchanged" folder)
                None))

/// `generative report`.
let report (args: ParseResults<ReportArgs>) =
    match evaluateWithProgress (args.GetResult ReportArgs.Run) Auto with
    | Some (_, path) ->
        Console.WriteLine(sprintf "report: %s" (Path.GetFullPath path))
        0
    | None -> StopSignals.stoppedExitCode ()

/// `generative eval`.
let eval (args: ParseResults<EvalArgs>) =
    let device = args.TryGetResult EvalArgs.Device |> Option.map Device.parse |> Option.defaultValue Auto
    match evaluateWithProgress (args.GetResult EvalArgs.Run) device with
    | Some (metrics, report) ->
        for (name, value, how) in metrics do
            Console.WriteLine(sprintf "%s: %.6g  (%s)" name value how)
        Console.WriteLine(sprintf "report: %s" (Path.GetFullPath report))
        0
    | None -> StopSignals.stoppedExitCode ()

/// `generative runs`: a table of the run folders under a folder, oldest first.
let runs (args: ParseResults<RunsArgs>) =
    let root = args.GetResult(RunsArgs.Root, "runs")
    let found, damaged = RunIndex.under root
    let rows =
        [ for r in found ->
            [ Path.GetFileName r.Folder; r.Settings.ModelId
              (match r.Metrics with Some m -> m.Dataset | None -> r.Settings.Dataset)
              RunIndex.statusText r; RunIndex.epochsText r; RunIndex.headlineText r
              r.Started.ToLocalTime().ToString("yyyy-MM-dd HH:mm", Globalization.CultureInfo.InvariantCulture) ] ]
    let header = [ "run"; "model"; "data"; "status"; "epochs"; "headline metric"; "date" ]
    let widths = header |> List.mapi (fun i h -> rows |> List.fold (fun w row -> max w (String.length (List.item i row))) h.Length)
    let line (cells: string list) = String.Join("  ", List.map2 (fun (c: string) w -> c.PadRight w) cells widths).TrimEnd()
    Console.WriteLine(line header)
    for row in rows do Console.WriteLine(line row)
    if found.IsEmpty then Console.WriteLine(sprintf "(no run folders in %s)" root)
    for (folder, problem) in damaged do Console.Error.WriteLine(sprintf "skipped %s: %s" folder problem)
    0

/// `generative compare`: one offline page comparing run folders.
let compare (args: ParseResults<CompareArgs>) =
    let folders = args.GetResult CompareArgs.Runs
    if folders.IsEmpty then raise (UsageError "compare expects at least one run folder.")
    let page = RunComparison.write (args.GetResult(CompareArgs.Out, "compare.html")) folders
    Console.WriteLine(sprintf "wrote %s (%d runs)" page folders.Length)
    0

/// `generative data fetch`.
let data (args: ParseResults<DataArgs>) =
    match args.GetSubCommand() with
    | DataArgs.Fetch f ->
        let name = f.GetResult FetchArgs.Name
        let folder = Fetch.fetch (name.ToLowerInvariant()) (f.TryGetResult FetchArgs.From) (fun s -> Console.WriteLine s)
        Console.WriteLine(sprintf "%s is ready in %s" name folder)
        0

/// `generative features train`.
let features (args: ParseResults<FeaturesArgs>) =
    match args.GetSubCommand() with
    | FeaturesArgs.Train t ->
        let device = t.TryGetResult FeaturesTrainArgs.Device |> Option.map Device.parse |> Option.defaultValue Auto
        let path, accuracy =
            FeatureNets.train (t.GetResult FeaturesTrainArgs.Dataset) (t.TryGetResult FeaturesTrainArgs.Data) device (fun s -> Console.WriteLine s)
        Console.WriteLine(sprintf "saved %s (test accuracy %.2f%%)" path (100.0 * accuracy))
        0

/// `generative models`.
let models (verbose: bool) =
    for e in Catalog.all do
        Console.WriteLine(sprintf "%-12s %s" e.Id e.Title)
        if e.BatchSize <> ModelSpec.usualBatchSize then
            Console.WriteLine(sprintf "%-12s batch size %d unless --batch-size says otherwise" "" e.BatchSize)
        if verbose then
            for st in e.Settings do
                Console.WriteLine(sprintf "%-12s   %s=%s  %s" "" st.Key st.Default st.Doc)
        else
            Console.WriteLine(sprintf "%-12s settings: %s" "" (e.Settings |> List.map (fun st -> st.Key + "=" + st.Default) |> String.concat " "))
    0

/// `generative import <model> <file.pth> --out <model.safetensors>`: a PyTorch state dict of a catalog model, checked
/// name by name and shape by shape (Experiment.importPyTorch), written as a model file (Experiment.saveModel).
let importPyTorch (args: ParseResults<ImportArgs>) =
    let modelId, file = args.GetResult ImportArgs.Model_And_File
    let out = args.GetResult ImportArgs.Out
    let device = args.TryGetResult ImportArgs.Device |> Option.map Device.parse |> Option.defaultValue Auto
    let settings = args.GetResults ImportArgs.Set |> List.map parseSet
    let rules =
        args.GetResults ImportArgs.Rename
        |> List.map (fun text ->
            match text.Split('=', 2) with
            | [| from; into |] when from <> "" -> from, into
            | _ -> raise (UsageError(sprintf "--rename expects from=to, but got '%s'." text)))
    let model = Experiment.importPyTorch modelId settings file rules device
    let entry = Catalog.find modelId
    Experiment.saveModel out entry.Id settings entry.Normalization model
    Console.WriteLine(sprintf "imported %s (%d tensors) into %s" file (Checkpoint.stateOf model.Trainer).Length (Path.GetFullPath out))
    0
