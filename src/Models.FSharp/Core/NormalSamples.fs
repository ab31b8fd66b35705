namespace Generative

#nowarn "9" // NativePtr: samples are written straight into their tensors.

open System
open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop
open TorchSharp

/// libtorch's float32 `normal_` on the CPU, drawn by the library's own code. libtorch's kernel (`normal_fill_AVX2`)
/// first fills the tensor with uniforms one element at a time (a function call and a Mersenne Twister word each, about
/// 3.7 ns), then turns each 16 into normals by Box-Muller with avx_mathfun's log and sincos; the serial first part is
/// 93% of its time. Here the uniforms come eight words at a time from the same generator (`Mt19937`,
/// `CpuGeneratorState`) and the second part is the same vector arithmetic, in the order libtorch's build computes it
/// (GCC fused each product into the addition that uses it), so the samples and the generator's state afterwards are
/// libtorch's to the bit. A check at first use compares the two on 8,195 samples and keeps libtorch's kernel where
/// they differ (another libtorch build, or an AVX-512 CPU, where libtorch runs its scalar kernel). Why and what it
/// bought: docs/torchsharp.md, "Normal samples".
[<RequireQualifiedAccess>]
module internal NormalSamples =
    let inline private constant (d: float) = Vector256.Create(float32 d)
    let inline private bits (i: int) = Vector256.Create(i).AsSingle()
    let inline private fma (a: Vector256<float32>) (b: Vector256<float32>) (c: Vector256<float32>) = Vector256.FusedMultiplyAdd(a, b, c)

    /// avx_mathfun's log256_ps (Cephes' logf): NaN for x <= 0.
    let private log (x0: Vector256<float32>) =
        let one = Vector256.Create 1.0f
        let invalid = Vector256.LessThanOrEqual(x0, Vector256<float32>.Zero)
        let x = Vector256.Max(x0, bits 0x00800000)
        let exponent = Vector256.ShiftRightLogical(x.AsInt32(), 23) - Vector256.Create 0x7f
        let x = (x &&& bits ~~~0x7f800000) ||| Vector256.Create 0.5f
        let e = Vector256.ConvertToSingle exponent + one
        let below = Vector256.LessThan(x, constant 0.707106781186547524)
        let x = (x - one) + (x &&& below)
        let e = e - (one &&& below)
        let z = x * x
        let mutable y = constant 7.0376836292E-2
        y <- fma y x (constant -1.1514610310E-1)
        y <- fma y x (constant 1.1676998740E-1)
        y <- fma y x (constant -1.2420140846E-1)
        y <- fma y x (constant 1.4249322787E-1)
        y <- fma y x (constant -1.6668057665E-1)
        y <- fma y x (constant 2.0000714765E-1)
        y <- fma y x (constant -2.4999993993E-1)
        y <- fma y x (constant 3.3333331174E-1)
        y <- y * x
        y <- fma y z (e * constant -2.12194440e-4)
        y <- fma -z (Vector256.Create 0.5f) y
        let x = fma e (constant 0.693359375) (x + y)
        x ||| invalid

    /// avx_mathfun's sincos256_ps (Cephes' sinf and cosf): struct (sin x, cos x).
    let private sinCos (x0: Vector256<float32>) =
        let sinSign = x0 &&& bits 0x80000000
        let x = x0 &&& bits 0x7fffffff
        let octant = (Vector256.ConvertToInt32(x * constant 1.27323954473516) + Vector256.Create 1) &&& Vector256.Create ~~~1
        let y = Vector256.ConvertToSingle octant
        let sinSign = sinSign ^^^ Vector256.ShiftLeft(octant &&& Vector256.Create 4, 29).AsSingle()
        let cosSign = Vector256.ShiftLeft(Vector256.AndNot(Vector256.Create 4, octant - Vector256.Create 2), 29).AsSingle()
        let polynomial = Vector256.Equals(octant &&& Vector256.Create 2, Vector256<int>.Zero).AsSingle()
        let x = fma y (constant -0.78515625) x
        let x = fma y (constant -2.4187564849853515625e-4) x
        let x = fma y (constant -3.77489497744594108e-8) x
        let z = x * x
        let mutable c = constant 2.443315711809948E-005
        c <- fma c z (constant -1.388731625493765E-003)
        c <- fma c z (constant 4.166664568298827E-002)
        c <- c * z
        c <- fma c z -(z * Vector256.Create 0.5f)
        c <- c + Vector256.Create 1.0f
        let mutable s = constant -1.9515295891E-4
        s <- fma s z (constant 8.3321608736E-3)
        s <- fma s z (constant -1.6666654611E-1)
        s <- s * z
        s <- fma s x x
        let sinFromS = polynomial &&& s
        let sinFromC = Vector256.AndNot(c, polynomial)
        struct ((sinFromC + sinFromS) ^^^ sinSign, ((c - sinFromC) + (s - sinFromS)) ^^^ cosSign)

    /// libtorch's normal_fill_16_AVX2: 16 uniforms at `data` become 16 normals (Box-Muller, cosines first).
    let private transform16 (mean: Vector256<float32>) (std: Vector256<float32>) (data: nativeptr<float32>) =
        let u1 = Vector256.Create 1.0f - Vector256.Load data
        let u2 = Vector256.Load(NativePtr.add data 8)
        let radius = Vector256.Sqrt(Vector256.Create -2.0f * log u1)
        let struct (sine, cosine) = sinCos (constant (2.0 * Math.PI) * u2)
        Vector256.Store(fma (radius * cosine) std mean, data)
        Vector256.Store(fma (radius * sine) std mean, NativePtr.add data 8)

    /// `count` uniforms as libtorch's uniform_(0, 1) on float32 draws them: (word & (2^24 - 1)) * 2^-24, one word each.
    let private uniforms (engine: Mt19937) (data: nativeptr<float32>) (count: int) =
        let words = NativePtr.ofNativeInt<uint32> (NativePtr.toNativeInt data)
        engine.Fill(words, count)
        let mutable i = 0
        while i + 8 <= count do
            let w = Vector256.Load(NativePtr.add words i)
            let u = Vector256.ConvertToSingle((w &&& Vector256.Create 0xFFFFFFu).AsInt32()) * Vector256.Create(1.0f / 16777216.0f)
            Vector256.Store(u, NativePtr.add data i)
            i <- i + 8
        while i < count do
            NativePtr.set data i (float32 (NativePtr.get words i &&& 0xFFFFFFu) * (1.0f / 16777216.0f))
            i <- i + 1

    /// libtorch's normal_fill_AVX2 on `count` (>= 16) floats at `data`: uniforms, each full 16 transformed, and when
    /// 16 does not divide the count, the last 16 drawn again and transformed.
    let private fill (engine: Mt19937) (data: nativeptr<float32>) (count: int) (mean: float32) (std: float32) =
        let meanV, stdV = Vector256.Create mean, Vector256.Create std
        uniforms engine data count
        let mutable i = 0
        while i + 16 <= count do
            transform16 meanV stdV (NativePtr.add data i)
            i <- i + 16
        if count % 16 <> 0 then
            let last = NativePtr.add data (count - 16)
            uniforms engine last 16
            transform16 meanV stdV last

    /// Draws into `t` from the default generator; false (nothing drawn) where this code does not apply.
    let private tryDraw (t: torch.Tensor) (mean: float) (std: float) : bool =
        let applies =
            Vector256.IsHardwareAccelerated && t.device_type = DeviceType.CPU && t.dtype = torch.float32
            && t.is_contiguous() && t.numel() >= 16L && t.numel() <= int64 Int32.MaxValue
        applies
        && (match CpuGeneratorState.tryTake () with
            | None -> false
            | Some (state, engine) ->
                fill engine (TensorMemory.float32Pointer t) (int (t.numel())) (float32 mean) (float32 std)
                CpuGeneratorState.put state engine
                true)

    /// Whether this code gives libtorch's samples here: both draw 8,195 samples (a tail of 3) from the same state,
    /// which is then put back.
    let private matchesLibtorch : Lazy<bool> =
        lazy
            (use saved = torch.random.get_rng_state()
             try
                 use libtorch = torch.randn([| 8195L |])
                 torch.random.set_rng_state saved
                 use ours = torch.empty([| 8195L |])
                 tryDraw ours 0.0 1.0 && ours.Equals(libtorch)
             finally
                 torch.random.set_rng_state saved)

    /// Whether float32 samples on the CPU are drawn here (the check at first use found libtorch's arithmetic).
    let isActive () = matchesLibtorch.Force()

    /// `torch.randn_like(x)`, the same samples from the default generator: drawn here for float32 on the CPU where
    /// the check at first use found libtorch's arithmetic, by libtorch otherwise.
    let randnLike (x: torch.Tensor) : torch.Tensor =
        let samples = torch.empty_like(x)
        if not (samples.dtype = torch.float32 && samples.device_type = DeviceType.CPU && matchesLibtorch.Force()
                && tryDraw samples 0.0 1.0) then
            samples.normal_() |> ignore
        samples
