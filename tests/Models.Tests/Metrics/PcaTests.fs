module Generative.Tests.Metrics.PcaTests

open Expecto
open Generative.Tests
open TorchSharp
open Generative

[<Tests>]
let tests =
    testList "Metrics.Pca" [
        test "points on a line keep all their variance in the first component" {
            use t = torch.linspace(-1.0, 1.0, 50L).unsqueeze(1L)
            use direction = torch.tensor([| 1.0f; 2.0f; 2.0f |]).unsqueeze(0L) / 3.0f
            use points = t.matmul(direction) + 5.0f
            let projected, shares = Pca.project 2 points
            use projected = projected
            Expect.equal projected.shape [| 50L; 2L |] "[N, 2]"
            Expect.floatClose Accuracy.medium shares.[0] 1.0 "first component explains everything"
            Expect.isLessThan (projected.select(1L, 1L).abs().max().ToDouble()) 1e-4 "nothing left for the second"
            // The projection on a unit direction keeps distances along the line: the range is still 2.
            let first = projected.select(1L, 0L)
            Expect.floatClose Accuracy.medium ((first.max() - first.min()).ToDouble()) 2.0 "distances kept"
        }

        test "components are ordered by explained variance" {
            use g = new torch.Generator(1UL)
            use points = torch.randn([| 500L; 3L |], generator = g) * torch.tensor([| 1.0f; 5.0f; 0.2f |])
            let projected, shares = Pca.project 3 points
            use projected = projected
            Expect.isGreaterThan shares.[0] shares.[1] "first > second"
            Expect.isGreaterThan shares.[1] shares.[2] "second > third"
            Expect.floatClose { absolute = 0.02; relative = 0.0 } (List.sum shares) 1.0 "all components: all the variance"
            Expect.floatClose { absolute = 0.0; relative = 0.1 } (projected.select(1L, 0L).std().ToDouble()) 5.0 "first component is the wide axis"
        }
    ]
