namespace Generative.Bench

open System
open System.IO
open System.Text.Json

/// What one measurement child process is asked to run (the same settings go to the PyTorch script as flags).
type WorkerSettings =
    { /// Optimisation steps in total, warm-up included.
      Steps: int
      /// Steps run before the clock starts (allocator, caches and kernels settle); they are not timed.
      Warmup: int
      BatchSize: int
      /// Intra-op threads of libtorch (`torch.set_num_threads`).
      Threads: int
      /// A folder with MNIST IDX files, or None for synthetic uniform [0,1] images.
      Data: string option
      /// Model settings (`--set key=value`, as `generative train --set`) over the case's config; only the GAN
      /// cases' workers read them, and only in `--worker` mode (the PyTorch scripts know none).
      ModelSettings: (string * string) list }

/// One child process's result: the JSON line both the F# worker and the PyTorch scripts print
/// (keys in snake_case: `steps_per_second`, `peak_rss_mb`, ...).
type Measurement =
    { /// "Generative (F#)" or "PyTorch (Python)".
      Implementation: string
      /// Versions of the stack that ran, e.g. "TorchSharp 0.107.0 / libtorch 2.10.0".
      Version: string
      Threads: int
      Steps: int
      Warmup: int
      BatchSize: int
      /// "mnist" or "synthetic".
      Data: string
      /// Timed steps (after warm-up) per second of wall-clock time.
      StepsPerSecond: float
      /// Peak resident set size of the process (VmHWM), MB.
      PeakRssMb: float
      /// Resident set size when training ended (VmRSS), MB.
      RssMb: float
      /// Mean loss over the last steps (the last 50 or all timed ones), so one noisy batch does not decide it.
      FinalLoss: float
      /// Quality measured after training on the real test split (e.g. "test MSE"), empty on synthetic data.
      Metrics: Collections.Generic.Dictionary<string, float>
      /// Billions of floating-point operations in one training step's matrix products (`Flops`), forward and
      /// backward; NaN where not counted, 0 in the PyTorch scripts' lines (which do not report it).
      GflopPerStep: float }

/// What a worker's timed loop hands its measurement.
type Timing =
    { /// Timed steps per second.
      Rate: float
      /// Mean loss over the last steps.
      MeanLoss: float
      /// One step's matrix products in GFLOP (`Flops.start`), NaN where not counted.
      CountedGflop: float }

/// Reading and writing measurements, and the process facts they are made of.
[<RequireQualifiedAccess>]
module Measurement =
    let private json =
        // Named literals ("NaN"): a metric that could not be measured (no feature network saved) is NaN.
        JsonSerializerOptions(PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
                              NumberHandling = Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals)

    /// Steps whose losses are averaged into `FinalLoss`.
    let lossWindow = 50

    /// The measurement as one JSON line.
    let toJson (m: Measurement) = JsonSerializer.Serialize(m, json)

    /// The measurement of a child's standard output: its last line that starts with '{' (libraries may print
    /// other lines first). Throws when there is none.
    let ofOutput (stdout: string) : Measurement =
        let line =
            stdout.Split('\n')
            |> Array.map (fun l -> l.Trim())
            |> Array.tryFindBack (fun l -> l.StartsWith "{")
        match line with
        | Some l -> JsonSerializer.Deserialize<Measurement>(l, json)
        | None -> failwithf "the worker printed no JSON line; its output was:\n%s" stdout

    /// A field of /proc/self/status in MB (Linux only; kernel values are in kB). VmHWM is the peak resident set.
    let procStatusMb (field: string) : float =
        File.ReadLines "/proc/self/status"
        |> Seq.tryFind (fun l -> l.StartsWith(field + ":"))
        |> Option.map (fun l -> float (l.Split(' ', StringSplitOptions.RemoveEmptyEntries).[1]) / 1024.0)
        |> Option.defaultValue nan
