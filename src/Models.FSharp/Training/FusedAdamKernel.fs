// Adam's update for float32 tensors in CPU memory as one pass of the library's own vector code: TorchSharp's
// arithmetic, element for element, where the tensor operations it replaces make eight passes over all parameters and
// one more per parameter. Why and what it bought: docs/torchsharp.md, "Optimiser steps over flat buffers".
namespace Generative.FlatOptimizers

#nowarn "9" // NativePtr: the kernel reads and writes tensors' memory through their addresses.

open System
open System.Runtime.InteropServices
open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop
open TorchSharp
open Generative

/// The numbers of one Adam step, the same for every element, in the float32 that libtorch's kernels turn the
/// optimiser's double Scalars into.
[<Struct>]
type internal AdamStepCoefficients =
    { Beta1: float32
      OneMinusBeta1: float32
      Beta2: float32
      OneMinusBeta2: float32
      /// The L2 weight decay added to the gradient (0: none).
      WeightDecay: float32
      /// sqrt(1 - beta2^step), the second moment's bias correction.
      RootCorrection2: float32
      Epsilon: float32
      /// -lr / (1 - beta1^step): the step along the first moment over the denominator.
      StepSize: float32 }

/// Where one tensor of the update lives: its parameter's data and its offset in the flat buffers of gradients and
/// moments.
[<Struct>]
type internal AdamKernelTensor = { Parameter: nativeint; Offset: int64; Count: int64 }

/// The fused Adam update and what it needs from libtorch.
[<RequireQualifiedAccess>]
module internal FusedAdamKernel =
    [<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
    type private BumpVersion = delegate of nativeint -> unit

    // torch::autograd::impl::bump_version(const at::Tensor&): what an in-place tensor operation does to its tensor's
    // version counter, so that autograd refuses a graph that saved the parameter before the step changed it (as it
    // does after TorchSharp's own in-place update). TorchSharp's tensor handle is the at::Tensor's address.
    let private bumpVersion : Lazy<BumpVersion option> =
        lazy
            (Device.ensureNativeLoaded ()
             match NativeExports.tryFind [ "libtorch_cpu.so"; "libtorch_cpu.dylib" ]
                       [ "_ZN5torch8autograd4impl12bump_versionERKN2at6TensorE" ] with
             | Some [ bump ] -> Some (Marshal.GetDelegateForFunctionPointer<BumpVersion> bump)
             | _ -> None)

    /// Whether the kernel can run here: it needs libtorch's version counter (found on Linux and macOS).
    let isAvailable () = bumpVersion.Force().IsSome

    /// Marks `t` as changed in place, as libtorch's in-place operations do.
    let markChanged (t: torch.Tensor) =
        match bumpVersion.Force() with
        | Some bump -> bump.Invoke t.Handle
        | None -> invalidOp "libtorch's bump_version was not found: the fused Adam kernel is unavailable here"

    /// One element, in the order of TorchSharp's tensor operations: g + wd·p, m·b1 + (1-b1)·g and v·b2 + (1-b2)·g·g
    /// are fused multiply-adds, as libtorch's vectorised kernels compute them (on this library's development machine
    /// the results are TorchSharp's Adam's to the bit); the denominator and addcdiv round each operation. The vector
    /// loop below computes the same roundings, so an element's result does not depend on where it falls.
    let inline private element (c: AdamStepCoefficients) (p: nativeptr<float32>) (g: nativeptr<float32>)
                               (m: nativeptr<float32>) (v: nativeptr<float32>) (i: int) =
        let w = NativePtr.get p i
        let gradient =
            if c.WeightDecay = 0.0f then NativePtr.get g i
            else MathF.FusedMultiplyAdd(w, c.WeightDecay, NativePtr.get g i)
        let average = MathF.FusedMultiplyAdd(gradient, c.OneMinusBeta1, NativePtr.get m i * c.Beta1)
        let averageSquare = MathF.FusedMultiplyAdd(c.OneMinusBeta2 * gradient, gradient, NativePtr.get v i * c.Beta2)
        let denominator = MathF.Sqrt averageSquare / c.RootCorrection2 + c.Epsilon
        NativePtr.set m i average
        NativePtr.set v i averageSquare
        NativePtr.set p i (w + c.StepSize * average / denominator)

    /// Elements [start, stop) of one tensor: eight at a time where the CPU has 256-bit vectors, the rest one by one.
    let private updateRange (c: AdamStepCoefficients) (p: nativeptr<float32>) (g: nativeptr<float32>)
                            (m: nativeptr<float32>) (v: nativeptr<float32>) (start: int) (stop: int) =
        let mutable i = start
        if Vector256.IsHardwareAccelerated then
            let beta1, oneMinusBeta1 = Vector256.Create c.Beta1, Vector256.Create c.OneMinusBeta1
            let beta2, oneMinusBeta2 = Vector256.Create c.Beta2, Vector256.Create c.OneMinusBeta2
            let decay, root, epsilon = Vector256.Create c.WeightDecay, Vector256.Create c.RootCorrection2, Vector256.Create c.Epsilon
            let stepSize = Vector256.Create c.StepSize
            let decays = c.WeightDecay <> 0.0f
            while i + 8 <= stop do
                let w = Vector256.Load(NativePtr.add p i)
                let gradient =
                    if decays then Vector256.FusedMultiplyAdd(w, decay, Vector256.Load(NativePtr.add g i))
                    else Vector256.Load(NativePtr.add g i)
                let average = Vector256.FusedMultiplyAdd(gradient, oneMinusBeta1, Vector256.Load(NativePtr.add m i) * beta1)
                let averageSquare = Vector256.FusedMultiplyAdd(oneMinusBeta2 * gradient, gradient, Vector256.Load(NativePtr.add v i) * beta2)
                let denominator = Vector256.Sqrt averageSquare / root + epsilon
                Vector256.Store(average, NativePtr.add m i)
                Vector256.Store(averageSquare, NativePtr.add v i)
                Vector256.Store(w + stepSize * average / denominator, NativePtr.add p i)
                i <- i + 8
        while i < stop do
            element c p g m v i
            i <- i + 1

    /// Updates every tensor in `tensors` (float32, contiguous, CPU) and its moments in place: `gradients`, `averages`
    /// and `averageSquares` are the addresses of flat buffers holding each tensor's values at its offset. One
    /// thread: splitting the pass over a second one (Parallel.For) made AE-DEEP's whole training step about 10%
    /// slower at two threads, the other core being busy with libtorch's own threads.
    let update (c: AdamStepCoefficients) (tensors: AdamKernelTensor[]) (gradients: nativeint) (averages: nativeint)
               (averageSquares: nativeint) =
        for t in tensors do
            let at (buffer: nativeint) = NativePtr.ofNativeInt<float32> (buffer + nativeint (t.Offset * 4L))
            updateRange c (NativePtr.ofNativeInt<float32> t.Parameter) (at gradients) (at averages) (at averageSquares)
                0 (int t.Count)
