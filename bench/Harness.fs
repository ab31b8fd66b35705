namespace Generative.Bench

open System
open System.Diagnostics
open System.Globalization
open System.IO

/// How a comparison is run.
type HarnessOptions =
    { Worker: WorkerSettings
      /// Rounds of (ours, theirs); each measurement is a fresh process, so peaks do not mix.
      Rounds: int
      /// The Python with torch (Debian's python3-torch lives under /usr/bin/python3, not pyenv's).
      Python: string }

/// Runs measurements in child processes, alternating implementations, and reports them as Markdown.
[<RequireQualifiedAccess>]
module Harness =
    /// The internal flag that makes the bench run one case's worker and print its JSON line.
    let workerFlag = "--worker"

    let private format (digits: string) (x: float) = x.ToString(digits, CultureInfo.InvariantCulture)
    let private speed = format "0.0"

    let private settingsArgs (s: WorkerSettings) =
        [ "--steps"; string s.Steps; "--warmup"; string s.Warmup; "--batch-size"; string s.BatchSize
          "--threads"; string s.Threads ]
        @ (match s.Data with Some d -> [ "--data"; d ] | None -> [])

    /// Runs `file args` (with extra environment variables) to completion; returns exit code, stdout, stderr.
    let private runWith (environment: (string * string) list) (file: string) (args: string list) =
        let psi = ProcessStartInfo(file, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
        args |> List.iter psi.ArgumentList.Add
        for (k, v) in environment do psi.Environment.[k] <- v
        use p = Process.Start psi
        // Read stderr concurrently: a child blocked on a full stderr pipe would never finish its stdout.
        let err = p.StandardError.ReadToEndAsync()
        let out = p.StandardOutput.ReadToEnd()
        p.WaitForExit()
        p.ExitCode, out, err.Result

    let private run (file: string) (args: string list) = runWith [] file args

    let private measureWith (environment: (string * string) list) (file: string) (args: string list) : Measurement =
        match runWith environment file args with
        | 0, out, _ -> Measurement.ofOutput out
        | code, out, err -> failwithf "%s %s exited with %d\n%s\n%s" file (String.Join(" ", args)) code out err

    let private measure (file: string) (args: string list) : Measurement = measureWith [] file args

    /// The runtime setting our workers run with: .NET's tiered compilation recompiles a method with full
    /// optimisation on a background thread after about 30 calls at each tier, so a training step's own methods
    /// (called once a step) reach their final code only after some 60 steps. In the slow cases that falls inside
    /// the measured steps, and at two threads the compiling thread takes CPU from libtorch's (dcgan at two threads,
    /// steps 8-24: 4.5 steps/s, and 4.8 with this setting or when measured from step 45 on). Aggressive tiering
    /// recompiles after the first call, so the warm-up steps cover it (bench/README.md, "Method").
    let workerEnvironment = [ "DOTNET_TC_AggressiveTiering", "1" ]

    /// Our side in a fresh process: this executable again, in worker mode (through `dotnet` when started as a dll).
    let ours (case: BenchCase) (s: WorkerSettings) : Measurement =
        let self = Environment.ProcessPath
        let args = [ workerFlag; case.Name ] @ settingsArgs s
        if Path.GetFileNameWithoutExtension self = "dotnet" then
            measureWith workerEnvironment self (Reflection.Assembly.GetEntryAssembly().Location :: args)
        else measureWith workerEnvironment self args

    /// The reference script of a case, copied next to the executable by the build.
    let scriptPath (case: BenchCase) = Path.Combine(AppContext.BaseDirectory, "pytorch", case.PythonScript)

    /// The environment variable naming the file where a reference script may write its generated samples (raw
    /// float32 [N,1,28,28] in [-1,1]); the harness then scores them with the F# feature network, so both sides
    /// of a generative case are measured identically.
    let samplesVariable = "GENERATIVE_BENCH_SAMPLES"

    /// PyTorch's side in a fresh process; samples it writes are scored here on real data.
    let theirs (o: HarnessOptions) (case: BenchCase) : Measurement =
        let samples = Path.Combine(Path.GetTempPath(), sprintf "bench-%s-%s.f32" case.Name (Guid.NewGuid().ToString("N")))
        try
            let m = measureWith [ samplesVariable, samples ] o.Python (scriptPath case :: settingsArgs o.Worker)
            match o.Worker.Data with
            | Some folder when File.Exists samples ->
                let metrics = if isNull m.Metrics then Collections.Generic.Dictionary() else m.Metrics
                for (k, v) in Cases.scoreSampleFile folder samples do metrics.[k] <- v
                { m with Metrics = metrics }
            | _ -> m
        finally
            if File.Exists samples then File.Delete samples

    /// The torch version `python` can import, or None when it cannot.
    let pythonTorch (python: string) : string option =
        try
            match run python [ "-c"; "import torch; print(torch.__version__)" ] with
            | 0, out, _ -> Some(out.Trim())
            | _ -> None
        with :? ComponentModel.Win32Exception -> None

    let private median (xs: float list) =
        let s = List.sort xs
        let n = s.Length
        if n % 2 = 1 then s.[n / 2] else (s.[n / 2 - 1] + s.[n / 2]) / 2.0

    /// Every quality metric either side reported, in first-seen order.
    let private metricNames (ms: Measurement list) =
        ms |> List.collect (fun m -> if isNull m.Metrics then [] else List.ofSeq m.Metrics.Keys) |> List.distinct

    /// One table row over an implementation's rounds: median speed with its range, the highest peak RSS, the
    /// median of each quality metric ("–" where this side did not report it).
    let private row (names: string list) (ms: Measurement list) =
        let m = ms.Head
        let speeds = ms |> List.map (fun x -> x.StepsPerSecond)
        let metric name =
            match ms |> List.choose (fun x -> if isNull x.Metrics then None else match x.Metrics.TryGetValue name with | true, v -> Some v | _ -> None) with
            | [] -> "–"
            | vs when vs |> List.exists Double.IsNaN -> "n/a"
            | vs -> format "0.00000" (median vs)
        sprintf "| %s | %s | %d | %d | %s (%s–%s) | %s | %s |%s"
            m.Implementation m.Version m.Threads m.Steps (speed (median speeds)) (speed (List.min speeds))
            (speed (List.max speeds)) (format "0" (ms |> List.map (fun x -> x.PeakRssMb) |> List.max))
            (format "0.00000" (median (ms |> List.map (fun x -> x.FinalLoss))))
            (names |> List.map (fun n -> " " + metric n + " |") |> String.concat "")

    /// The Markdown report of a case: the table, then the ratio of median speeds when both sides ran.
    let report (case: BenchCase) (ours: Measurement list) (theirs: Measurement list) : string list =
        let names = metricNames (ours @ theirs)
        let header =
            [ sprintf "%s, batch %d, %s data, %d rounds, %d warm-up steps untimed"
                  case.Description ours.Head.BatchSize ours.Head.Data ours.Length ours.Head.Warmup
              ""
              "| implementation | version | threads | steps | median steps/s (min–max) | peak RSS MB | final loss |"
              + (names |> List.map (fun n -> " " + n + " |") |> String.concat "")
              "|---|---|---|---|---|---|---|" + (names |> List.map (fun _ -> "---|") |> String.concat "") ]
        let rows = row names ours :: (if theirs.IsEmpty then [] else [ row names theirs ])
        let medianSpeed (ms: Measurement list) = median (ms |> List.map (fun x -> x.StepsPerSecond))
        let ratio =
            if theirs.IsEmpty then []
            else [ ""; sprintf "Speed ratio ours/PyTorch (medians): %.2fx" (medianSpeed ours / medianSpeed theirs) ]
        // Both sides train the same network, so our count of a step's products applies to PyTorch's steps too.
        let products =
            match ours |> List.map (fun m -> m.GflopPerStep) |> List.filter (fun g -> g > 0.0) with
            | gflop :: _ ->
                let theirRate = if theirs.IsEmpty then "–" else format "0.0" (medianSpeed theirs * gflop)
                [ ""
                  sprintf "Matrix products: %s GFLOP per step (counted from the layers' shapes, forward and backward; bench/Flops.fs): ours %s GFLOP/s, PyTorch %s GFLOP/s (median speeds)"
                      (format "0.000" gflop) (format "0.0" (medianSpeed ours * gflop)) theirRate ]
            | [] -> []
        header @ rows @ ratio @ products

    /// The 1-minute load average (/proc/loadavg), NaN where there is none.
    let private loadAverage () =
        if File.Exists "/proc/loadavg" then
            Double.Parse(File.ReadAllText("/proc/loadavg").Split(' ').[0], CultureInfo.InvariantCulture)
        else nan

    /// How far above the thread count the load may be before a comparison is flagged as measured under load.
    let loadMargin = 0.5

    /// Alternates ours and theirs for `o.Rounds` rounds (the machine is shared: alternation spreads its noise
    /// over both sides), printing progress to stderr; returns the report lines.
    let compare (o: HarnessOptions) (case: BenchCase) : string list =
        let torchVersion = pythonTorch o.Python
        let notice =
            match torchVersion with
            | Some _ -> []
            | None ->
                [ ""
                  sprintf "PyTorch not measured: %s cannot import torch. Install it with `apt-get install python3-torch libopenblas0-openmp` (without OpenBLAS, Debian's torch uses the slow reference BLAS)." o.Python ]
        // The 1-minute load average before each measurement and after the last: a ratio measured on a loaded machine
        // is not a result. The average still carries about `Threads` from the previous measurement's own threads,
        // hence the margin before warning.
        let loads = ResizeArray<float>()
        let limit = float o.Worker.Threads + loadMargin
        let noteLoad () =
            let load = loadAverage ()
            loads.Add load
            if load > limit then
                eprintfn "  warning: load average %.2f exceeds %d threads + %.1f: other work is running; this comparison is not a result" load o.Worker.Threads loadMargin
        let rounds =
            [ for r in 1 .. o.Rounds do
                eprintfn "round %d/%d: %s (F#)" r o.Rounds case.Name
                noteLoad ()
                let a = ours case o.Worker
                eprintfn "  %s steps/s, peak %s MB" (speed a.StepsPerSecond) (format "0" a.PeakRssMb)
                let b =
                    torchVersion
                    |> Option.map (fun _ ->
                        eprintfn "round %d/%d: %s (PyTorch)" r o.Rounds case.Name
                        noteLoad ()
                        let b = theirs o case
                        eprintfn "  %s steps/s, peak %s MB" (speed b.StepsPerSecond) (format "0" b.PeakRssMb)
                        b)
                a, b ]
        noteLoad ()
        let loaded = loads |> Seq.exists (fun l -> l > limit)
        report case (rounds |> List.map fst) (rounds |> List.choose snd)
        @ [ ""; sprintf "Load average (1 min) before each measurement and after the last, in order: %s (%d cores; threads per side: %d)."
                    (String.Join(", ", loads |> Seq.map (fun l -> if Double.IsNaN l then "?" else format "0.00" l)))
                    Environment.ProcessorCount o.Worker.Threads ]
        @ (if loaded then
               [ ""; sprintf "**Warning: the load average exceeded the %d threads + %.1f; other work was running, so these speeds are not results. Re-run on a quiet machine.**" o.Worker.Threads loadMargin ]
           else [])
        @ notice
        @ (let unscored (m: Measurement) = not (isNull m.Metrics) && (match m.Metrics.TryGetValue "Frechet distance" with | true, v -> Double.IsNaN v | _ -> false)
           if rounds |> List.exists (fun (a, b) -> unscored a || Option.exists unscored b) then
               [ ""; "Frechet distance n/a: no feature network is saved. Make it once with `generative features train --dataset mnist` (see Runs/FeatureNets.fs), then re-run." ]
           else [])
