namespace Generative

open System
open System.IO

/// What Linux's /proc/cpuinfo says about the first processor: the fields the library decides by (the MKL vendor
/// gate by the vendor, bf16 support by the flags) and reports (the model name in a run's environment).
type CpuInfo =
    { /// "vendor_id", e.g. AuthenticAMD or GenuineIntel.
      Vendor: string option
      /// "model name", e.g. "AMD EPYC 7763 64-Core Processor".
      ModelName: string option
      /// "flags", e.g. avx2, avx512_bf16; None when there is no flags line (some virtual machines and architectures).
      Flags: string list option }

/// Reading /proc/cpuinfo once, for every part of the library that asks about the processor.
[<RequireQualifiedAccess>]
module CpuInfo =
    /// Nothing known: not Linux, or /proc/cpuinfo could not be read.
    let unknown = { Vendor = None; ModelName = None; Flags = None }

    /// The value (after the colon, trimmed) of the first of `lines` whose key (before the colon, trimmed) is `key`.
    let private field (lines: string[]) (key: string) : string option =
        lines
        |> Array.tryPick (fun line ->
            match line.IndexOf ':' with
            | i when i > 0 && line.Substring(0, i).Trim() = key -> Some(line.Substring(i + 1).Trim())
            | _ -> None)

    /// The first processor's fields in the text of a /proc/cpuinfo (later processors repeat them).
    let parse (text: string) : CpuInfo =
        let lines = if isNull text then [||] else text.Split('\n')
        { Vendor = field lines "vendor_id"
          ModelName = field lines "model name"
          Flags = field lines "flags" |> Option.map (fun v -> v.Split(' ', StringSplitOptions.RemoveEmptyEntries) |> List.ofArray) }

    /// Whether the processor is AMD's (the vendor AuthenticAMD).
    let isAmd (cpu: CpuInfo) = cpu.Vendor = Some "AuthenticAMD"

    let private thisMachine : Lazy<CpuInfo> =
        lazy
            (try
                if OperatingSystem.IsLinux() && File.Exists "/proc/cpuinfo" then parse (File.ReadAllText "/proc/cpuinfo")
                else unknown
             with :? IOException | :? UnauthorizedAccessException -> unknown)

    /// This machine's processor, read once (`unknown` where there is no /proc/cpuinfo).
    let current () : CpuInfo = thisMachine.Force()
