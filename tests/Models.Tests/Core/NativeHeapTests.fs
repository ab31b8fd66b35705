module Generative.Tests.Core.NativeHeapTests

open System
open Expecto
open TorchSharp
open Generative

[<Tests>]
let tests =
    testList "Core.NativeHeap" [
        test "on Linux with glibc, mallopt is found and sets both thresholds" {
            if OperatingSystem.IsLinux() && isNull (Environment.GetEnvironmentVariable NativeHeap.switchVariable) then
                Expect.equal (NativeHeap.ensureConfigured ()) NativeHeapStatus.Configured "configured (mallopt answers 1 even to settings it does not know, so this checks the call, not the effect)"
        }

        test "a run's environment says what the heap does" {
            let rows = RunEnvironment.describe torch.CPU |> Map.ofList
            Expect.equal (Map.tryFind "native heap" rows) (Some (NativeHeap.describe (NativeHeap.ensureConfigured ()))) "the heap's row"
            Expect.stringContains (NativeHeap.describe NativeHeapStatus.TurnedOff) NativeHeap.switchVariable "turned off names the switch"
        }
    ]
