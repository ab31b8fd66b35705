module Generative.Tests.Core.ErrorsTests

open Expecto
open TorchSharp
open Generative
open Generative.Tests

// libtorch's errors carry a native backtrace in their message; people see the first sentence only.

[<Tests>]
let tests =
    testList "Core.Errors" [
        test "a libtorch error's message loses its native backtrace" {
            use t = torch.ones(2L, 3L)
            let e = TestData.raises<System.Runtime.InteropServices.ExternalException> (fun () -> t.view(4L) |> ignore)
            Expect.stringContains e.Message "frame #" "libtorch's message has a backtrace"
            let shown = Errors.messageOf e
            Expect.equal shown "libtorch: shape '[4]' is invalid for input of size 6" "the first sentence, marked as libtorch's"
        }

        test "a failed allocation says it is out of memory and what to lower" {
            let e = TestData.raises<System.Runtime.InteropServices.ExternalException> (fun () -> torch.empty([| 100_000_000_000L; 1000L |]) |> ignore)
            Expect.isTrue (Errors.isOutOfMemory e) "recognised as out of memory"
            let shown = Errors.messageOf e
            Expect.isFalse (shown.Contains "frame #") "no backtrace"
            Expect.isFalse (shown.Contains "enforce fail") "no internal check"
            Expect.stringContains shown "you tried to allocate 400000000000000 bytes" "how much"
            Expect.stringContains shown "--batch-size" "what to lower"
        }
    ]
