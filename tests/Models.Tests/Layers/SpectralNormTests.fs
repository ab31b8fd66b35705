module Generative.Tests.Layers.SpectralNormTests

open System
open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// The largest singular value of a matrix, by libtorch's SVD (independent of the power iteration under test).
let private largestSingularValue (m: Tensor) =
    use s = torch.linalg.svdvals(m.detach())
    s.max().ToDouble()

let private normalized (m: Net) = m :?> SpectralNormalized

/// Runs the layer forward in training mode `n` times (one power iteration each).
let private trainForward (layer: Net) (input: Tensor) (n: int) =
    layer.train()
    use _ = torch.no_grad()
    for _ in 1 .. n do
        use _ = layer.forward(input)
        ()

/// A module of its own kind holding a layer, which `SpectralNorm.apply` cannot rebuild.
type private Wrapped(inner: Net) =
    inherit torch.nn.Module<Tensor, Tensor>("Wrapped")
    do base.register_module("inner", inner)
    override _.forward(x) = inner.forward(x)

/// Multiplies a layer's weight in place (no gradient).
let private scaleWeight (k: float32) (layer: Net) =
    use _ = torch.no_grad()
    layer.get_parameter("weight").mul_(k.ToScalar()) |> ignore
    layer

/// One forward, result dropped.
let private forwardOnce (layer: Net) (x: Tensor) =
    use y = layer.forward(x)
    ()

/// Copies a tensor's values into another (no gradient).
let private copyInto (target: Tensor) (source: Tensor) =
    use _ = torch.no_grad()
    target.copy_(source) |> ignore

/// Copies every state-dict entry of `source` into `target`'s (no gradient).
let private copyState (source: torch.nn.Module) (target: torch.nn.Module) =
    use _ = torch.no_grad()
    let s = source.state_dict()
    for KeyValue (k, t) in target.state_dict() do t.copy_(s.[k]) |> ignore

let private state (m: torch.nn.Module) = [ for KeyValue (k, t) in m.state_dict() -> k, t.detach().clone() ]

[<Tests>]
let tests =
    testList "Layers.SpectralNorm" [
        test "a normalised Linear's effective weight, read through its forward, has largest singular value 1" {
            Device.seed 1L
            // A raw weight far from norm 1, so an unnormalised forward cannot pass by chance.
            let plain = Layers.linear 20 12 |> scaleWeight 5.0f
            let raw = largestSingularValue (plain :?> Modules.Linear).weight
            Expect.isGreaterThan raw 2.0 "the raw weight's spectral norm is well above 1"
            let layer = SpectralNorm.layer plain
            use x = torch.randn(8L, 20L)
            trainForward layer x 100
            layer.eval()
            // Through the forward itself: f(I) - f(0) = I Wᵀ, the weight the layer applies.
            use eye = torch.eye(20L)
            use zero = torch.zeros(1L, 20L)
            use applied = (layer.forward(eye) - layer.forward(zero)).t()
            Expect.floatClose { absolute = 1e-4; relative = 0.0 } (largestSingularValue applied) 1.0 "σ(W/σ̂) = 1"
            Expect.floatClose { absolute = 1e-4; relative = 1e-4 } ((normalized layer).Sigma().ToDouble()) raw "σ̂ = uᵀWv converges to σ(W)"
        }

        test "a normalised Conv2d applies W/σ(W reshaped to [out, -1]) with its own stride and padding" {
            for inputs, outputs, kernel, stride, padding in [ 3, 8, 3, 2, 1; 1, 6, 5, 1, 2; 4, 5, 5, 1, 0 ] do
                Device.seed 2L
                let plain = Conv.conv2d inputs outputs kernel stride padding |> scaleWeight 4.0f
                let layer = SpectralNorm.layer plain
                use x = torch.randn(2L, int64 inputs, 11L, 11L)
                trainForward layer x 100
                layer.eval()
                use w = (normalized layer).Weight()
                let what = sprintf "conv %d->%d k%d s%d p%d" inputs outputs kernel stride padding
                Expect.floatClose { absolute = 1e-4; relative = 0.0 } (largestSingularValue (w.reshape(int64 outputs, -1L))) 1.0 (what + ": σ = 1")
                // The same convolution as a plain Conv2d holding the normalised weight and the bias.
                let reference = Conv.conv2d inputs outputs kernel stride padding
                copyInto (reference.get_parameter("weight")) w
                copyInto (reference.get_parameter("bias")) (layer.get_parameter("bias"))
                use expected = reference.forward(x)
                use actual = layer.forward(x)
                Expect.equal actual.shape expected.shape (what + ": output shape")
                Expect.isTrue (torch.allclose(actual, expected, rtol = 1e-5, atol = 1e-6)) (what + ": same output")
        }

        test "a training forward runs one power iteration on the stored u and v; an evaluation forward none" {
            Device.seed 3L
            let layer = SpectralNorm.layer (Layers.linear 7 5)
            let u0 = layer.get_buffer("weight_u").clone()
            let v0 = layer.get_buffer("weight_v").clone()
            use x = torch.randn(3L, 7L)
            layer.eval()
            forwardOnce layer x
            Expect.isTrue (layer.get_buffer("weight_u").Equals u0 && layer.get_buffer("weight_v").Equals v0) "eval: u and v unchanged"
            layer.train()
            forwardOnce layer x
            use w = layer.get_parameter("weight_orig").detach()
            use v1 = torch.nn.functional.normalize(torch.mv(w.t(), u0), 2.0, 0L, 1e-12)
            use u1 = torch.nn.functional.normalize(torch.mv(w, v1), 2.0, 0L, 1e-12)
            Expect.isTrue (torch.allclose(layer.get_buffer("weight_v"), v1, rtol = 1e-6, atol = 1e-7)) "v ← normalize(Wᵀu)"
            Expect.isTrue (torch.allclose(layer.get_buffer("weight_u"), u1, rtol = 1e-6, atol = 1e-7)) "u ← normalize(Wv)"
            Expect.isFalse (layer.get_buffer("weight_u").requires_grad) "u carries no gradient"
        }

        test "the gradient reaches the raw weight through σ: that of x ↦ x (W / uᵀWv)ᵀ + b with u, v constant" {
            Device.seed 4L
            let layer = SpectralNorm.layer (Layers.linear 6 4)
            layer.eval()
            use x = torch.randn(5L, 6L)
            use target = torch.randn(5L, 4L)
            let weight = layer.get_parameter("weight_orig")
            use out = layer.forward(x)
            use loss = (out - target).square().sum()
            loss.backward()
            use actual = weight.grad.clone()
            // By hand, on a copy of the raw weight.
            use w = weight.detach().clone().requires_grad_(true)
            use u = layer.get_buffer("weight_u").clone()
            use v = layer.get_buffer("weight_v").clone()
            use sigma = torch.dot(u, torch.mv(w, v))
            use manual = torch.nn.functional.linear(x, w / sigma, layer.get_parameter("bias").detach())
            use manualLoss = (manual - target).square().sum()
            manualLoss.backward()
            Expect.isTrue (torch.allclose(actual, w.grad, rtol = 1e-5, atol = 1e-6)) "same gradient as the hand-built W/σ"
        }

        test "u and v are buffers drawn from the global generator; names follow PyTorch's spectral_norm" {
            let build seed =
                Device.seed seed
                SpectralNorm.apply (Layers.sequence [ Layers.flatten (); Layers.linear 16 8; Layers.relu (); Layers.linear 8 1 ])
            let a, b, c = build 5L, build 5L, build 6L
            Expect.equal (a.state_dict().Keys |> Set.ofSeq)
                (set [ "1.weight_orig"; "1.bias"; "1.weight_u"; "1.weight_v"; "3.weight_orig"; "3.bias"; "3.weight_u"; "3.weight_v" ])
                "element names kept, PyTorch's entry names"
            Expect.equal ([ for struct (n, _) in a.named_parameters() -> n ] |> Set.ofList)
                (set [ "1.weight_orig"; "1.bias"; "3.weight_orig"; "3.bias" ]) "the raw weights and biases are what an optimiser sees"
            Expect.equal ([ for struct (n, b) in a.named_buffers() -> n, b.shape ])
                [ "1.weight_u", [| 8L |]; "1.weight_v", [| 16L |]; "3.weight_u", [| 1L |]; "3.weight_v", [| 8L |] ] "u [out], v [in]"
            let same (x: Net) (y: Net) = List.forall2 (fun (_, s: Tensor) (_, t: Tensor) -> s.Equals t) (state x) (state y)
            Expect.isTrue (same a b) "the same seed draws the same weights, u and v"
            Expect.isFalse (same a c) "another seed draws others"
            Expect.floatClose Accuracy.high (a.get_buffer("1.weight_u").norm().ToDouble()) 1.0 "u is a unit vector"
        }

        test "a state dict copied into a fresh layer gives the same outputs, training included" {
            Device.seed 7L
            let a = SpectralNorm.layer (Conv.conv2d 2 3 3 1 1)
            use x = torch.randn(2L, 2L, 6L, 6L)
            trainForward a x 3
            Device.seed 8L
            let b = SpectralNorm.layer (Conv.conv2d 2 3 3 1 1)
            copyState a b
            a.train(); b.train()
            use ya = a.forward(x)
            use yb = b.forward(x)
            Expect.isTrue (ya.Equals yb) "identical outputs after the copy (u and v included)"
        }

        test "a layer made inside a dispose scope keeps its u and v after the scope ends (as parameters do)" {
            Device.seed 9L
            let layer =
                use _ = torch.NewDisposeScope()
                SpectralNorm.layer (Layers.linear 4 3)
            use x = torch.randn(2L, 4L)
            layer.train()
            use y = layer.forward(x)
            Expect.equal y.shape [| 2L; 3L |] "the layer still runs"
            Expect.floatClose Accuracy.high (layer.get_buffer("weight_u").norm().ToDouble()) 1.0 "u is alive and a unit vector"
        }

        test "other layers are refused, and networks that hide layers from the rebuild are refused too" {
            Expect.equal (TestData.raises<ArgumentException> (fun () -> SpectralNorm.layer (Layers.relu ()) |> ignore)).ParamName "layer" "a ReLU"
            Expect.equal (TestData.raises<ArgumentException> (fun () -> SpectralNorm.layer (Conv.convTranspose2d 2 2 3 1 0) |> ignore)).ParamName "layer" "a transposed convolution"
            Expect.isTrue (SpectralNorm.supports (Layers.linear 2 2) && SpectralNorm.supports (Conv.conv2d 1 1 3 1 0)) "Linear and Conv2d"
            let hiding = new Wrapped(Layers.linear 3 3) :> Net
            Expect.equal (TestData.raises<ArgumentException> (fun () -> SpectralNorm.apply hiding |> ignore)).ParamName "net" "a module holding a Linear"
            let parameterFree = Layers.sequence [ Layers.relu (); Layers.tanh () ]
            Expect.equal ((SpectralNorm.apply parameterFree).state_dict().Count) 0 "layers without weights stay as they are"
        }
    ]
