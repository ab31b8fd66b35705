module Generative.Tests.Layers.MinibatchStddevTests

open System
open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// The feature the layer should append, computed by hand in doubles: each column's population standard deviation
/// (with ε inside the root), averaged over the columns.
let private byHand (rows: float[][]) =
    let n = float rows.Length
    let columns = rows.[0].Length
    [ for j in 0 .. columns - 1 ->
        let mean = (rows |> Array.sumBy (fun r -> r.[j])) / n
        let variance = (rows |> Array.sumBy (fun r -> (r.[j] - mean) ** 2.0)) / n
        sqrt (variance + MinibatchStddev.epsilon) ]
    |> List.average

let private config = { FsCheckConfig.defaultConfig with maxTest = 30 }

[<Tests>]
let tests =
    testList "Layers.MinibatchStddev" [
        testPropertyWithConfig config "any [N,F] batch keeps its features and gains one column: the mean per-feature standard deviation" <|
            fun (n0: FsCheck.PositiveInt) (f0: FsCheck.PositiveInt) (seed: int) ->
                let n, f = 1 + n0.Get % 7, 1 + f0.Get % 5
                let random = Random(seed)
                let rows = Array.init n (fun _ -> Array.init f (fun _ -> random.NextDouble() * 4.0 - 2.0))
                use _ = torch.NewDisposeScope()
                let x = torch.tensor(Array.concat rows, dtype = torch.float64).reshape(int64 n, int64 f)
                let y = MinibatchStddev.append x
                Expect.equal y.shape [| int64 n; int64 (f + 1) |] "one more column"
                Expect.isTrue (y.narrow(1L, 0L, int64 f).eq(x).all().ToBoolean()) "the features are unchanged"
                let expected = byHand rows
                for i in 0 .. n - 1 do
                    Expect.floatClose Accuracy.high (y.[int64 i, int64 f].ToDouble()) expected (sprintf "row %d's appended feature" i)

        test "identical rows give √ε and a finite gradient" {
            use _ = torch.NewDisposeScope()
            let x = torch.ones([| 4L; 3L |], dtype = torch.float64, requires_grad = true)
            let y = MinibatchStddev.append x
            Expect.floatClose Accuracy.high (y.[0L, 3L].ToDouble()) (sqrt MinibatchStddev.epsilon) "no spread"
            y.sum().backward()
            Expect.isTrue (x.grad.isfinite().all().ToBoolean()) "finite gradients"
        }

        test "the gradient reaches every input through the appended column" {
            use _ = torch.NewDisposeScope()
            // Only the extra column depends on the other rows. Its value s = mean over the F columns of σ_j, so
            // ∂s/∂x_ij = (x_ij - mean_j) / (N·F·σ_j); summed over the N rows, the gradient is (x_ij - mean_j) / (F·σ_j).
            let x = torch.tensor([| 0.0; 1.0; 2.0; 5.0 |], dtype = torch.float64).reshape(2L, 2L).detach().requires_grad_(true)
            let y = MinibatchStddev.append x
            y.[torch.TensorIndex.Colon, torch.TensorIndex.Single 2L].sum().backward()
            // Column 0 holds 0 and 2 (mean 1, variance 1), column 1 holds 1 and 5 (mean 3, variance 4); F = 2.
            let sigma0, sigma1 = sqrt (1.0 + MinibatchStddev.epsilon), sqrt (4.0 + MinibatchStddev.epsilon)
            let expected = [| (0.0 - 1.0) / (2.0 * sigma0); (1.0 - 3.0) / (2.0 * sigma1); (2.0 - 1.0) / (2.0 * sigma0); (5.0 - 3.0) / (2.0 * sigma1) |]
            let got = x.grad.data<float>().ToArray()
            for i in 0 .. 3 do Expect.floatClose Accuracy.high got.[i] expected.[i] (sprintf "gradient of entry %d" i)
        }

        test "a tensor that is not a [batch, features] matrix is refused, naming the input" {
            use x = torch.zeros([| 2L; 1L; 3L; 3L |])
            let e = TestData.raises<ArgumentException> (fun () -> MinibatchStddev.append x |> ignore)
            Expect.equal e.ParamName "features" "ParamName"
        }
    ]
