module Generative.Tests.Main

open Expecto
open TorchSharp

[<Tests>]
let nativeLoads =
    test "libtorch loads and computes" {
        use a = torch.ones(3L, 3L)
        use b = a.matmul(a)
        Expect.equal (b.sum().ToSingle()) 27.0f "3x3 ones squared sums to 27"
    }

[<EntryPoint>]
let main argv = Tests.runTestsInAssemblyWithCLIArgs [] argv
