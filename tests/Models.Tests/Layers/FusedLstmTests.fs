module Generative.Tests.Layers.FusedLstmTests

open System
open Expecto
open TorchSharp
open Generative
open Generative.Tests

// Hidden 20: two full groups of eight lanes and a tail of four, so both paths of the kernel run.
let private batch, steps, inputs, hidden, layers = 3L, 7L, 5L, 20L, 2

let private newLstm (dropout: float) =
    torch.manual_seed 5L |> ignore
    torch.nn.LSTM(inputs, hidden, numLayers = int64 layers, batchFirst = true, dropout = dropout)

/// Input, a carried state and an incoming gradient for the outputs, fixed by a seed.
let private problem () =
    let generator = new torch.Generator(9UL)
    let x = torch.randn([| batch; steps; inputs |], generator = generator).requires_grad_(true)
    let h0 = (torch.randn([| int64 layers; batch; hidden |], generator = generator) * 0.5f).requires_grad_(true)
    let c0 = (torch.randn([| int64 layers; batch; hidden |], generator = generator) * 0.5f).requires_grad_(true)
    let incoming = torch.randn([| batch; steps; hidden |], generator = generator)
    x, h0, c0, incoming

/// ATen's LSTM (oneDNN off, as the library trains without the fused passes).
let private reference (lstm: Modules.LSTM) (x: torch.Tensor) (h0: torch.Tensor) (c0: torch.Tensor) =
    let struct (y: torch.Tensor, h: torch.Tensor, c: torch.Tensor) =
        OneDnn.without (fun () -> lstm.call(x, Nullable<struct (torch.Tensor * torch.Tensor)>(struct (h0, c0))))
    y, (h, c)

let private fused (lstm: Modules.LSTM) (dropout: float) (x: torch.Tensor) (h0: torch.Tensor) (c0: torch.Tensor) =
    FusedLstm.forward lstm layers dropout x (Some (h0, c0))

/// Outputs, final state and the gradients of the input, the state and every weight after a backward pass of
/// (outputs x incoming).sum().
let private run (pass: Modules.LSTM -> torch.Tensor -> torch.Tensor -> torch.Tensor -> torch.Tensor * (torch.Tensor * torch.Tensor)) =
    let lstm = newLstm 0.0
    let x, h0, c0, incoming = problem ()
    let y, (h, c) = pass lstm x h0 c0
    use loss = (y * incoming).sum()
    loss.backward()
    let weights = lstm.named_parameters() |> Seq.map (fun struct (name, p) -> name, p.grad.clone()) |> Seq.toList
    [ "outputs", y.detach(); "final h", h.detach(); "final c", c.detach()
      "x's gradient", x.grad; "h0's gradient", h0.grad; "c0's gradient", c0.grad ] @ weights

let private address = TensorMemory.float32Pointer

/// One step of the kernel against the same formulas in tensor operations, every output buffer filled with NaN
/// first so a lane the kernel leaves unwritten shows: rows of `hidden` = 20 end in a tail of four lanes.
let private kernelAgainstFormulas () =
    let generator = new torch.Generator(3UL)
    let rows = 4L
    let preActivations = torch.randn([| rows; 4L * hidden |], generator = generator) * 3.0f
    let cPrevious = torch.randn([| rows; hidden |], generator = generator)
    let dOutput = torch.randn([| rows; hidden |], generator = generator)
    let dhNext = torch.randn([| rows; hidden |], generator = generator)
    let dcNext = torch.randn([| rows; hidden |], generator = generator)
    let nans (shape: int64[]) = torch.full(shape, nan.ToScalar(), dtype = torch.float32)
    let gates = preActivations.clone()
    let c, tanhC, h = nans [| rows; hidden |], nans [| rows; hidden |], nans [| rows; hidden |]
    LstmCellKernel.forward (address gates) (address cPrevious) (address c) (address tanhC) (address h) (int rows) (int hidden)
    let dGates = nans [| rows; 4L * hidden |]
    let dc = dcNext.clone()
    LstmCellKernel.backward (address gates) (address cPrevious) (address tanhC) (address dOutput) (address dhNext)
        (address dc) (address dGates) (int rows) (int hidden) false
    // In place, as FusedLstm calls it: the gradients over the activations.
    let inPlace = gates.clone()
    use dcAgain = dcNext.clone()
    LstmCellKernel.backward (address inPlace) (address cPrevious) (address tanhC) (address dOutput) (address dhNext)
        (address dcAgain) (address inPlace) (int rows) (int hidden) false
    // The same step in tensor operations.
    let chunk k = preActivations.narrow(1L, k * hidden, hidden)
    let i, f, g, o = chunk 0L |> torch.sigmoid, chunk 1L |> torch.sigmoid, chunk 2L |> torch.tanh, chunk 3L |> torch.sigmoid
    let expectedC = f * cPrevious + i * g
    let expectedTanhC = expectedC.tanh()
    let dh = dOutput + dhNext
    let dCell = dcNext + dh * o * (1.0f - expectedTanhC * expectedTanhC)
    let expectedDGates =
        torch.cat([| dCell * g * i * (1.0f - i); dCell * cPrevious * f * (1.0f - f); dCell * i * (1.0f - g * g)
                     dh * expectedTanhC * o * (1.0f - o) |], 1L)
    [ "activations", gates, torch.cat([| i; f; g; o |], 1L); "c", c, expectedC; "tanh c", tanhC, expectedTanhC
      "h", h, o * expectedTanhC; "gates' gradients", dGates, expectedDGates; "dc", dc, dCell * f
      "gates' gradients written over the activations", inPlace, expectedDGates ]

[<Tests>]
let tests =
    testList "Layers.FusedLstm" [
        test "one kernel step writes every lane, the tail included, as the formulas in tensor operations give it" {
            for name, actual, expected in kernelAgainstFormulas () do
                Expect.isFalse (actual.isnan().any().ToBoolean()) (sprintf "%s: every lane written" name)
                Expect.isLessThan (TestData.largestRelativeDifference actual expected) 1e-6 name
        }

        test "outputs, final state and every gradient are ATen's LSTM's, from a carried state" {
            let expected = run reference
            let actual = run (fun lstm x h0 c0 -> fused lstm 0.0 x h0 c0)
            Expect.equal (List.map fst actual) (List.map fst expected) "the same quantities"
            Expect.equal actual.Length 14 "outputs, state, x, h0, c0 and eight weights and biases"
            for (name, a), (_, e) in List.zip actual expected do
                Expect.equal a.shape e.shape (sprintf "%s's shape" name)
                Expect.isLessThan (TestData.largestRelativeDifference a e) 1e-5 name
        }

        test "a second backward pass (retain_graph) gives the same gradients: the freed buffers are recomputed" {
            let lstm = newLstm 0.0
            let x, h0, c0, incoming = problem ()
            let y, _ = fused lstm 0.0 x h0 c0
            use loss = (y * incoming).sum()
            let gradients () = lstm.parameters() |> Seq.map (fun p -> p.grad.clone()) |> Seq.toList
            loss.backward(retain_graph = true)
            let first = gradients ()
            lstm.zero_grad()
            loss.backward()
            for a, e in List.zip (gradients ()) first do
                Expect.isLessThan (TestData.largestRelativeDifference a e) 1e-6 "the second pass's gradients"
        }

        test "dropout between the layers takes ATen's masks: same seed, same outputs" {
            let lstm = newLstm 0.4
            lstm.train()
            let x, h0, c0, _ = problem ()
            torch.manual_seed 21L |> ignore
            let expected, _ = reference lstm x h0 c0
            torch.manual_seed 21L |> ignore
            let actual, _ = fused lstm 0.4 x h0 c0
            Expect.isLessThan (TestData.largestRelativeDifference actual expected) 1e-5 "the outputs with the same masks"
            torch.manual_seed 22L |> ignore
            let other, _ = fused lstm 0.4 x h0 c0
            Expect.isGreaterThan (TestData.largestRelativeDifference other expected) 1e-2 "another seed drops other units"
        }

        test "saturated gates give exact 0, 1 and -1, and a NaN reaches the output" {
            let lstm = newLstm 0.0
            use _ = torch.no_grad()
            for p in lstm.parameters() do p.zero_() |> ignore
            // Each gate's bias far beyond the exponential's range: i = f = o = 1, g = tanh(+-1000) = +-1.
            let biases = lstm.get_parameter("bias_ih_l0")
            biases.fill_(1000.0) |> ignore
            let cellGate = biases.narrow(0L, 2L * hidden, hidden)
            cellGate.fill_(-1000.0) |> ignore
            use x = torch.zeros([| batch; 1L; inputs |])
            use h0 = torch.zeros([| int64 layers; batch; hidden |])
            use c0 = torch.zeros([| int64 layers; batch; hidden |])
            let y, (h, c) =
                use _ = torch.enable_grad()
                fused lstm 0.0 x h0 c0
            // Layer 0: c = 1 x 0 + 1 x (-1) = -1, h = tanh(-1); layer 1 (all zero): c = 0.5 x 0 + 0.5 x 0, h = 0.
            use layer0 = c.[0L]
            Expect.isTrue (layer0.eq(torch.tensor(-1.0f)).all().ToBoolean()) "c = -1 exactly where i, f and g saturate"
            use layer0H = h.[0L]
            Expect.isLessThan (TestData.largestRelativeDifference layer0H (torch.full_like(layer0H, float (Math.Tanh -1.0)))) 1e-6 "h = tanh(-1)"
            Expect.isTrue (y.abs().max().ToDouble() = 0.0) "the second layer, all zero, gives zero"
            biases.fill_(nan) |> ignore
            let poisoned, _ =
                use _ = torch.enable_grad()
                fused lstm 0.0 x h0 c0
            Expect.isTrue (poisoned.isnan().all().ToBoolean()) "NaN weights give NaN outputs, not saturated numbers"
        }

        test "runs only where it can: float32 on the CPU with gradients on" {
            let lstm = newLstm 0.0
            use x = torch.zeros([| batch; steps; inputs |])
            Expect.isTrue (FusedLstm.applies lstm x) "float32, CPU, gradients on (this machine has 256-bit vectors)"
            let withoutGradients =
                use _ = torch.no_grad()
                FusedLstm.applies lstm x
            Expect.isFalse withoutGradients "no gradients: evaluation keeps libtorch's"
            use doubles = x.to_type(torch.float64)
            Expect.isFalse (FusedLstm.applies lstm doubles) "float64 input"
            let bidirectional = torch.nn.LSTM(inputs, hidden, bidirectional = true)
            Expect.isFalse (FusedLstm.applies bidirectional x) "two directions"
            let unbiased = torch.nn.LSTM(inputs, hidden, bias = false)
            Expect.isFalse (FusedLstm.applies unbiased x) "no biases"
        }
    ]
