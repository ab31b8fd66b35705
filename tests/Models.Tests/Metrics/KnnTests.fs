module Generative.Tests.Metrics.KnnTests

open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// Points on a line: [N, 1].
let private line (xs: float32 list) = torch.tensor(Array.ofList xs).unsqueeze(1L)

let private labelsOf (ys: int64 list) = torch.tensor(Array.ofList ys)

let private values (t: Tensor) = t.data<int64>().ToArray() |> List.ofArray

[<Tests>]
let tests =
    testList "Metrics.Knn" [
        test "k = 1 gives the label of an exact match" {
            use g = new torch.Generator(2UL)
            use reference = torch.randn([| 40L; 3L |], generator = g)
            use labels = torch.randint(4L, [| 40L |], generator = g, dtype = torch.int64)
            use picks = torch.tensor([| 5L; 0L; 39L; 17L; 17L |])
            use queries = reference.index_select(0L, picks)
            use expected = labels.index_select(0L, picks)
            use predicted = Knn.predict 1 reference labels queries
            Expect.equal (values predicted) (values expected) "each query's twin decides"
            Expect.equal (Knn.accuracy 1 reference labels queries expected) 1.0 "all right"
        }

        test "the majority of the k nearest decides" {
            use reference = line [ 0.0f; 1.0f; 2.0f; 10.0f; 11.0f ]
            use labels = labelsOf [ 4L; 4L; 9L; 9L; 9L ]
            use queries = line [ 0.4f; 0.4f; 10.2f ]
            use k3 = Knn.predict 3 reference labels queries
            Expect.equal (values k3).[0] 4L "k = 3 near 0: two 4s against one 9"
            Expect.equal (values k3).[2] 9L "k = 3 near 10: all 9"
            use k5 = Knn.predict 5 reference labels queries
            Expect.equal (values k5) [ 9L; 9L; 9L ] "k = 5: three 9s against two 4s, however far"
            use truth = labelsOf [ 4L; 9L; 9L ]
            Expect.floatClose Accuracy.veryHigh (Knn.accuracy 3 reference labels queries truth) (2.0 / 3.0) "two of three"
        }

        test "a tie goes to the label of the nearer neighbour, not the smaller label" {
            use reference = line [ 0.0f; 1.0f ]
            use labels = labelsOf [ 7L; 3L ]
            use queries = line [ 0.2f; 0.9f ]
            use k2 = Knn.predict 2 reference labels queries
            Expect.equal (values k2) [ 7L; 3L ] "one vote each: the nearest decides"
            // Two votes each: 5 owns the nearest (0.0) and the farthest (0.3) reference.
            use reference4 = line [ 0.0f; 0.1f; 0.2f; 0.3f ]
            use labels4 = labelsOf [ 5L; 2L; 2L; 5L ]
            use query = line [ -0.05f ]
            use k4 = Knn.predict 4 reference4 labels4 query
            Expect.equal (values k4) [ 5L ] "2-2 tie: the label seen first"
            use query2 = line [ 0.14f ]
            use k4b = Knn.predict 4 reference4 labels4 query2
            Expect.equal (values k4b) [ 2L ] "2-2 tie, 2 nearest (0.1 then 0.2)"
        }

        test "splitting queries into blocks changes nothing" {
            use g = new torch.Generator(9UL)
            use reference = torch.randn([| 50L; 4L |], generator = g)
            use labels = torch.randint(3L, [| 50L |], generator = g, dtype = torch.int32)
            use queries = torch.randn([| 103L; 4L |], generator = g)
            use whole = Knn.predictInChunks 1000 5 reference labels queries
            for chunk in [ 1; 7; 102 ] do
                use split = Knn.predictInChunks chunk 5 reference labels queries
                Expect.equal (values split) (values whole) (sprintf "chunks of %d" chunk)
            use looWhole = Knn.leaveOneOutPredictInChunks 1000 5 reference labels
            use looSplit = Knn.leaveOneOutPredictInChunks 7 5 reference labels
            Expect.equal (values looSplit) (values looWhole) "leave-one-out in chunks of 7"
        }

        test "leave-one-out leaves out each point itself, in every block" {
            // Pairs whose members carry different labels: each point's nearest other point is its partner.
            use points = line [ 0.0f; 1.0f; 10.0f; 11.0f; 20.0f; 21.0f ]
            use labels = labelsOf [ 0L; 1L; 2L; 3L; 4L; 5L ]
            for chunk in [ 1; 4; 6 ] do
                use predicted = Knn.leaveOneOutPredictInChunks chunk 1 points labels
                Expect.equal (values predicted) [ 1L; 0L; 3L; 2L; 5L; 4L ] (sprintf "the partner's label, chunks of %d" chunk)
            Expect.equal (Knn.leaveOneOutAccuracy 1 points labels) 0.0 "never its own label"
            use twoClusters = line [ 0.0f; 0.1f; 0.2f; 5.0f; 5.1f; 5.2f ]
            use clusterLabels = labelsOf [ 0L; 0L; 0L; 1L; 1L; 1L ]
            Expect.equal (Knn.leaveOneOutAccuracy 2 twoClusters clusterLabels) 1.0 "clusters: all right"
        }

        test "bad arguments are refused with the parameter named" {
            use reference = torch.randn([| 10L; 3L |])
            use labels = torch.zeros([| 10L |], dtype = torch.int64)
            use queries = torch.randn([| 4L; 3L |])
            use queryLabels = torch.zeros([| 4L |], dtype = torch.int64)
            let refused = TsneTests.refused
            refused "k" (fun () -> Knn.accuracy 0 reference labels queries queryLabels |> ignore)
            refused "k" (fun () -> Knn.accuracy 11 reference labels queries queryLabels |> ignore)
            use wide = torch.randn([| 4L; 2L |])
            refused "queries" (fun () -> Knn.accuracy 1 reference labels wide queryLabels |> ignore)
            use short = torch.zeros([| 9L |], dtype = torch.int64)
            refused "referenceLabels" (fun () -> Knn.accuracy 1 reference short queries queryLabels |> ignore)
            use floats = torch.zeros([| 10L |])
            refused "referenceLabels" (fun () -> Knn.accuracy 1 reference floats queries queryLabels |> ignore)
            refused "queryLabels" (fun () -> Knn.accuracy 1 reference labels queries short |> ignore)
            use flat = torch.randn([| 10L |])
            refused "reference" (fun () -> Knn.accuracy 1 flat labels queries queryLabels |> ignore)
            refused "chunkSize" (fun () -> Knn.predictInChunks 0 1 reference labels queries |> ignore)
            refused "k" (fun () -> Knn.leaveOneOutAccuracy 10 reference labels |> ignore)
            use one = torch.randn([| 1L; 3L |])
            use oneLabel = torch.zeros([| 1L |], dtype = torch.int64)
            refused "points" (fun () -> Knn.leaveOneOutAccuracy 1 one oneLabel |> ignore)
        }
    ]
