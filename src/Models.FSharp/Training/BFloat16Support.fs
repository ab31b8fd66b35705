namespace Generative

open TorchSharp

/// Whether a device multiplies bfloat16 matrices in hardware, which decides whether `precision=bf16` pays.
[<RequireQualifiedAccess>]
type BFloat16Support =
    /// The hardware computes bfloat16 (x86 CPUs with AVX512-BF16 or AMX): bf16 passes run several times faster than fp32.
    | Native
    /// libtorch emulates bfloat16 in software: bf16 matrix products run far slower than fp32 (75 times on an AVX2-only
    /// AMD EPYC, docs/models.md), so a bf16 run is slower, not faster.
    | Emulated
    /// Not known here: a GPU (TorchSharp does not report its compute capability; NVIDIA GPUs from Ampere on are
    /// native) or a CPU whose flags this platform does not list.
    | Unknown

/// Detecting native bfloat16, and the warning a bf16 run gets without it.
[<RequireQualifiedAccess>]
module BFloat16Support =
    /// The CPU flags (as Linux names them in /proc/cpuinfo) that mean native bfloat16 matrix products.
    let nativeFlags = [ "avx512_bf16"; "amx_bf16" ]

    /// The support a CPU with these flags has: native with one of `nativeFlags`, emulated without.
    let ofCpuFlags (flags: string seq) : BFloat16Support =
        let flags = set flags
        if nativeFlags |> List.exists flags.Contains then BFloat16Support.Native else BFloat16Support.Emulated

    /// The support of a CPU: by its flags, Unknown when they are not known (no /proc/cpuinfo, or no flags line).
    let ofCpu (cpu: CpuInfo) : BFloat16Support =
        match cpu.Flags with
        | Some flags -> ofCpuFlags flags
        | None -> BFloat16Support.Unknown

    /// The support of `device`: this machine's CPU flags for the CPU, Unknown for a GPU.
    let ofDevice (device: torch.Device) : BFloat16Support =
        if device.``type`` = DeviceType.CPU then ofCpu (CpuInfo.current ()) else BFloat16Support.Unknown

    /// The warning for training in `precision` with `support`, or None when there is nothing to warn about (fp32, or
    /// bf16 where it is native or not known to be emulated).
    let warning (precision: TrainingPrecision) (support: BFloat16Support) : string option =
        match precision, support with
        | TrainingPrecision.BFloat16, BFloat16Support.Emulated ->
            Some(
                "warning: precision bf16 on a CPU without native bfloat16 (no AVX512-BF16 or AMX among its flags): libtorch "
                + "emulates it, so this run will be many times slower than in fp32 (75 times for matrix products on an "
                + "AVX2-only AMD EPYC). Train in fp32 instead, the default (--precision fp32; C# Precision.Float32).")
        | _ -> None
