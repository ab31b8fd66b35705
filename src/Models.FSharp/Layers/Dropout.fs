namespace Generative

#nowarn "9" // NativePtr: the masks are written straight into their tensors.

open System
open System.Buffers
open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop
open TorchSharp

/// Training-time dropout with libtorch's masks drawn by the library's own code on the CPU. libtorch draws a mask
/// element by element in one serial loop (two Mersenne Twister words and a double comparison behind a function
/// call per element, about 11 ns on this library's development machine) while the other cores wait; here the words
/// come eight at a time from the same generator (`Mt19937`, `CpuGeneratorState`), so the masks, the losses and the
/// generator's state afterwards are libtorch's to the bit. Why and what it bought: docs/torchsharp.md, "Dropout masks".
[<RequireQualifiedAccess>]
module internal Dropout =
    /// Elements whose words are drawn into the scratch buffer at a time.
    let private chunk = 2048

    /// Writes `count` mask values (0 or `kept`) to `destination`, drawing from `engine` as libtorch's `bernoulli_(keep)`
    /// does: per element, r = (first word << 32) | second word, u = (r & (2^53 - 1)) * 2^-53, kept when u < keep.
    /// u < keep exactly when the 53-bit integer is below ceil(keep * 2^53) (scaling by 2^53 is exact).
    let private fill (engine: Mt19937) (keep: float) (kept: float32) (destination: nativeptr<float32>) (count: int) =
        let threshold = uint64 (Math.Ceiling(keep * 9007199254740992.0))
        let buffer = ArrayPool<uint32>.Shared.Rent(2 * chunk)
        try
            use words = fixed buffer
            let mutable start = 0
            while start < count do
                let elements = min chunk (count - start)
                engine.Fill(words, 2 * elements)
                let out = NativePtr.add destination start
                let mutable e = 0
                if Vector256.IsHardwareAccelerated then
                    // Eight elements from sixteen words: each little-endian 64-bit lane holds a pair as (second << 32) |
                    // first, so the 53-bit integer is ((lane & (2^21 - 1)) << 32) | (lane >> 32); below 2^53, a signed
                    // comparison is exact.
                    let pairs = NativePtr.ofNativeInt<int64> (NativePtr.toNativeInt words)
                    let low21 = Vector256.Create 0x1FFFFFL
                    let limit = Vector256.Create (int64 threshold)
                    let keptBits = Vector256.Create (BitConverter.SingleToInt32Bits kept)
                    let integer (lane: Vector256<int64>) =
                        Vector256.ShiftLeft(lane &&& low21, 32) ||| Vector256.ShiftRightLogical(lane, 32)
                    while e + 8 <= elements do
                        let first = Vector256.LessThan(integer (Vector256.Load(NativePtr.add pairs e)), limit)
                        let second = Vector256.LessThan(integer (Vector256.Load(NativePtr.add pairs (e + 4))), limit)
                        let values = Vector256.Narrow(first, second) &&& keptBits
                        Vector256.Store(values.AsSingle(), NativePtr.add out e)
                        e <- e + 8
                while e < elements do
                    let bits = (uint64 (NativePtr.get words (2 * e) &&& 0x1FFFFFu) <<< 32) ||| uint64 (NativePtr.get words (2 * e + 1))
                    NativePtr.set out e (if bits < threshold then kept else 0.0f)
                    e <- e + 1
                start <- start + elements
        finally
            ArrayPool<uint32>.Shared.Return buffer

    /// Makes `m` (a new float tensor without overlapping elements: contiguous, or permuted as `empty_like` makes them)
    /// a dropout mask: 0 where an element is dropped, 1 / keep where it is kept, drawn from the default generator in
    /// memory order. The same values, and the generator left in the same state, as libtorch's `m.bernoulli_(keep)
    /// .div_(keep)`. Drawn here for float32 on the CPU when the generator's state has the known layout; by those
    /// libtorch calls otherwise.
    let private draw (m: torch.Tensor) (keep: float) : unit =
        // m's dimensions in memory order, outermost first: a contiguous view of the same elements.
        use inMemoryOrder = m.permute(Array.init (int (m.dim())) int64 |> Array.sortByDescending (fun d -> m.stride(int d)))
        let drawsHere =
            m.device_type = DeviceType.CPU && m.dtype = torch.float32 && m.numel() <= int64 (Int32.MaxValue / 2)
            && inMemoryOrder.is_contiguous()
        match (if drawsHere then CpuGeneratorState.tryTake () else None) with
        | None -> m.bernoulli_(keep).div_(keep.ToScalar()) |> ignore
        | Some (state, engine) ->
            // libtorch's div_ by the double Scalar computes 1f / float32 keep.
            fill engine keep (1.0f / float32 keep) (TensorMemory.float32Pointer inMemoryOrder) (int (m.numel()))
            CpuGeneratorState.put state engine

    let private dropWith (m: torch.Tensor) (x: torch.Tensor) (p: float) : torch.Tensor =
        draw m (1.0 - p)
        x * m

    /// libtorch's training dropout, `torch.nn.functional.dropout(x, p, true)`, to the bit: each element dropped with
    /// probability p (0 <= p < 1), the rest scaled by 1 / (1 - p), the mask shaped and laid out as `empty_like(x)`.
    /// Off the CPU it is that call (a GPU runs it as one fused kernel).
    let train (x: torch.Tensor) (p: float) : torch.Tensor =
        if x.device_type <> DeviceType.CPU then torch.nn.functional.dropout(x, p, true)
        elif p = 0.0 || x.numel() = 0L then x.alias()
        else
            use m = torch.empty_like(x)
            dropWith m x p

    /// Training dropout as `train`, with the mask drawn in the order of x's shape (channels-first) whatever x's
    /// memory layout, so that a seed drops the same elements of a channels-last tensor as of its channels-first copy.
    let trainInShapeOrder (x: torch.Tensor) (p: float) : torch.Tensor =
        if p = 0.0 || x.numel() = 0L then x.alias()
        else
            use m = torch.empty(x.shape, dtype = x.dtype, device = x.device)
            dropWith m x p
