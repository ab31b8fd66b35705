namespace Generative

open System
open TorchSharp

/// Where tensors live and compute: chosen by the user, or CUDA when available.
type DeviceChoice =
    /// CUDA when `torch.cuda.is_available()`, else the CPU.
    | Auto
    /// Always the CPU.
    | Cpu
    /// CUDA device 0; fails with a clear error when no CUDA runtime is available.
    | Cuda

/// Where the library's layers put new parameters on the current thread: null for TorchSharp's default (the CPU), the
/// meta device while `Device.sizeOf` measures a model. Per thread, because TorchSharp's own default device is one for the
/// whole process, and another thread may be training meanwhile.
type internal LayerPlacement =
    [<ThreadStatic; DefaultValue>]
    static val mutable private device: torch.Device
    /// The device new parameters go to on this thread (null: the default).
    static member Current with get () = LayerPlacement.device and set (d: torch.Device) = LayerPlacement.device <- d

/// Device choice, native-library start-up and explicit seeding.
[<RequireQualifiedAccess>]
module Device =
    // Said to package consumers and repository builds alike, since TorchSharp's own message ("doesn't contain a
    // reference to libtorch-cpu-linux-x64") names no package to add and is also what a Debian 12 host without the
    // loading fix gives.
    let private nativeHelp =
        "libtorch could not be loaded. An app using the Generative packages needs one native runtime package: "
        + "<PackageReference Include=\"Generative.Runtime.Cpu\" /> (Linux x64, CPU; it also makes libtorch load on "
        + "Debian 12), or TorchSharp-cpu, TorchSharp-cuda-linux or TorchSharp-cuda-windows 0.107.0. In the Generative "
        + "repository, `dotnet build` gives apps and tests the CPU runtime (`-p:TorchRuntime=cuda` selects CUDA). "
        + "F# Interactive loads natives from the NuGet cache, where the Debian 12 fix is not applied: load "
        + "libLibTorchSharp.so from a build output first. If you copied the binaries elsewhere, copy the runtimes/ "
        + "folder too. Inner error: "

    /// Loads libtorch (once) and turns TorchSharp's load failure into an error that says what to do. First it sets
    /// glibc's heap to keep freed tensor memory (`NativeHeap`) and, on AMD processors, opens `MklVendorGate`, so
    /// libtorch's MKL takes its fast kernels.
    let ensureNativeLoaded () =
        NativeHeap.ensureConfigured () |> ignore
        MklVendorGate.ensureOpened () |> ignore
        try
            torch.__version__ |> ignore
        with
        | :? TypeInitializationException as e ->
            let inner = if isNull e.InnerException then e.Message else e.InnerException.Message.Split('\n').[0]
            raise (InvalidOperationException(nativeHelp + inner, e))

    /// Parses "auto" | "cpu" | "cuda" (case-insensitive).
    let parse (text: string) : DeviceChoice =
        match (if isNull text then "" else text.Trim().ToLowerInvariant()) with
        | "auto" | "" -> Auto
        | "cpu" -> Cpu
        | "cuda" | "gpu" -> Cuda
        | other -> Errors.invalidArg "device" "one of auto, cpu, cuda" other

    /// The torch device for a choice. CUDA requested on a machine without it is an error, not a silent CPU run.
    let resolve (choice: DeviceChoice) : torch.Device =
        ensureNativeLoaded ()
        match choice with
        | Cpu -> torch.CPU
        | Auto -> if torch.cuda.is_available () then torch.CUDA else torch.CPU
        | Cuda ->
            if torch.cuda.is_available () then torch.CUDA
            else
                raise (InvalidOperationException(
                    "CUDA was requested but torch.cuda.is_available() is false: build with -p:TorchRuntime=cuda "
                    + "on a machine with an NVIDIA driver, or choose the CPU (--device cpu)."))

    /// Seeds libtorch's global generator (weight initialisation, dropout, noise). Seeds are always explicit.
    let seed (value: int64) = torch.manual_seed value |> ignore

    /// Runs `f` and puts libtorch's global generator back as it was, so what `f` draws (the initial weights of a
    /// helper network, say) changes nothing that a seed determines afterwards.
    let keepingRandomState (f: unit -> 'T) : 'T =
        use state = torch.random.get_rng_state()
        try f ()
        finally torch.random.set_rng_state state

    /// The device a module's parameters are on (its first parameter's; the CPU for a module without parameters).
    let ofModule (m: torch.nn.Module) : torch.Device =
        match m.parameters () |> Seq.tryHead with
        | Some p -> p.device
        | None -> torch.CPU

    /// `f` run on `device`: its input is moved there first and its result is moved back to the input's device.
    /// A model's operations wrapped this way accept a data set's CPU tensors when the model sits on a GPU, and give
    /// results that can be read (`data<T>()`) or drawn; a batch already on the model's device stays there. Moving
    /// a tensor to the device it is on is a no-op, so on the CPU nothing is copied and no number changes.
    let runOn (device: torch.Device) (f: torch.Tensor -> torch.Tensor) : torch.Tensor -> torch.Tensor =
        fun x ->
            if isNull x then nullArg "x"
            use moved = x.``to``(device)
            use result = f moved
            result.``to``(x.device)

    /// The device the library's layers create their parameters on, on this thread: null (TorchSharp's default, the
    /// CPU) except inside `elementsOf`. Pass it to every TorchSharp module constructor and to parameters made directly.
    let forNewLayers () : torch.Device = LayerPlacement.Current

    /// The number of parameter and buffer elements of what `build` makes, measured without allocating them: the
    /// library's layers are created on the meta device (shapes, no storage) on this thread while `build` runs.
    /// Settings that would need terabytes are refused this way before anything is allocated.
    let elementsOf (build: torch.Device -> torch.nn.Module list) : int64 =
        let meta = torch.device "meta"
        let before = LayerPlacement.Current
        LayerPlacement.Current <- meta
        try
            let modules = build meta
            try
                modules |> List.sumBy (fun m ->
                    (m.parameters () |> Seq.sumBy (fun p -> p.numel ())) + (m.buffers () |> Seq.sumBy (fun b -> b.numel ())))
            finally for m in modules do m.Dispose()
        finally LayerPlacement.Current <- before

    /// libtorch's version string, e.g. "2.10.0".
    let libtorchVersion () = ensureNativeLoaded (); torch.__version__
