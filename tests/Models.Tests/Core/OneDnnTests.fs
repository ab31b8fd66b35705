module Generative.Tests.Core.OneDnnTests

open System
open Expecto
open Generative

[<Tests>]
let tests =
    testList "Core.OneDnn" [
        test "libtorch's oneDNN switch is found on Linux" {
            if OperatingSystem.IsLinux() then
                Expect.isTrue (OneDnn.isAvailable ()) "the switch's exports in libtorch_cpu.so"
                Expect.equal (OneDnn.isEnabled ()) (Some true) "libtorch starts with oneDNN on"
        }

        test "without turns oneDNN off while its function runs, also when nested, and back on after, also after an error" {
            if OneDnn.isAvailable () then
                let inside = OneDnn.without (fun () -> OneDnn.isEnabled ())
                Expect.equal inside (Some false) "off inside"
                Expect.equal (OneDnn.isEnabled ()) (Some true) "on again after"
                let nested =
                    OneDnn.without (fun () ->
                        let inner = OneDnn.without (fun () -> OneDnn.isEnabled ())
                        inner, OneDnn.isEnabled ())
                Expect.equal nested (Some false, Some false) "still off after an inner call ends inside an outer one"
                Expect.equal (OneDnn.isEnabled ()) (Some true) "on after the outer call"
                Expect.throwsT<InvalidOperationException> (fun () -> OneDnn.without (fun () -> invalidOp "boom")) "the error passes through"
                Expect.equal (OneDnn.isEnabled ()) (Some true) "on after an error"
        }
    ]
