module Generative.Tests.Eval.MetricsTests

open Expecto
open Generative
open Generative.Tests

[<Tests>]
let tests =
    testList "Eval.Metrics" [
        test "confusion, accuracy, precision and recall of a worked example" {
            // labels 0 0 0 1 1 2, predictions 0 0 1 1 2 2
            let labels = [| 0; 0; 0; 1; 1; 2 |]
            let predicted = [| 0; 0; 1; 1; 2; 2 |]
            let r = ClassificationMetrics.report 3 predicted labels
            Expect.equal r.Counts [| [| 2; 1; 0 |]; [| 0; 1; 1 |]; [| 0; 0; 1 |] |] "rows true, columns predicted"
            Expect.floatClose Accuracy.veryHigh r.Accuracy (4.0 / 6.0) "4 of 6 right"
            Expect.floatClose Accuracy.veryHigh r.Precision.[0] 1.0 "both predictions of 0 are right"
            Expect.floatClose Accuracy.veryHigh r.Precision.[1] 0.5 "one of two predictions of 1 is right"
            Expect.floatClose Accuracy.veryHigh r.Precision.[2] 0.5 "one of two predictions of 2 is right"
            Expect.floatClose Accuracy.veryHigh r.Recall.[0] (2.0 / 3.0) "two of three 0s found"
            Expect.floatClose Accuracy.veryHigh r.Recall.[1] 0.5 "one of two 1s found"
            Expect.floatClose Accuracy.veryHigh r.Recall.[2] 1.0 "the 2 is found"
            Expect.equal (ClassificationMetrics.accuracy predicted labels) r.Accuracy "accuracy agrees"
        }

        test "a class never predicted has NaN precision, not a division error" {
            let r = ClassificationMetrics.report 3 [| 0; 0 |] [| 0; 1 |]
            Expect.isTrue (System.Double.IsNaN r.Precision.[2]) "class 2 never predicted"
            Expect.isTrue (System.Double.IsNaN r.Recall.[2]) "class 2 never occurs"
        }

        test "bad input is rejected with the parameter named" {
            let e = TestData.raises<System.ArgumentException> (fun () -> ClassificationMetrics.confusion 2 [| 0; 2 |] [| 0; 1 |] |> ignore)
            Expect.equal e.ParamName "predicted" "out-of-range prediction"
            let e = TestData.raises<System.ArgumentException> (fun () -> ClassificationMetrics.accuracy [| 0 |] [| 0; 1 |] |> ignore)
            Expect.equal e.ParamName "predicted" "length mismatch"
        }
    ]
