namespace Generative

open System
open System.Runtime.InteropServices
open TorchSharp

/// libtorch's switch for its oneDNN (formerly MKLDNN) CPU kernels: PyTorch's `torch.backends.mkldnn.enabled`,
/// `at::globalContext().setUserEnabledMkldnn` in C++, which TorchSharp does not expose. The library reaches it
/// through libtorch_cpu's exported C++ symbols (Itanium mangling: Linux and macOS); elsewhere, or when the symbols
/// are missing, `without` just runs its function.
///
/// Why: on an AVX2 CPU (measured on an AMD EPYC, Zen 3), libtorch 2.10 trains an fp32 `nn.LSTM` through oneDNN's
/// reference RNN kernel ("rnn,ref,forward_training" and "rnn,ref,backward" in ONEDNN_VERBOSE=1 output), slower than
/// ATen's own LSTM; docs/torchsharp.md, "oneDNN and the LSTM", gives the measurements.
[<RequireQualifiedAccess>]
module OneDnn =
    [<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
    type private GlobalContext = delegate of unit -> nativeint

    [<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
    type private IsEnabled = delegate of nativeint -> byte

    [<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
    type private SetEnabled = delegate of nativeint * byte -> unit

    /// at::globalContext() and the switch's getter and setter (C++ methods: the context is their first argument).
    type private Switch = { Context: nativeint; IsEnabled: IsEnabled; SetEnabled: SetEnabled }

    let private switch : Lazy<Switch option> =
        lazy
            (Device.ensureNativeLoaded ()
             match NativeExports.tryFind [ "libtorch_cpu.so"; "libtorch_cpu.dylib" ]
                       [ "_ZN2at13globalContextEv"; "_ZNK2at7Context17userEnabledMkldnnEv"; "_ZN2at7Context20setUserEnabledMkldnnEb" ] with
             | Some [ context; isEnabled; setEnabled ] ->
                 Some { Context = Marshal.GetDelegateForFunctionPointer<GlobalContext>(context).Invoke()
                        IsEnabled = Marshal.GetDelegateForFunctionPointer<IsEnabled> isEnabled
                        SetEnabled = Marshal.GetDelegateForFunctionPointer<SetEnabled> setEnabled }
             | _ -> None)

    /// Whether libtorch's oneDNN switch can be read and set here.
    let isAvailable () = switch.Force().IsSome

    /// Whether libtorch may use its oneDNN kernels (None where the switch cannot be read).
    let isEnabled () : bool option = switch.Force() |> Option.map (fun s -> s.IsEnabled.Invoke s.Context <> 0uy)

    let private gate = obj ()
    // How many `without` calls are running: the switch is one for the whole process, so it is turned back on only
    // when the last of them ends (threads training models side by side).
    let mutable private turnedOffBy = 0

    /// Runs `f` with libtorch's oneDNN kernels off, then puts the switch back. The switch is process-wide: while `f`
    /// runs, other threads' oneDNN operations (convolutions) take libtorch's other kernels, which compute the same
    /// functions, more slowly.
    let without (f: unit -> 'T) : 'T =
        match switch.Force() with
        | None -> f ()
        | Some s ->
            let wasOn =
                lock gate (fun () ->
                    let on = s.IsEnabled.Invoke s.Context <> 0uy
                    if on || turnedOffBy > 0 then
                        turnedOffBy <- turnedOffBy + 1
                        s.SetEnabled.Invoke(s.Context, 0uy)
                        true
                    else false)
            try f ()
            finally
                if wasOn then
                    lock gate (fun () ->
                        turnedOffBy <- turnedOffBy - 1
                        if turnedOffBy = 0 then s.SetEnabled.Invoke(s.Context, 1uy))
