module Generative.Tests.Core.DeviceTests

open System
open Expecto
open TorchSharp
open Generative
open Generative.Tests

// No GPU here, so device placement is checked with libtorch's "meta" device: its tensors have shapes but no data.
// Two properties verified on libtorch 2.10 make it a sound stand-in for CUDA: an elementwise op or a loss of a meta
// tensor with a CPU tensor raises "Expected all tensors to be on the same device" (as CUDA with CPU does), and
// reading a number of a meta tensor raises "_local_scalar_dense ... Meta tensors". Linear layers and torch.cat
// do not raise on mixed meta and CPU inputs, so only those two errors are relied on.

let private meta = torch.device "meta"

/// The message of the exception `f` throws (fails the test when it throws none).
let private errorOf (f: unit -> unit) : string =
    try
        f ()
        failtest "expected libtorch to refuse to read a number of a meta tensor"
    with
    | :? Expecto.AssertException -> reraise ()
    | e -> e.Message

/// A CPU split of `n` bar images in [0, 1] (the form data sets load into).
let private cpuSplit (n: int) : Split = TestData.bars n 3L

[<Tests>]
let tests =
    testList "device placement" [
        test "Device.ofModule is the device of the module's parameters, the CPU without parameters" {
            use linear = torch.nn.Linear(3L, 2L)
            Expect.equal (Device.ofModule linear).``type`` DeviceType.CPU "a new module is on the CPU"
            linear.``to``(meta) |> ignore
            Expect.equal (Device.ofModule linear).``type`` DeviceType.META "after moving it"
            use relu = torch.nn.ReLU()
            Expect.equal (Device.ofModule relu).``type`` DeviceType.CPU "a module without parameters"
        }

        test "Device.runOn moves the input to the device and the result back to the input's device" {
            let seen = ResizeArray<DeviceType>()
            // f records where its input is and answers with a CPU tensor (a meta one could not be copied back).
            let f (x: Tensor) = seen.Add x.device_type; torch.ones(x.shape.[0])
            use cpuInput = torch.zeros(4L, 3L)
            use fromCpu = Device.runOn meta f cpuInput
            Expect.sequenceEqual seen [ DeviceType.META ] "f saw its input on the meta device"
            Expect.equal fromCpu.device_type DeviceType.CPU "the result came back to the CPU input's device"
            use metaInput = torch.zeros([| 4L; 3L |], device = meta)
            use fromMeta = Device.runOn meta f metaInput
            Expect.equal fromMeta.device_type DeviceType.META "f's CPU result went back to the meta input's device"
        }

        test "Device.runOn changes no number on the CPU" {
            use g = new torch.Generator(1UL)
            use x = torch.randn([| 5L; 4L |], generator = g)
            use direct = torch.tanh(x)
            use wrapped = Device.runOn torch.CPU torch.tanh x
            Expect.sequenceEqual (wrapped.data<float32>().ToArray()) (direct.data<float32>().ToArray()) "same values"
            // `to` the device a tensor is already on must hand back another handle: runOn disposes its moved copy.
            Expect.equal (x.data<float32>().ToArray().Length) 20 "the caller's input is still alive after runOn"
        }

        test "RunModel.meanOver hands the loss its batches on the given device" {
            use split = cpuSplit 10
            let seen = ResizeArray<DeviceType>()
            let mean = RunModel.meanOver Work.none "test" meta 4 split (fun x -> seen.Add x.device_type; torch.tensor(2.0f))
            Expect.equal seen.Count 3 "batches of 4, 4 and 2"
            Expect.allEqual seen DeviceType.META "every batch on the meta device"
            Expect.floatClose Accuracy.high mean 2.0 "the mean of the losses"
        }

        // Built on the meta device, a model's test metrics cannot finish (no data), but everything before the first
        // number read must run on that device: a CPU test batch meeting the model would raise "same device" first.
        // ReLU has no meta kernel, so the fully connected autoencoders are built with Tanh instead.
        for id in [ "ae-linear"; "ae-deep" ] do
            test (sprintf "%s measures a CPU test split on the model's device" id) {
                Device.seed 0L
                let entry = Catalog.find id
                let settings =
                    (entry.Configure []).Settings |> List.map (fun (k, v) -> if k.EndsWith "-activation" && v = "relu" then k, "tanh" else k, v)
                let model = (entry.Configure settings).Build meta
                use split = cpuSplit 8
                let message = errorOf (fun () -> model.Evaluate Work.none (TestData.imagesOf split) |> ignore)
                Expect.isFalse (message.Contains "same device") (sprintf "no tensors of two devices met: %s" message)
                Expect.stringContains message "_local_scalar_dense" "it got as far as reading the first metric's value"
            }
    ]
