namespace Generative.Bench

open System.Diagnostics
open TorchSharp

/// The matrix-multiply probe: how many GFLOP/s one square matmul reaches at a thread count and precision. It is the
/// ceiling a compute-bound model's step can approach, so each model's table can state its achieved fraction of it.
[<RequireQualifiedAccess>]
module Gemm =
    /// The side of the square matrices: large enough that packing and threading overheads are a few percent, small
    /// enough (4 MB at fp32) that a probe of a few hundred products takes seconds.
    let size = 1024

    /// Floating-point operations of one n×n by n×n product (a multiply and an add per inner-product term).
    let flopsPerProduct = 2.0 * float size * float size * float size

    /// Runs `s.Steps` products of two seeded random matrices of `dtype` (the first `s.Warmup` untimed); each product
    /// is one "step". The loss column holds the mean of the last product, so both sides can be checked to multiply
    /// the same kind of values; the metric "GFLOP/s" is the timed throughput.
    let worker (dtype: torch.ScalarType) (s: WorkerSettings) : Measurement =
        torch.manual_seed 0L |> ignore
        use a = torch.randn([| int64 size; int64 size |]).to_type dtype
        use b = torch.randn([| int64 size; int64 size |]).to_type dtype
        let mutable started = 0L
        let mutable last = 0.0
        for step in 1 .. s.Steps do
            if step = s.Warmup + 1 then started <- Stopwatch.GetTimestamp()
            // On the CPU a product is finished when matmul returns: there is nothing to wait for.
            use c = torch.matmul(a, b)
            if step = s.Steps then
                use m = c.to_type(torch.float32).mean()
                last <- float (m.item<float32>())
        let seconds = Stopwatch.GetElapsedTime(started).TotalSeconds
        let stepsPerSecond = float (s.Steps - s.Warmup) / seconds
        Cases.measured s "synthetic" [ "GFLOP/s", stepsPerSecond * flopsPerProduct / 1e9 ]
            { Rate = stepsPerSecond; MeanLoss = last; CountedGflop = flopsPerProduct / 1e9 }

    /// The probe's cases: fp32 and bfloat16 on both sides (PyTorch's scripts: bench/pytorch/gemm*.py).
    let cases : BenchCase list =
        [ { Name = "gemm"
            Description = sprintf "GEMM probe: fp32 %dx%d matmul (one product per step)" size size
            Worker = worker torch.float32
            PythonScript = "gemm.py"
            TakesSettings = false }
          { Name = "gemm-bf16"
            Description = sprintf "GEMM probe: bfloat16 %dx%d matmul (one product per step)" size size
            Worker = worker torch.bfloat16
            PythonScript = "gemm_bf16.py"
            TakesSettings = false } ]
