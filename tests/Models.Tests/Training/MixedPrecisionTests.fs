module Generative.Tests.Training.MixedPrecisionTests

open System
open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// Two instances of a small network: a linear layer and a second one whose bias the loss never reaches.
let private pair () =
    let build () = torch.nn.Sequential(("first", torch.nn.Linear(4L, 3L) :> torch.nn.Module<Tensor, Tensor>))
    Device.seed 3L
    let master = build ()
    let working = build ()
    master, working

[<Tests>]
let tests =
    testList "Training.MixedPrecision" [
        test "the working copy holds the master's weights rounded to bfloat16, and hands back its gradients in fp32" {
            let master, working = pair ()
            let copy = MixedPrecision.workingCopy TrainingPrecision.BFloat16 master working
            Expect.all copy.Working (fun p -> p.dtype = torch.bfloat16) "the working copy is bfloat16"
            Expect.all copy.Master (fun p -> p.dtype = torch.float32) "the master stays fp32"
            MixedPrecision.loadWeights copy
            for m, w in Array.zip copy.Master copy.Working do
                use rounded = m.``to``(torch.bfloat16)
                Expect.isTrue (w.Equals rounded) "each working weight is its master's, rounded"
            MixedPrecision.zeroGradients copy
            use x = torch.randn(5L, 4L).``to``(torch.bfloat16)
            use loss = (working.forward x).``to``(torch.float32).square().sum()
            loss.backward()
            let expected = copy.Working |> Array.map (fun w -> w.grad.``to``(torch.float32))
            MixedPrecision.storeGradients copy
            for m, e in Array.zip copy.Master expected do
                Expect.equal m.grad.dtype torch.float32 "the master's gradient is fp32"
                Expect.isTrue (m.grad.Equals e) "and equals the working copy's"
            Expect.all copy.Working (fun w -> isNull w.grad) "the working copy's gradients are cleared"
        }

        test "a parameter the backward pass does not reach gets no gradient on the master" {
            let master, working = pair ()
            let copy = MixedPrecision.workingCopy TrainingPrecision.BFloat16 master working
            for m in copy.Master do m.grad <- torch.ones_like(m)
            MixedPrecision.storeGradients copy
            Expect.all copy.Master (fun m -> isNull m.grad) "no stale gradient survives"
        }

        test "networks that differ, or keep batch-norm statistics, are refused with the argument's name" {
            let master, _ = pair ()
            let other = torch.nn.Sequential(("first", torch.nn.Linear(4L, 2L) :> torch.nn.Module<Tensor, Tensor>))
            let e = TestData.raises<ArgumentException> (fun () -> MixedPrecision.workingCopy TrainingPrecision.BFloat16 master other |> ignore)
            Expect.equal e.ParamName "working" "different shapes"
            let normed () = torch.nn.Sequential(("norm", torch.nn.BatchNorm1d(4L) :> torch.nn.Module<Tensor, Tensor>))
            let e = TestData.raises<ArgumentException> (fun () -> MixedPrecision.workingCopy TrainingPrecision.BFloat16 (normed ()) (normed ()) |> ignore)
            Expect.equal e.ParamName "master" "running statistics would be rounded"
            Expect.stringContains e.Message "running_mean" "the buffer is named"
        }

        test "the precision setting reads fp32 and bf16 and names the choices when it cannot" {
            let settingsOf pairs = dict ((Catalog.find "char-lstm").Configure pairs).Settings
            Expect.equal (settingsOf []).["precision"] "fp32" "fp32 by default"
            Expect.equal (settingsOf [ "precision", "bfloat16" ]).["precision"] "bf16" "bfloat16 is read, and printed bf16"
            let e = TestData.raises<ArgumentException> (fun () -> (Catalog.find "char-lstm").Configure [ "precision", "fp8" ] |> ignore)
            Expect.equal e.ParamName "precision" "the key is named"
            Expect.stringContains e.Message "bf16" "and the choices"
        }
    ]
