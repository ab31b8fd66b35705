// One time step of an LSTM layer's element-wise work as one pass of the library's own vector code, where ATen runs
// about ten tensor operations forward and twenty-five backward per step, each a pass over small tensors with its own
// dispatch. Why and what it bought: docs/torchsharp.md, "The LSTM's element-wise work".
namespace Generative

#nowarn "9" // NativePtr: the kernel reads and writes tensors' memory through their addresses.

open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop

/// The element-wise part of an LSTM step over a batch, float32, row-major: the gates of row r are
/// [i | f | g | o] (input, forget, cell and output gates, `hidden` wide each, PyTorch's order) at r x 4 x hidden, a
/// state row at r x hidden. Eight lanes at a time; a row's last lanes (when `hidden` is not a multiple of 8) go
/// through the same vector code on a zero-padded copy, so an element's result does not depend on where it falls.
[<RequireQualifiedAccess>]
module internal LstmCellKernel =
    // exp for float32 lanes: Cody-Waite reduction by ln 2 and Cephes' degree-5 polynomial (expf), within 2 ulp.
    // Arguments are clamped to [-87.3, 88.37] (beyond, the sigmoid and tanh below are 0, 1 or -1 to float32
    // precision); comparisons leave NaN in place, so a diverging network's NaN reaches the loss.
    let private expHigh = Vector256.Create 88.3762626647949f
    let private expLow = Vector256.Create -87.3365478515625f
    let private log2e = Vector256.Create 1.44269504088896341f
    let private ln2High = Vector256.Create 0.693359375f
    let private ln2Low = Vector256.Create -2.12194440e-4f
    let private p0 = Vector256.Create 1.9875691500e-4f
    let private p1 = Vector256.Create 1.3981999507e-3f
    let private p2 = Vector256.Create 8.3334519073e-3f
    let private p3 = Vector256.Create 4.1665795894e-2f
    let private p4 = Vector256.Create 1.6666665459e-1f
    let private p5 = Vector256.Create 5.0000001201e-1f
    let private one = Vector256.Create 1.0f
    let private two = Vector256.Create 2.0f

    let inline private exp (x: Vector256<float32>) =
        let x = Vector256.ConditionalSelect(Vector256.GreaterThan(x, expHigh), expHigh, x)
        let x = Vector256.ConditionalSelect(Vector256.LessThan(x, expLow), expLow, x)
        let n = Vector256.Round(x * log2e)
        let r = x - n * ln2High - n * ln2Low
        let polynomial = ((((p0 * r + p1) * r + p2) * r + p3) * r + p4) * r + p5
        let y = polynomial * r * r + r + one
        let scale = Vector256.ShiftLeft(Vector256.ConvertToInt32 n + Vector256.Create 127, 23).AsSingle()
        y * scale

    let inline private sigmoid (x: Vector256<float32>) = one / (one + exp -x)

    // 1 - 2 / (e^2x + 1): exact at the ends; near 0 its absolute error is a float32 rounding of 1.
    let inline private tanh (x: Vector256<float32>) = one - two / (exp (two * x) + one)

    /// Eight lanes from `p`, or the first `count` of them zero-padded through `scratch` (8 floats).
    let inline private load (p: nativeptr<float32>) (count: int) (scratch: float32[]) =
        if count = 8 then Vector256.Load p
        else
            for k in 0 .. 7 do scratch.[k] <- if k < count then NativePtr.get p k else 0.0f
            Vector256.Create<float32>(values = scratch)

    /// Stores eight lanes at `p`, or the first `count` of them through `scratch`.
    let inline private store (v: Vector256<float32>) (p: nativeptr<float32>) (count: int) (scratch: float32[]) =
        if count = 8 then Vector256.Store(v, p)
        else
            v.CopyTo(scratch)
            for k in 0 .. count - 1 do NativePtr.set p k scratch.[k]

    /// Calls `f row column count` for every group of up to 8 lanes of `rows` x `hidden`.
    let inline private forLanes (rows: int) (hidden: int) ([<InlineIfLambda>] f: int -> int -> int -> unit) =
        for r in 0 .. rows - 1 do
            let mutable j = 0
            while j < hidden do
                f r j (min 8 (hidden - j))
                j <- j + 8

    /// The forward step. `gates` holds the pre-activations (input and state products plus biases) and is overwritten
    /// with the activations, which the backward step reads; then c = f * cPrevious + i * g, tanhC = tanh c and
    /// h = o * tanhC.
    let forward (gates: nativeptr<float32>) (cPrevious: nativeptr<float32>) (c: nativeptr<float32>)
                (tanhC: nativeptr<float32>) (h: nativeptr<float32>) (rows: int) (hidden: int) =
        let scratch = Array.zeroCreate<float32> 8
        forLanes rows hidden (fun r j count ->
            let gate k = NativePtr.add gates (r * 4 * hidden + k * hidden + j)
            let state (p: nativeptr<float32>) = NativePtr.add p (r * hidden + j)
            let i = sigmoid (load (gate 0) count scratch)
            let f = sigmoid (load (gate 1) count scratch)
            let g = tanh (load (gate 2) count scratch)
            let o = sigmoid (load (gate 3) count scratch)
            store i (gate 0) count scratch
            store f (gate 1) count scratch
            store g (gate 2) count scratch
            store o (gate 3) count scratch
            let cell = f * load (state cPrevious) count scratch + i * g
            let t = tanh cell
            store cell (state c) count scratch
            store t (state tanhC) count scratch
            store (o * t) (state h) count scratch)

    /// The backward step from the activations `gates`, cPrevious and tanhC the forward step left. dh = dOutput +
    /// dhNext (dhNext ignored when `last`, the sequence's last step); with dc = dcNext + dh * o * (1 - tanhC^2) it
    /// writes the pre-activations' gradients into `dGates` and replaces `dc` (in: the next step's, out: dc * f, the
    /// previous step's; ignored when `last`). `dGates` may be `gates` itself: each lane's four gates are read before
    /// their gradients are written.
    let backward (gates: nativeptr<float32>) (cPrevious: nativeptr<float32>) (tanhC: nativeptr<float32>)
                 (dOutput: nativeptr<float32>) (dhNext: nativeptr<float32>) (dc: nativeptr<float32>)
                 (dGates: nativeptr<float32>) (rows: int) (hidden: int) (last: bool) =
        let scratch = Array.zeroCreate<float32> 8
        forLanes rows hidden (fun r j count ->
            let gate k = NativePtr.add gates (r * 4 * hidden + k * hidden + j)
            let gradient k = NativePtr.add dGates (r * 4 * hidden + k * hidden + j)
            let state (p: nativeptr<float32>) = NativePtr.add p (r * hidden + j)
            let i = load (gate 0) count scratch
            let f = load (gate 1) count scratch
            let g = load (gate 2) count scratch
            let o = load (gate 3) count scratch
            let t = load (state tanhC) count scratch
            let dh =
                if last then load (state dOutput) count scratch
                else load (state dOutput) count scratch + load (state dhNext) count scratch
            let dcNext = if last then Vector256<float32>.Zero else load (state dc) count scratch
            let dCell = dcNext + dh * o * (one - t * t)
            store (dCell * g * i * (one - i)) (gradient 0) count scratch
            store (dCell * load (state cPrevious) count scratch * f * (one - f)) (gradient 1) count scratch
            store (dCell * i * (one - g * g)) (gradient 2) count scratch
            store (dh * t * o * (one - o)) (gradient 3) count scratch
            store (dCell * f) (state dc) count scratch)
