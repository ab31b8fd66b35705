namespace Generative

open System
open System.Runtime.InteropServices

/// What `NativeHeap.ensureConfigured` did.
[<RequireQualifiedAccess>]
type NativeHeapStatus =
    /// glibc's malloc keeps freed tensor memory for reuse (the thresholds `NativeHeap` names).
    | Configured
    /// Not needed or not possible here (not Linux, or a C library without glibc's `mallopt`).
    | NotNeeded of reason: string
    /// Turned off by the environment variable `NativeHeap.switchVariable`.
    | TurnedOff
    /// glibc refused a setting: which one.
    | Failed of setting: string

/// glibc's malloc settings for libtorch's tensors on Linux. By default glibc serves a large block (above a threshold
/// that starts at 128 KiB) with its own mmap and gives it back to the system when it is freed, and trims the top of
/// its heap whenever more than a little is free there. A training step frees and allocates the same activations
/// every time, so every step faults fresh zeroed pages in again: on a 2-core AMD EPYC at one thread, cls-cnn trained
/// 2.85 steps/s with glibc's defaults and 3.41 with these settings, cls-lenet 48.7 and 59.0 (medians of 3 rounds;
/// docs/torchsharp.md, "glibc's heap and libtorch's tensors"). Raising only one threshold does not help: with only
/// the trim threshold set, glibc stops adapting its mmap threshold and cls-cnn fell to 2.1 steps/s. Memory freed by
/// the process stays with it until it ends (its resident size stays near its peak, and cls-cnn's peak grew by up to
/// about 12%). Turn it off with GENERATIVE_NATIVE_HEAP=off.
[<RequireQualifiedAccess>]
module NativeHeap =
    /// The environment variable that leaves glibc's defaults when set to "off" (or "0", "false", "no").
    let switchVariable = "GENERATIVE_NATIVE_HEAP"

    /// Blocks up to this size come from the heap, not from their own mmap: the most glibc's own adaptive threshold
    /// reaches on 64-bit systems (32 MiB), above the largest activation of the bench's models at batch 128.
    let mmapThreshold = 32 * 1024 * 1024

    /// Free memory at the top of the heap up to this size is kept, not given back: in effect never.
    let trimThreshold = Int32.MaxValue

    // mallopt's parameter numbers (glibc's malloc.h).
    [<Literal>]
    let private trimThresholdParameter = -1

    [<Literal>]
    let private mmapThresholdParameter = -3

    [<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
    type private MallOpt = delegate of parameter: int * value: int -> int

    let private configure () : NativeHeapStatus =
        if not (OperatingSystem.IsLinux()) then NativeHeapStatus.NotNeeded "not Linux"
        elif MklVendorGate.isTurnedOff (Environment.GetEnvironmentVariable switchVariable) then NativeHeapStatus.TurnedOff
        else
            match NativeExports.tryFind [ "libc.so.6" ] [ "mallopt" ] with
            | Some [ address ] ->
                let mallopt = Marshal.GetDelegateForFunctionPointer<MallOpt> address
                // The mmap threshold first: setting either one stops glibc adapting the other.
                if mallopt.Invoke(mmapThresholdParameter, mmapThreshold) <> 1 then
                    NativeHeapStatus.Failed (sprintf "M_MMAP_THRESHOLD %d" mmapThreshold)
                elif mallopt.Invoke(trimThresholdParameter, trimThreshold) <> 1 then
                    NativeHeapStatus.Failed (sprintf "M_TRIM_THRESHOLD %d" trimThreshold)
                else NativeHeapStatus.Configured
            | _ -> NativeHeapStatus.NotNeeded "no glibc mallopt in libc.so.6"

    let private status = lazy (configure ())

    /// Sets glibc's thresholds once per process (later calls return the first result). `Device.ensureNativeLoaded`
    /// calls it, and with it every run, the CLI, the C# context and the F# scripts.
    let ensureConfigured () : NativeHeapStatus = status.Force()

    /// The status in words, as run reports show it.
    let describe (status: NativeHeapStatus) : string =
        match status with
        | NativeHeapStatus.Configured ->
            sprintf "freed tensor memory kept for reuse (glibc mmap threshold %d MiB, no trimming)" (mmapThreshold / 1024 / 1024)
        | NativeHeapStatus.NotNeeded reason -> sprintf "glibc's defaults (%s)" reason
        | NativeHeapStatus.TurnedOff -> sprintf "glibc's defaults (turned off by %s)" switchVariable
        | NativeHeapStatus.Failed setting -> sprintf "glibc's defaults (glibc refused %s)" setting
