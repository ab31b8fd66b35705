// Where a small model's training step spends its time, with TorchSharp's per-parameter Adam and with the library's
// flat Adam (FlatOptimizers.Adam, what Optim.create builds), alternating in one process:
//     dotnet fsi bench/profile/step-profile.fsx [steps, default 600] [threads, default 1]
// For each model (AE-LIN, AE-DEEP, CLS-MLP: the bench's ae-linear, ae-deep and cls-mlp networks, batch 128 of
// synthetic images) it times each phase of the step separately: zero_grad, forward and loss, backward, the
// optimiser's step, and reading the loss back as a number. Three alternating rounds; the table gives each phase's
// median in microseconds. Check `uptime` first: the numbers mean something only on a quiet machine.
#load "../../examples/FSharp/Load.fsx"

open System
open System.Diagnostics
open TorchSharp
open Generative

let args = fsi.CommandLineArgs |> Array.skip 1
let steps = if args.Length > 0 then int args.[0] else 600
let threads = if args.Length > 1 then int args.[1] else 1
torch.set_num_threads threads

let phases = [| "zero_grad"; "forward+loss"; "backward"; "step"; "loss read-back" |]

/// A model as the profile needs it: its parameters and a loss on a batch.
type Profiled = { Name: string; Parameters: unit -> Modules.Parameter[]; Loss: Tensor -> Tensor }

let autoencoder name config =
    let build () =
        torch.manual_seed 0L |> ignore
        Autoencoder.create config
    name, fun () ->
        let m = build ()
        { Name = name
          Parameters = fun () -> Array.append (Seq.toArray (m.Network.Encoder.parameters())) (Seq.toArray (m.Network.Decoder.parameters()))
          Loss = fun x -> use r = Autoencoder.reconstruct m x in (r - x).square().mean() }

let classifier name config =
    name, fun () ->
        torch.manual_seed 0L |> ignore
        let m = Classifier.create config
        let labels = torch.randint(10L, [| 128L |], dtype = torch.int64)
        { Name = name
          Parameters = fun () -> [| for (_, net) in Classifier.modules m do yield! net.parameters() |]
          Loss = fun x -> use logits = Classifier.logits m x in torch.nn.functional.cross_entropy(logits, labels) }

let models =
    [ autoencoder "ae-linear" Autoencoder.linear
      autoencoder "ae-deep" Autoencoder.deep
      classifier "cls-mlp" Classifier.mlp ]

/// Microseconds per phase, over `steps` steps after 50 untimed ones.
let profile (model: Profiled) (optimizer: Modules.OptimizerHelper) =
    use x = torch.rand([| 128L; 1L; 28L; 28L |])
    let totals = Array.zeroCreate<int64> phases.Length
    for step in 1 .. steps + 50 do
        let t0 = Stopwatch.GetTimestamp()
        optimizer.zero_grad()
        let t1 = Stopwatch.GetTimestamp()
        use loss = model.Loss x
        let t2 = Stopwatch.GetTimestamp()
        loss.backward()
        let t3 = Stopwatch.GetTimestamp()
        optimizer.step() |> ignore
        let t4 = Stopwatch.GetTimestamp()
        loss.ToDouble() |> ignore
        let t5 = Stopwatch.GetTimestamp()
        if step > 50 then
            for i, (a, b) in Array.indexed [| t0, t1; t1, t2; t2, t3; t3, t4; t4, t5 |] do totals.[i] <- totals.[i] + (b - a)
    totals |> Array.map (fun t -> float t / float Stopwatch.Frequency * 1e6 / float steps)

let loadAverage () = IO.File.ReadAllText("/proc/loadavg").Split(' ').[0]
printfn "threads %d, %d steps per measurement, load average before: %s" threads steps (loadAverage ())
let optimizers : (string * (Modules.Parameter[] -> Modules.OptimizerHelper)) list =
    [ "TorchSharp Adam", fun ps -> torch.optim.Adam(ps, 1e-3) :> _
      "flat Adam", fun ps -> Optim.create (Optim.adam 1e-3) ps ]
let results = Collections.Generic.Dictionary<string * string, ResizeArray<float[]>>()
for _ in 1 .. 3 do
    for name, build in models do
        for label, create in optimizers do
            // TorchSharp's Adam leaves Scalars and tensors to the finalizer (its probe peaked at 1.4 GB); drain them
            // so that one measurement's garbage does not slow the next one's allocations.
            GC.Collect()
            GC.WaitForPendingFinalizers()
            GC.Collect()
            let model = build ()
            let r = profile model (create (model.Parameters()))
            let key = name, label
            if not (results.ContainsKey key) then results.[key] <- ResizeArray()
            results.[key].Add r
let median (xs: float seq) = let a = Seq.sort xs |> Seq.toArray in a.[a.Length / 2]
printfn ""
printfn "| model | optimiser | %s | total (µs) |" (String.Join(" | ", phases |> Array.map (fun p -> p + " (µs)")))
printfn "|---|---|%s---|" (String.replicate phases.Length "---|")
for name, _ in models do
    for label, _ in optimizers do
        let rounds = results.[(name, label)]
        let medians = Array.init phases.Length (fun i -> median (rounds |> Seq.map (fun r -> r.[i])))
        printfn "| %s | %s | %s | %.0f |" name label (String.Join(" | ", medians |> Array.map (sprintf "%.0f"))) (Array.sum medians)
printfn ""
printfn "load average after: %s" (loadAverage ())
