module Generative.Tests.Data.BatchesTests

open System
open Expecto
open TorchSharp
open Generative

let private values (t: torch.Tensor) = t.data<int64>().ToArray()

[<Tests>]
let tests =
    testList "Data.Batches" [
        test "the permutation is determined by (seed, epoch)" {
            use a = Batches.permutation 7L 3 1000L
            use b = Batches.permutation 7L 3 1000L
            use nextEpoch = Batches.permutation 7L 4 1000L
            use otherSeed = Batches.permutation 8L 3 1000L
            Expect.equal (values a) (values b) "same seed and epoch"
            Expect.notEqual (values a) (values nextEpoch) "another epoch"
            Expect.notEqual (values a) (values otherSeed) "another seed"
            Expect.equal (Array.sort (values a)) [| 0L .. 999L |] "a permutation of 0..count-1"
            Expect.equal a.dtype torch.ScalarType.Int64 "int64 indices"
        }

        test "(seed, epoch) pairs that add up alike still differ" {
            use a = Batches.permutation 1L 0 100L
            use b = Batches.permutation 0L 1 100L
            Expect.notEqual (values a) (values b) "mixed, not summed"
        }

        test "the permutation does not touch the global generator" {
            torch.manual_seed 5L |> ignore
            use before = torch.random.get_rng_state()
            use _p = Batches.permutation 1L 1 50L
            use after = torch.random.get_rng_state()
            Expect.isTrue (before.Equals after) "global RNG state unchanged"
        }

        test "batchCount with and without the last partial batch" {
            Expect.equal (Batches.batchCount 60000L 128 false) 469 "ceil"
            Expect.equal (Batches.batchCount 60000L 128 true) 468 "floor"
            Expect.equal (Batches.batchCount 256L 128 false) 2 "exact"
            Expect.equal (Batches.batchCount 0L 128 false) 0 "empty"
            Expect.throwsT<ArgumentException> (fun () -> Batches.batchCount 10L 0 false |> ignore) "batch size 0"
        }

        test "indices cover the permutation in order; the last batch is smaller" {
            use perm = Batches.permutation 1L 0 10L
            let batches = [ for i in 0 .. Batches.batchCount 10L 4 false - 1 -> values (Batches.indices perm i 4) ]
            Expect.equal (batches |> List.map Array.length) [ 4; 4; 2 ] "sizes"
            Expect.equal (Array.concat batches) (values perm) "in order"
            Expect.throwsT<ArgumentException> (fun () -> Batches.indices perm 3 4 |> ignore) "past the end"
            Expect.throwsT<ArgumentException> (fun () -> Batches.indices perm 0 -1 |> ignore) "negative batch size"
        }

        test "take selects matching images and labels; flatten gives [N, C*H*W]" {
            use images = torch.arange(24L, dtype = torch.ScalarType.Float32).reshape(6L, 1L, 2L, 2L)
            use labels = torch.arange(6L, dtype = torch.ScalarType.Int64)
            let split = { Images = images; Labels = labels }
            use idx = torch.tensor([| 4L; 1L |])
            let x, y = Batches.take split idx
            use x = x
            use y = y
            Expect.equal (values y) [| 4L; 1L |] "labels"
            Expect.equal (x.[0L].sum().ToSingle()) (16.0f + 17.0f + 18.0f + 19.0f) "image 4"
            use flat = Batches.flatten x
            Expect.equal flat.shape [| 2L; 4L |] "flattened"
        }
    ]
