module Generative.Tests.SafeExpectTests

open Expecto
open Generative.Tests

[<Tests>]
let tests =
    testList "SafeExpect" [
        test "the ordering checks fail on NaN, float and float32, as either value" {
            let refused (check: unit -> unit) (what: string) =
                let e = TestData.raises<AssertException> check
                Expect.stringContains e.Message "NaN" (sprintf "%s: the message names NaN" what)
            refused (fun () -> Expect.isLessThan nan 1e-5 "a difference") "isLessThan nan"
            refused (fun () -> Expect.isLessThanOrEqual nan 1e-5 "a difference") "isLessThanOrEqual nan"
            refused (fun () -> Expect.isLessThan nanf 1e-5f "a float32 difference") "isLessThan nanf"
            refused (fun () -> Expect.isLessThan 0.5 nan "a bound") "isLessThan against a NaN bound"
            refused (fun () -> Expect.isGreaterThan nan 0.0 "a rate") "isGreaterThan nan"
            refused (fun () -> Expect.isGreaterThanOrEqual nan 0.0 "a rate") "isGreaterThanOrEqual nan"
        }

        test "numbers are compared as before" {
            Expect.isLessThan 1e-7 1e-5 "smaller"
            Expect.isLessThanOrEqual 2 2 "equal integers"
            Expect.isGreaterThan 3.0f 2.0f "larger float32"
            TestData.raises<AssertException> (fun () -> Expect.isLessThan 1.0 0.5 "larger") |> ignore
        }
    ]
