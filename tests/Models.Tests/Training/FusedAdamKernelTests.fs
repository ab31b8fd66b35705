module Generative.Tests.Training.FusedAdamKernelTests

open Expecto
open Generative.Tests
open TorchSharp
open Generative
open Generative.FlatOptimizers

/// Coefficients of a step with weight decay, as `FlatOptimizers.Adam` computes them at step 3.
let private coefficients =
    let b1, b2, lr, step = 0.9, 0.999, 1e-3, 3.0
    { Beta1 = float32 b1; OneMinusBeta1 = float32 (1.0 - b1); Beta2 = float32 b2; OneMinusBeta2 = float32 (1.0 - b2)
      WeightDecay = 1e-2f; RootCorrection2 = float32 (sqrt (1.0 - b2 ** step)); Epsilon = 1e-8f
      StepSize = float32 (-(lr / (1.0 - b1 ** step))) }

/// Three tensors of odd sizes (so that vector parts and one-by-one tails meet at many places), their gradients and
/// moments in flat buffers: (parameters, gradients, averages, squared averages).
let private problem () =
    let generator = new torch.Generator(3UL)
    let counts = [| 70001L; 3L; 40007L |]
    let total = Array.sum counts
    let parameters = counts |> Array.map (fun n -> torch.randn([| n |], generator = generator))
    let gradients = torch.randn([| total |], generator = generator)
    let averages = torch.randn([| total |], generator = generator) * 0.1f
    let averageSquares = torch.rand([| total |], generator = generator) * 0.01f
    parameters, gradients, averages, averageSquares

/// Runs the kernel on `problem ()`: the updated parameters and moments, flattened.
let private updated () =
    let parameters, gradients, averages, averageSquares = problem ()
    let offsets = parameters |> Array.scan (fun o (p: torch.Tensor) -> o + p.numel()) 0L
    let tensors =
        parameters |> Array.mapi (fun i p -> { Parameter = TensorMemory.address p; Offset = offsets.[i]; Count = p.numel() })
    FusedAdamKernel.update coefficients tensors (TensorMemory.address gradients) (TensorMemory.address averages)
        (TensorMemory.address averageSquares)
    torch.cat(parameters, 0L), averages, averageSquares

/// The same step as TorchSharp's tensor operations compute it (float32).
let private reference () =
    let parameters, g, m, v = problem ()
    let p = torch.cat(parameters, 0L)
    let c = coefficients
    let g = g.add(p, alpha = float c.WeightDecay)
    m.mul_((float c.Beta1).ToScalar()).add_(g, alpha = float c.OneMinusBeta1) |> ignore
    v.mul_((float c.Beta2).ToScalar()).addcmul_(g, g, value = float c.OneMinusBeta2) |> ignore
    let denominator = v.sqrt().div_((float c.RootCorrection2).ToScalar()).add_((float c.Epsilon).ToScalar())
    p.addcdiv_(m, denominator, value = float c.StepSize) |> ignore
    p, m, v

let private largestDifference (a: torch.Tensor) (b: torch.Tensor) = use d = (a - b).abs().max() in d.ToDouble()

[<Tests>]
let tests =
    testList "Training.FusedAdamKernel" [
        test "libtorch's version counter is found, so the fused step runs on this platform" {
            Expect.isTrue (FusedAdamKernel.isAvailable ()) "bump_version exported by libtorch_cpu"
        }

        test "one step gives the tensor operations' parameters and moments to float32 rounding" {
            let p, m, v = updated ()
            let p', m', v' = reference ()
            Expect.isLessThanOrEqual (largestDifference p p') 1e-6 "the parameters"
            Expect.isLessThanOrEqual (largestDifference m m') 1e-7 "the first moments"
            Expect.isLessThanOrEqual (largestDifference v v') 1e-9 "the second moments"
            let before, _, _, _ = problem ()
            Expect.isGreaterThan (largestDifference p (torch.cat(before, 0L))) 1e-4 "and the step moved them"
        }

        test "a graph that saved a parameter before the step refuses to run backward after it, as after TorchSharp's Adam" {
            Expect.equal (torch.get_num_threads ()) 1 "the suite runs libtorch on one thread, where Adam's step is the fused one"
            let w = new Modules.Parameter(torch.ones([| 4L |]))
            let optimizer = Optim.create (Optim.adam 0.1) [ w ]
            use first = (w * w).sum()
            first.backward()
            optimizer.step() |> ignore
            use again = (w * w).sum()
            use stale = (w * w).sum()
            optimizer.zero_grad()
            again.backward()
            optimizer.step() |> ignore
            Expect.throws (fun () -> stale.backward()) "autograd sees the parameter changed in place"
        }
    ]
