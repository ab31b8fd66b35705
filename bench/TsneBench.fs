namespace Generative.Bench

open System
open System.Diagnostics
open System.Globalization
open System.IO
open TorchSharp
open Generative

/// What `bench tsne` runs.
type TsneBenchSettings =
    { Points: int
      Dimensions: int
      Clusters: int
      Iterations: int
      Rounds: int
      Threads: int }

/// Times exact t-SNE (`Tsne.embed`, default options) on synthetic clustered points, measured, never compared:
/// there is no reference implementation on the machine (scikit-learn is not installed).
[<RequireQualifiedAccess>]
module TsneBench =
    /// 5,000 points of 10-D in 10 clusters, 1000 iterations, 3 rounds, 2 threads.
    let defaults =
        { Points = 5000; Dimensions = 10; Clusters = 10; Iterations = 1000; Rounds = 3; Threads = 2 }

    let private loadAverage () =
        if File.Exists "/proc/loadavg" then String.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ') |> Array.take 3) else "?"

    /// Points around `clusters` centres N(0, 4² I), each point N(centre, I), with their cluster as label (seed 0).
    let private data (s: TsneBenchSettings) : Tensor * Tensor =
        use g = new torch.Generator(0UL)
        use centres = torch.randn([| int64 s.Clusters; int64 s.Dimensions |], generator = g) * 4.0f
        let labels = torch.randint(int64 s.Clusters, [| int64 s.Points |], generator = g, dtype = torch.int64)
        use noise = torch.randn([| int64 s.Points; int64 s.Dimensions |], generator = g)
        use around = centres.index_select(0L, labels)
        around + noise, labels

    /// Runs the rounds in this process and returns the report's lines (Markdown table); progress goes to stderr.
    let run (s: TsneBenchSettings) : string list =
        torch.set_num_threads s.Threads
        let points, labels = data s
        use points = points
        use labels = labels
        let options = { Tsne.defaults with Iterations = s.Iterations; ExaggerationIterations = min 250 s.Iterations }
        let f (x: float) (digits: string) = x.ToString(digits, CultureInfo.InvariantCulture)
        let rows =
            [ for r in 1 .. s.Rounds do
                let load = loadAverage ()
                eprintfn "round %d/%d (load average %s)" r s.Rounds load
                let clock = Stopwatch.StartNew()
                let cpu () = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds
                use affinities = Tsne.jointAffinities options.Perplexity points
                let affinitySeconds = clock.Elapsed.TotalSeconds
                eprintfn "  after the affinities: RSS %.0f MB, peak %.0f MB" (Measurement.procStatusMb "VmRSS") (Measurement.procStatusMb "VmHWM")
                clock.Restart()
                let cpuBefore = cpu ()
                let result = Tsne.embed options points
                let seconds = clock.Elapsed.TotalSeconds
                let cpuSeconds = cpu () - cpuBefore
                use embedding = result.Embedding
                let accuracy = Knn.leaveOneOutAccuracy 5 embedding labels
                let rss = Measurement.procStatusMb "VmRSS"
                eprintfn "  embed %.1f s (CPU %.1f s; affinities alone %.1f s), KL %.4f, 5-NN %.4f, RSS %.0f MB" seconds cpuSeconds affinitySeconds result.KlDivergence accuracy rss
                sprintf "| %d | %s | %s | %s | %s | %s | %s | %s | %s |" r (f seconds "0.0") (f cpuSeconds "0.0") (f affinitySeconds "0.0")
                    (f result.KlDivergence "0.0000") (f accuracy "0.0000") (f rss "0") (f (Measurement.procStatusMb "VmHWM") "0") load ]
        [ sprintf "Exact t-SNE (Tsne.embed, default options, %d iterations) of %d points of %d-D in %d clusters, %d threads, %s"
              s.Iterations s.Points s.Dimensions s.Clusters s.Threads (Cases.version ())
          ""
          "| round | embed s | embed CPU s (all threads) | affinities alone s | KL | leave-one-out 5-NN of the embedding | RSS MB after | peak RSS MB | load average before (1, 5, 15 min) |"
          "|---|---|---|---|---|---|---|---|---|" ]
        @ rows
        @ [ ""; sprintf "%d cores." Environment.ProcessorCount ]
