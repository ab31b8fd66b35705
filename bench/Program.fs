module Generative.Bench.Program

open System
open TorchSharp

/// Every case the bench runs: the models' and the GEMM probe's.
let private allCases = Cases.all @ Gemm.cases @ OptimizerStep.cases

let private usage () =
    let names = allCases |> List.map (fun c -> c.Name) |> String.concat " | "
    eprintfn "usage: dotnet run -c Release --project bench -- <%s> [--steps N] [--batch-size B] [--threads T]" names
    eprintfn "         [--epochs E] [--rounds R] [--warmup W] [--data MNIST_DIR] [--python PATH]"
    eprintfn "   or: dotnet run -c Release --project bench -- --worker <gan case> [the flags above] [--set key=value ...]"
    eprintfn "--data trains on real MNIST and adds test-set quality columns; --epochs E sets the steps to E epochs"
    eprintfn "   or: dotnet run -c Release --project bench -- tsne [--points 5000] [--dims 10] [--clusters 10] [--iterations 1000] [--rounds 3] [--threads 2]"
    eprintfn "defaults: 2000 steps, batch 128, 2 threads, 3 rounds, 50 warm-up steps, synthetic data, /usr/bin/python3"

/// Flags after the case name as (flag, value) pairs; every flag takes a value. `--set` may repeat: its values are
/// kept in order, one per line.
let private flags (args: string list) : Map<string, string> =
    let rec go acc =
        function
        | "--set" :: v :: rest ->
            go (Map.add "--set" (match Map.tryFind "--set" acc with Some earlier -> earlier + "\n" + v | None -> v) acc) rest
        | (f: string) :: v :: rest when f.StartsWith "--" -> go (Map.add f v acc) rest
        | [] -> acc
        | other -> failwithf "cannot parse arguments: %s" (String.Join(" ", other))
    go Map.empty args

/// The `--set key=value` flags as pairs.
let private modelSettings (m: Map<string, string>) : (string * string) list =
    match m.TryFind "--set" with
    | None -> []
    | Some lines ->
        [ for line in lines.Split '\n' ->
            match line.IndexOf '=' with
            | i when i > 0 -> line.Substring(0, i), line.Substring(i + 1)
            | _ -> failwithf "--set takes key=value, got '%s'" line ]

let private positive (m: Map<string, string>) (flag: string) (fallback: int) =
    match m.TryFind flag with
    | None -> fallback
    | Some v ->
        match Int32.TryParse v with
        | true, x when x >= 1 -> x
        | _ -> failwithf "%s must be a positive integer, got '%s'" flag v

let private settings (m: Map<string, string>) : WorkerSettings =
    let batchSize = positive m "--batch-size" 128
    // --epochs E is shorthand for E passes over the 60000 training images (the last batch may be partial).
    let steps =
        match m.TryFind "--epochs" with
        | Some _ -> positive m "--epochs" 1 * ((60000 + batchSize - 1) / batchSize)
        | None -> positive m "--steps" 2000
    let s =
        { Steps = steps
          Warmup = positive m "--warmup" 50
          BatchSize = batchSize
          Threads = positive m "--threads" 2
          Data = m.TryFind "--data"
          ModelSettings = modelSettings m }
    if s.Steps <= s.Warmup then failwithf "--steps (%d) must exceed --warmup (%d)" s.Steps s.Warmup
    s

let private find (name: string) =
    match allCases |> List.tryFind (fun c -> c.Name = name) with
    | Some c -> c
    | None -> failwithf "unknown benchmark '%s'" name

[<EntryPoint>]
let main argv =
    try
        match List.ofArray argv with
        | flag :: name :: rest when flag = Harness.workerFlag ->
            let s = settings (flags rest)
            let case = find name
            if not s.ModelSettings.IsEmpty && not case.TakesSettings then
                failwithf "the worker of '%s' reads no --set settings (only the GAN cases' do)" name
            // As every library run does: libtorch loaded, and on AMD processors MKL's vendor gate opened.
            Generative.Device.ensureNativeLoaded ()
            torch.set_num_threads s.Threads
            printfn "%s" (Measurement.toJson (case.Worker s))
            0
        | "tsne" :: rest ->
            let m = flags rest
            let d = TsneBench.defaults
            TsneBench.run
                { Points = positive m "--points" d.Points
                  Dimensions = positive m "--dims" d.Dimensions
                  Clusters = positive m "--clusters" d.Clusters
                  Iterations = positive m "--iterations" d.Iterations
                  Rounds = positive m "--rounds" d.Rounds
                  Threads = positive m "--threads" d.Threads }
            |> List.iter (printfn "%s")
            0
        | name :: rest when not (name.StartsWith "-") ->
            let m = flags rest
            if m.ContainsKey "--set" then
                failwith "--set applies to one side only, so it is taken by --worker runs alone (the PyTorch scripts read no settings)"
            let options =
                { Worker = settings m
                  Rounds = positive m "--rounds" 3
                  Python = m.TryFind "--python" |> Option.defaultValue "/usr/bin/python3" }
            Harness.compare options (find name) |> List.iter (printfn "%s")
            0
        | _ ->
            usage ()
            2
    with
    | Failure message ->
        eprintfn "bench: %s" message
        usage ()
        1
    | :? ArgumentException as e ->
        // An invalid --set (unknown key, value out of range), named by the library's own message.
        eprintfn "bench: %s" e.Message
        1
