namespace Generative

open System
open System.IO
open System.Runtime.InteropServices

/// What `MklVendorGate.ensureOpened` did.
[<RequireQualifiedAccess>]
type MklVendorGateStatus =
    /// The gate library was loaded from this path: MKL takes its Intel kernels on this AMD processor.
    | Opened of path: string
    /// Not needed here (not an AMD x86-64 processor under Linux, where libtorch's MKL is the one the gate answers).
    | NotNeeded of reason: string
    /// Turned off by the environment variable `MklVendorGate.switchVariable`.
    | TurnedOff
    /// The library file is not in any of these folders (an app without the Generative.Runtime.Cpu package's natives).
    | Missing of searched: string list
    /// The loader refused the file: its message.
    | Failed of message: string

/// Intel MKL, inside libtorch's CPU build, runs slower matrix-product kernels on processors whose vendor is not Intel,
/// although AMD processors run the same instructions: measured on a 2-core AMD EPYC (Zen 3, AVX2), a 1024 x 1024 fp32
/// product at one thread reaches 77-80 GFLOP/s with this gate against 72-74 without it (docs/torchsharp.md, "MKL on
/// AMD processors"). MKL asks `mkl_serv_intel_cpu_true()`, which libtorch calls through its procedure linkage table;
/// the gate is a native library whose definition of that function answers yes (and counts its calls), loaded into the process's global symbol scope
/// before libtorch's first product, so the loader binds MKL's call to it. MKL still chooses kernels by the
/// instruction sets the processor reports. Turn it off with GENERATIVE_MKL_VENDOR_GATE=off.
[<RequireQualifiedAccess>]
module MklVendorGate =
    /// The native library's file name (built from native/mkl-vendor-gate in the repository; shipped in
    /// Generative.Runtime.Cpu under runtimes/linux-x64/native).
    let fileName = "libgenerative_mkl_vendor_gate.so"

    /// The environment variable that turns the gate off when set to "off" (or "0", "false", "no").
    let switchVariable = "GENERATIVE_MKL_VENDOR_GATE"

    [<Literal>]
    let private rtldNow = 0x002

    [<Literal>]
    let private rtldGlobal = 0x100

    [<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
    type private DlOpen = delegate of file: string * mode: int -> nativeint

    [<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
    type private DlError = delegate of unit -> nativeint

    /// The C library's `dlopen` and `dlerror`: in libc.so.6 since glibc 2.34, in libdl.so.2 before (where 2.34 and
    /// later keep a stub that still finds them). None when neither library gives them.
    let private dynamicLoader () : (DlOpen * DlError) option =
        match NativeExports.tryFind [ "libc.so.6"; "libdl.so.2" ] [ "dlopen"; "dlerror" ] with
        | Some [ o; e ] -> Some (Marshal.GetDelegateForFunctionPointer<DlOpen> o, Marshal.GetDelegateForFunctionPointer<DlError> e)
        | _ -> None

    /// Whether the switch variable's value turns the gate off.
    let isTurnedOff (value: string) =
        not (isNull value) && List.contains (value.Trim().ToLowerInvariant()) [ "off"; "0"; "false"; "no" ]

    /// The folders searched for the library, in order: the app's folder and the folder of the Generative assembly,
    /// each directly and under runtimes/linux-x64/native (where a portable build keeps native assets).
    let searchFolders () : string list =
        [ AppContext.BaseDirectory; Path.GetDirectoryName(typeof<MklVendorGateStatus>.Assembly.Location) ]
        |> List.filter (String.IsNullOrEmpty >> not)
        |> List.collect (fun d -> [ d; Path.Combine(d, "runtimes", "linux-x64", "native") ])
        |> List.map Path.GetFullPath
        |> List.distinct

    /// The opened gate's handle (0 until it is opened).
    let mutable private gate = 0n

    [<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
    type private CallCount = delegate of unit -> unativeint

    let private openGate () : MklVendorGateStatus =
        if not (OperatingSystem.IsLinux()) || RuntimeInformation.ProcessArchitecture <> Architecture.X64 then
            MklVendorGateStatus.NotNeeded "not Linux on x86-64"
        elif isTurnedOff (Environment.GetEnvironmentVariable switchVariable) then MklVendorGateStatus.TurnedOff
        elif not (CpuInfo.isAmd (CpuInfo.current ())) then
            MklVendorGateStatus.NotNeeded "not an AMD processor"
        else
            let folders = searchFolders ()
            match folders |> List.map (fun d -> Path.Combine(d, fileName)) |> List.tryFind File.Exists with
            | None -> MklVendorGateStatus.Missing folders
            | Some path ->
                match dynamicLoader () with
                | None -> MklVendorGateStatus.Failed "the C library's dlopen was not found (neither libc.so.6 nor libdl.so.2 gives it)"
                | Some (dlopen, dlerror) ->
                    // NativeLibrary.Load would open it with RTLD_LOCAL, where libtorch's MKL never looks.
                    let handle = dlopen.Invoke(path, rtldNow ||| rtldGlobal)
                    if handle <> 0n then
                        gate <- handle
                        MklVendorGateStatus.Opened path
                    else MklVendorGateStatus.Failed (string (Marshal.PtrToStringAnsi(dlerror.Invoke())))

    let private status = lazy (openGate ())

    /// Loads the gate once per process (later calls return the first result). Call it before libtorch's first matrix
    /// product: `Device.ensureNativeLoaded` does, and with it every run, the CLI and the C# context.
    let ensureOpened () : MklVendorGateStatus = status.Force()

    /// The status in words, as run reports show it.
    let describe (status: MklVendorGateStatus) : string =
        match status with
        | MklVendorGateStatus.Opened path -> sprintf "open: MKL takes its fast kernels on this AMD processor (%s)" path
        | MklVendorGateStatus.NotNeeded reason -> sprintf "not needed (%s)" reason
        | MklVendorGateStatus.TurnedOff -> sprintf "turned off by %s: MKL takes its slower kernels on this AMD processor" switchVariable
        | MklVendorGateStatus.Missing folders ->
            sprintf "%s not found in %s: MKL takes its slower kernels on this AMD processor (the Generative.Runtime.Cpu package brings it)"
                fileName (String.Join(", ", folders))
        | MklVendorGateStatus.Failed message -> sprintf "could not be opened: %s" message

    /// How many times MKL has asked the opened gate whether the processor is Intel's; None when the gate is not open.
    /// A count that stays 0 after a matrix product means libtorch's MKL no longer calls through the gate.
    let calls () : uint64 option =
        if gate = 0n then None
        else
            let count = Marshal.GetDelegateForFunctionPointer<CallCount>(NativeLibrary.GetExport(gate, "generative_mkl_vendor_gate_calls"))
            Some (uint64 (count.Invoke()))
