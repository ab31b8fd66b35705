module Generative.Tests.Losses.LinearCrossEntropyTests

open System
open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// Rows enough for three blocks of 5,000 classes, the last one partial, and a layer to apply.
let private problem () =
    let generator = new torch.Generator(11UL)
    let classes = 5000L
    let rows = 2L * LinearCrossEntropy.rowsPerBlock classes + 17L
    let x = torch.randn([| rows; 24L |], generator = generator).requires_grad_(true)
    let weight = (torch.randn([| classes; 24L |], generator = generator) * 0.3f).requires_grad_(true)
    let bias = (torch.randn([| classes |], generator = generator) * 0.1f).requires_grad_(true)
    let targets = torch.randint(0L, classes, [| rows |], dtype = torch.int64, generator = generator)
    x, weight, bias, targets

/// The loss (as a double) and the gradients of x, weight and bias when the loss is scaled by 3 before its backward
/// pass, so an incoming gradient other than 1 is applied.
let private lossAndGradients (loss: torch.Tensor -> torch.Tensor -> torch.Tensor -> torch.Tensor -> torch.Tensor) =
    let x, weight, bias, targets = problem ()
    let value = loss x weight bias targets
    use scaled = value * 3.0f
    scaled.backward()
    value.ToDouble(), [ x.grad; weight.grad; bias.grad ]

let private plain x weight bias targets =
    use logits = torch.nn.functional.linear(x, weight, bias)
    torch.nn.functional.cross_entropy(logits, targets)

[<Tests>]
let tests =
    testList "Losses.LinearCrossEntropy" [
        test "the loss and the gradients of x, weight and bias are cross_entropy(linear(...))'s, over several blocks" {
            let expectedLoss, expected = lossAndGradients plain
            let loss, actual = lossAndGradients LinearCrossEntropy.mean
            Expect.floatClose { absolute = 0.0; relative = 1e-6 } loss expectedLoss "the mean loss"
            List.zip3 [ "x"; "weight"; "bias" ] actual expected
            |> List.iter (fun (name, a, e) ->
                Expect.equal a.shape e.shape (sprintf "%s's gradient's shape" name)
                Expect.isLessThan (TestData.largestRelativeDifference a e) 1e-5 (sprintf "%s's gradient" name))
        }

        test "without gradients it gives the same loss and records no graph" {
            let x, weight, bias, targets = problem ()
            use _ = torch.no_grad()
            use expected = plain x weight bias targets
            use actual = LinearCrossEntropy.mean x weight bias targets
            Expect.floatClose { absolute = 0.0; relative = 1e-6 } (actual.ToDouble()) (expected.ToDouble()) "the mean loss"
            Expect.isFalse actual.requires_grad "no graph"
        }

        test "mismatched shapes, no rows and targets of the wrong type are refused, naming them, before anything is computed" {
            let x, weight, bias, targets = problem ()
            use fewerTargets = targets.narrow(0L, 0L, 10L)
            let e = TestData.raises<ArgumentException> (fun () -> LinearCrossEntropy.mean x weight bias fewerTargets |> ignore)
            Expect.stringContains e.Message "targets [N]" "says what is expected"
            use wrongBias = bias.narrow(0L, 0L, 10L)
            Expect.throwsT<ArgumentException> (fun () -> LinearCrossEntropy.mean x weight wrongBias targets |> ignore) "bias size differs"
            use noRows = x.narrow(0L, 0L, 0L)
            use noTargets = targets.narrow(0L, 0L, 0L)
            Expect.throwsT<ArgumentException> (fun () -> LinearCrossEntropy.mean noRows weight bias noTargets |> ignore) "no rows"
            use floatTargets = targets.to_type(torch.float32)
            let e = TestData.raises<ArgumentException> (fun () -> LinearCrossEntropy.mean x weight bias floatTargets |> ignore)
            Expect.equal e.ParamName "targets" "targets that are not class indices are named"
        }

        test "a word model with tied weights: the trainer's first step is plain SGD on the plain output layer's gradients" {
            let text = String.replicate 40 "the cat sat on the mat and the dog sat on the log\n"
            let c =
                { LanguageModel.words with
                    Embedding = 16; Hidden = 16; Layers = 1; SequenceLength = 6; MinCount = 1; Dropout = 0.0
                    Optimizer = Optim.sgd 0.5 0.0; ClipNorm = 0.0 }
            let c = { c with Vocabulary = Some (LanguageModel.vocabularyOf c text) }
            Device.seed 1L
            let m = LanguageModel.create torch.CPU c
            use tokens = Vocabulary.encode m.Vocabulary text
            let batch = (BatchSource.contiguous 4 c.SequenceLength tokens).Take 1 0
            let logits, _ = m.Net.Forward(batch.Inputs, None)
            let expectedLoss = LanguageModel.crossEntropy logits batch.Targets
            expectedLoss.backward()
            let weights () = [ for p in m.Net.parameters() -> p.detach().clone() ]
            let before = weights ()
            let expected = [ for p in m.Net.parameters() -> p.grad.clone() ]
            let loss = (LanguageModel.trainer m).Step batch
            let steps = List.map2 (fun (b: torch.Tensor) (a: torch.Tensor) -> (b - a) / 0.5f) before (weights ())
            Expect.floatClose { absolute = 0.0; relative = 1e-6 } loss.["loss"] (expectedLoss.ToDouble()) "the loss"
            List.zip steps expected |> List.iteri (fun i (a, e) ->
                Expect.isLessThan (TestData.largestRelativeDifference a e) 1e-4 (sprintf "parameter %d's gradient (the embedding's takes both paths)" i))
        }
    ]
