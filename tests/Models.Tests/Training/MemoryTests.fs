module Generative.Tests.Training.MemoryTests

open System
open System.IO
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// Resident memory of this process in MB (VmRSS), read from /proc.
let private residentMb () =
    File.ReadLines "/proc/self/status"
    |> Seq.find (fun l -> l.StartsWith "VmRSS:")
    |> fun l -> float (l.Split(' ', StringSplitOptions.RemoveEmptyEntries).[1]) / 1024.0

[<Tests>]
let tests =
    testList "Training.Memory" [
        test "2,000 training steps keep live tensors and resident memory flat" {
            Device.seed 3L
            let trainer = Autoencoder.trainer (Autoencoder.create Autoencoder.linear)
            let data = TestData.bars 2048 9L
            let samples = ResizeArray<int64 * int64 * float>()
            let hooks =
                { Loop.noHooks with
                    OnStep = fun p -> if p.Step % 250L = 0L then samples.Add(p.Step, torch.Tensor.TotalCount, residentMb ()) }
            // 2048 examples in batches of 32: 64 steps per epoch, 32 epochs = 2,048 steps.
            Loop.fit { Loop.defaults with Epochs = 32; BatchSize = 32 } hooks CancellationToken.None trainer data (Loop.start, History.empty) |> ignore
            // Allocators warm up during the first few hundred steps; compare from step 500 on.
            let warm = samples |> Seq.filter (fun (s, _, _) -> s >= 500L) |> List.ofSeq
            let (_, tensors0, rss0) = warm.Head
            let (_, tensors1, rss1) = List.last warm
            Expect.isLessThanOrEqual (tensors1 - tensors0) 0L (sprintf "live tensors: %d at step 500, %d at the end" tensors0 tensors1)
            Expect.isLessThan (rss1 - rss0) 64.0 (sprintf "resident memory: %.0f MB at step 500, %.0f MB at the end (%A)" rss0 rss1 (List.ofSeq samples))
        }
    ]
