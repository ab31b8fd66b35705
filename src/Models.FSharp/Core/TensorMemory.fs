namespace Generative

#nowarn "9" // NativePtr: reading a tensor's data address.

open Microsoft.FSharp.NativeInterop
open TorchSharp

/// Where a tensor's elements are in memory, for the library's own vector code (the fused Adam step, the LSTM's
/// element-wise kernel) and the flat optimisers' checks.
[<RequireQualifiedAccess>]
module internal TensorMemory =
    /// The address of a tensor's first element (its storage offset included). On the CPU it is read through `bytes`
    /// (no allocation); elsewhere through the storage (TorchSharp has no tensor data_ptr), which leaves an alias for
    /// the finalizer.
    let address (t: torch.Tensor) : nativeint =
        if t.device_type = DeviceType.CPU then
            use p = fixed t.bytes
            NativePtr.toNativeInt p
        else t.storage<float32>().data_ptr() + nativeint (t.storage_offset() * t.ElementSize)

    /// `address` of a float32 tensor, typed for reading and writing its elements.
    let float32Pointer (t: torch.Tensor) : nativeptr<float32> = NativePtr.ofNativeInt<float32> (address t)
