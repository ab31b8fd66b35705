module Generative.Tests.Main

open System
open Expecto
open Expecto.Impl
open TorchSharp

/// Long training checks (real data, minutes of CPU): not marked [<Tests>], run only with `--long`.
let longTests = testList "long" [ yield! LongTests.all ]

[<Tests>]
let nativeLoads =
    test "libtorch loads and computes" {
        use a = torch.ones(3L, 3L)
        use b = a.matmul(a)
        Expect.equal (b.sum().ToSingle()) 27.0f "3x3 ones squared sums to 27"
    }

/// Prints Expecto's summary, then a plain "N passed, N failed" line that CI logs can be read by.
let private withPlainSummary (config: ExpectoConfig) =
    let inner = config.printer
    { config with
        printer =
            { inner with
                summary =
                    fun c s ->
                        async {
                            do! inner.summary c s
                            printfn "%d passed, %d failed" s.passed.Length (s.failed.Length + s.errored.Length)
                        } } }

[<EntryPoint>]
let main argv =
    let long = argv |> Array.contains "--long"
    let args = argv |> Array.filter (fun a -> a <> "--long")
    // Before any tensor: on AMD processors this opens MKL's vendor gate, which must precede the first product.
    Generative.Device.ensureNativeLoaded ()
    // Two cores are shared by the test process; small models gain nothing from a second libtorch thread.
    torch.set_num_threads 1
    use _ = TestData.isolatedTempDirectory ()
    let config = withPlainSummary { defaultConfig with runInParallel = false }
    if long then runTestsWithCLIArgs [ CLIArguments.Printer config.printer; CLIArguments.Sequenced ] args longTests
    else runTestsInAssemblyWithCLIArgs [ CLIArguments.Printer config.printer; CLIArguments.Sequenced ] args
