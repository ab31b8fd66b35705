namespace Generative.Bench

open System.Diagnostics
open TorchSharp
open Generative

/// The optimiser-step probe: one Adam update of AE-DEEP's 20 parameter tensors (224,601 numbers) with fixed
/// gradients, nothing else. It isolates the per-parameter overhead a training step pays outside its passes: the
/// library's flat Adam (`Optim.create`), TorchSharp's own per-parameter Adam, and PyTorch's Adam (single-tensor on
/// the CPU in 1.13) side by side.
[<RequireQualifiedAccess>]
module OptimizerStep =
    /// AE-DEEP's layer sizes (784-128-64-36-18-9 and back): 10 linear layers, a weight and a bias each.
    let private sizes = [ 784; 128; 64; 36; 18; 9; 18; 36; 64; 128; 784 ]

    /// The parameters' shapes in the order the network holds them.
    let shapes =
        sizes |> List.pairwise |> List.collect (fun (input, output) -> [ [| int64 output; int64 input |]; [| int64 output |] ])

    /// Runs `s.Steps` Adam steps (the first `s.Warmup` untimed) over seeded parameters whose gradients stay fixed;
    /// the loss column holds the mean of the parameters after the last step, so both sides can be checked to have
    /// made the same updates.
    let worker (build: Modules.Parameter[] -> Modules.OptimizerHelper) (s: WorkerSettings) : Measurement =
        torch.manual_seed 0L |> ignore
        let parameters = [| for shape in shapes -> new Modules.Parameter(torch.randn(shape)) |]
        let gradients = [| for shape in shapes -> torch.randn(shape) |]
        let optimizer = build parameters
        optimizer.zero_grad()
        use _ = torch.no_grad()
        // The flat Adam's gradients exist already (views of its buffer); TorchSharp's are absent until set.
        for p, g in Array.zip parameters gradients do
            use held = p.grad
            if isNull held then p.grad <- g.clone() else held.copy_(g) |> ignore
        let mutable started = 0L
        for step in 1 .. s.Steps do
            if step = s.Warmup + 1 then started <- Stopwatch.GetTimestamp()
            optimizer.step() |> ignore
        let seconds = Stopwatch.GetElapsedTime(started).TotalSeconds
        let count = parameters |> Array.sumBy (fun p -> p.numel())
        let mean = parameters |> Array.sumBy (fun p -> use m = p.sum() in m.ToDouble()) |> fun total -> total / float count
        Cases.measured s "synthetic" [ "microseconds per step", seconds * 1e6 / float (s.Steps - s.Warmup) ]
            { Rate = float (s.Steps - s.Warmup) / seconds; MeanLoss = mean; CountedGflop = nan }

    /// The probe's cases: the library's flat Adam and TorchSharp's Adam, each against PyTorch's (adam_step.py).
    let cases : BenchCase list =
        [ { Name = "adam-step"
            Description = "Adam step alone over AE-DEEP's 20 parameter tensors: the library's flat Adam (Optim.create)"
            Worker = worker (fun ps -> Optim.create (Optim.adam 1e-3) ps)
            PythonScript = "adam_step.py"
            TakesSettings = false }
          { Name = "adam-step-torchsharp"
            Description = "Adam step alone over AE-DEEP's 20 parameter tensors: TorchSharp's per-parameter Adam"
            Worker = worker (fun ps -> torch.optim.Adam(ps, 1e-3) :> _)
            PythonScript = "adam_step.py"
            TakesSettings = false } ]
