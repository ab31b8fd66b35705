namespace Generative

open System
open System.Runtime.InteropServices
open TorchSharp

/// What a report says about the machine and software a run used.
[<RequireQualifiedAccess>]
module RunEnvironment =
    /// The processor's model name, or the architecture where /proc/cpuinfo does not name it.
    let private cpuModel () =
        (CpuInfo.current ()).ModelName |> Option.defaultValue (RuntimeInformation.ProcessArchitecture.ToString())

    /// (name, value) rows: library, TorchSharp and libtorch versions, the MKL vendor gate, the native heap, .NET, OS, CPU,
    /// threads, device.
    let describe (device: torch.Device) : (string * string) list =
        [ "Generative", string (typeof<Trainer>.Assembly.GetName().Version)
          "TorchSharp", string (typeof<torch.Tensor>.Assembly.GetName().Version)
          "libtorch", Device.libtorchVersion ()
          "MKL vendor gate", MklVendorGate.describe (MklVendorGate.ensureOpened ())
          "native heap", NativeHeap.describe (NativeHeap.ensureConfigured ())
          ".NET", RuntimeInformation.FrameworkDescription
          "OS", RuntimeInformation.OSDescription
          "CPU", sprintf "%s (%d logical cores)" (cpuModel ()) Environment.ProcessorCount
          "torch threads", string (torch.get_num_threads ())
          "device", string device.``type`` ]
