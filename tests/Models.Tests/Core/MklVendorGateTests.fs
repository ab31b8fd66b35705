module Generative.Tests.Core.MklVendorGateTests

open System
open System.IO
open Expecto
open Generative.Tests
open TorchSharp
open Generative

/// Whether this test process runs where the gate applies (Linux x86-64 on an AMD processor).
let private gateApplies () =
    OperatingSystem.IsLinux() && Runtime.InteropServices.RuntimeInformation.ProcessArchitecture = Runtime.InteropServices.Architecture.X64
    && CpuInfo.isAmd (CpuInfo.current ())
    && not (MklVendorGate.isTurnedOff (Environment.GetEnvironmentVariable MklVendorGate.switchVariable))

[<Tests>]
let tests =
    testList "Core.MklVendorGate" [
        test "the switch turns the gate off only with an off value" {
            for value in [ "off"; "0"; "false"; "OFF"; " no " ] do
                Expect.isTrue (MklVendorGate.isTurnedOff value) value
            for value in [ null; ""; "on"; "1" ] do
                Expect.isFalse (MklVendorGate.isTurnedOff value) (string value)
        }

        test "the build output holds the gate library where the search looks" {
            let found = MklVendorGate.searchFolders () |> List.map (fun d -> Path.Combine(d, MklVendorGate.fileName)) |> List.filter File.Exists
            Expect.isNonEmpty found "the gate library is copied into the output's runtimes/linux-x64/native"
        }

        test "a run's environment says what became of the gate" {
            let rows = RunEnvironment.describe torch.CPU |> Map.ofList
            Expect.equal (Map.tryFind "MKL vendor gate" rows) (Some (MklVendorGate.describe (MklVendorGate.ensureOpened ()))) "the gate's row"
            Expect.stringContains (MklVendorGate.describe (MklVendorGateStatus.Missing [ "/app" ])) "Generative.Runtime.Cpu" "a missing gate names the package that brings it"
            Expect.stringContains (MklVendorGate.describe MklVendorGateStatus.TurnedOff) MklVendorGate.switchVariable "turned off names the variable"
        }

        test "on an AMD processor the gate is open and libtorch's matrix products ask it" {
            if not (gateApplies ()) then skiptest "the gate applies only on Linux x86-64 AMD processors"
            match MklVendorGate.ensureOpened () with
            | MklVendorGateStatus.Opened _ -> ()
            | other -> failtestf "expected the gate to be open, got %A" other
            use a = torch.randn(256L, 256L)
            use b = torch.randn(256L, 256L)
            use _ = torch.mm(a, b)
            let calls = MklVendorGate.calls ()
            Expect.isSome calls "the open gate reports its calls"
            Expect.isGreaterThan calls.Value 0UL "MKL asked the gate whether the processor is Intel's"
        }
    ]
