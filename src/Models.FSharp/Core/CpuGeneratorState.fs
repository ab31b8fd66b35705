namespace Generative

open System
open System.Buffers.Binary
open TorchSharp

/// libtorch's default CPU generator taken out as an `Mt19937` and put back, so the library's own kernels can draw
/// from the global sequence (`torch.manual_seed`, checkpoints' generator state) exactly as libtorch's would.
///
/// The generator's state (`torch.random.get_rng_state`) is libtorch's `CPUGeneratorImplState`, 5056 bytes on 64-bit
/// platforms: the initial seed (8 bytes), `left` (int32 at 8), `seeded` (int32 at 12), `next` (uint64 at 16), the
/// 624 words each in a uint64 (from 24), the cached normal samples (from 5016), which are carried over untouched.
/// Not thread-safe against other draws from the default generator while a kernel holds it (libtorch locks it; the
/// library trains on one thread).
[<RequireQualifiedAccess>]
module internal CpuGeneratorState =
    /// The state's size in bytes; any other size means a layout this code does not know.
    let private stateBytes = 5056L
    let private words = 624

    /// The default generator's state and the engine read from it, or None when the state is not the known layout
    /// (or the platform is big-endian; callers then use libtorch's kernels).
    let tryTake () : (byte[] * Mt19937) option =
        use state = torch.random.get_rng_state()
        if not BitConverter.IsLittleEndian || state.numel() <> stateBytes || state.dtype <> torch.uint8 then None
        else
            let bytes = state.data<byte>().ToArray()
            let span = ReadOnlySpan<byte>(bytes)
            let left = BinaryPrimitives.ReadInt32LittleEndian(span.Slice(8, 4))
            let seeded = BinaryPrimitives.ReadInt32LittleEndian(span.Slice(12, 4))
            let next = BinaryPrimitives.ReadUInt64LittleEndian(span.Slice(16, 8))
            // libtorch's own check on setting a state (mt19937::is_valid).
            if seeded = 0 || left <= 0 || left > words || next > uint64 words then None
            else
                let engineWords = Array.zeroCreate<uint32> words
                for i in 0 .. words - 1 do
                    engineWords.[i] <- uint32 (BinaryPrimitives.ReadUInt64LittleEndian(span.Slice(24 + 8 * i, 8)))
                Some(bytes, Mt19937(engineWords, left, int next))

    /// Makes `engine` (taken with `bytes` by `tryTake`) the default generator's state.
    let put (bytes: byte[]) (engine: Mt19937) : unit =
        let span = Span<byte>(bytes)
        BinaryPrimitives.WriteInt32LittleEndian(span.Slice(8, 4), engine.Left)
        BinaryPrimitives.WriteUInt64LittleEndian(span.Slice(16, 8), uint64 engine.Next)
        for i in 0 .. words - 1 do
            BinaryPrimitives.WriteUInt64LittleEndian(span.Slice(24 + 8 * i, 8), uint64 engine.State.[i])
        use state = torch.tensor(bytes, dtype = torch.uint8)
        torch.random.set_rng_state state
