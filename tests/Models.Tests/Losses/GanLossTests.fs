module Generative.Tests.Losses.GanLossTests

open System
open Expecto
open TorchSharp
open Generative
open Generative.Tests

let private t (xs: float32 list) = torch.tensor(List.toArray xs).reshape(-1L, 1L)
let private value (x: Tensor) = x.ToDouble()
let private sigmoid (x: float) = 1.0 / (1.0 + exp -x)
let private mean (xs: float list) = List.average xs
let private close (actual: float) (expected: float) (what: string) =
    Expect.floatClose { absolute = 1e-6; relative = 1e-5 } actual expected what

// Hand-computed cases: probabilities for sigmoid discriminators, logits for linear ones.
let private pReal, pFake = [ 0.8; 0.6 ], [ 0.3; 0.1 ]
let private lReal, lFake = [ 2.0; -1.0 ], [ 0.5; -3.0 ]
let private f32 = List.map float32

let private dLoss (loss: GanLoss) output real fake = value (loss.Discriminator output (t (f32 real)) (t (f32 fake)))
let private gLoss (loss: GanLoss) output fake = value (loss.Generator output (t (f32 fake)))

/// Gradients of the D loss with respect to the real and fake outputs, and of the G loss w.r.t. the fake outputs.
let private gradients (loss: GanLoss) output (real: float32[]) (fake: float32[]) =
    use r = torch.tensor(real).reshape(-1L, 1L).requires_grad_(true)
    use f = torch.tensor(fake).reshape(-1L, 1L).requires_grad_(true)
    use d = loss.Discriminator output r f
    d.backward()
    let gr = r.grad.data<float32>().ToArray()
    let gf = f.grad.data<float32>().ToArray()
    use f2 = torch.tensor(fake).reshape(-1L, 1L).requires_grad_(true)
    use g = loss.Generator output f2
    g.backward()
    gr, gf, f2.grad.data<float32>().ToArray()

let private supported = [ for l in GanLoss.all do for o in l.Supports -> l, o ]

[<Tests>]
let tests =
    testList "Losses.Gan" [
        test "minimax and non-saturating equal their closed forms on probabilities" {
            let d = -(mean (List.map log pReal)) - mean (pFake |> List.map (fun p -> log (1.0 - p)))
            close (dLoss GanLoss.minimax Probability pReal pFake) d "minimax D = -mean log D(x) - mean log(1-D(G(z)))"
            close (dLoss GanLoss.nonSaturating Probability pReal pFake) d "non-saturating D is the same"
            close (gLoss GanLoss.minimax Probability pFake) (mean (pFake |> List.map (fun p -> log (1.0 - p)))) "minimax G = mean log(1-D(G(z)))"
            close (gLoss GanLoss.nonSaturating Probability pFake) (-(mean (List.map log pFake))) "non-saturating G = -mean log D(G(z))"
        }

        test "on logits the cross-entropy losses read the sigmoid of the score" {
            let sr, sf = List.map sigmoid lReal, List.map sigmoid lFake
            let d = -(mean (List.map log sr)) - mean (sf |> List.map (fun p -> log (1.0 - p)))
            close (dLoss GanLoss.minimax Score lReal lFake) d "minimax D on logits"
            close (gLoss GanLoss.minimax Score lFake) (mean (sf |> List.map (fun p -> log (1.0 - p)))) "minimax G on logits"
            close (gLoss GanLoss.nonSaturating Score lFake) (-(mean (List.map log sf))) "non-saturating G on logits"
        }

        test "least squares equals 0.5 mean (D(x)-1)^2 + 0.5 mean D(G(z))^2 and 0.5 mean (D(G(z))-1)^2" {
            for o, real, fake in [ Probability, pReal, pFake; Score, lReal, lFake ] do
                let d = 0.5 * mean (real |> List.map (fun x -> (x - 1.0) ** 2.0)) + 0.5 * mean (fake |> List.map (fun x -> x * x))
                close (dLoss GanLoss.leastSquares o real fake) d (sprintf "LSGAN D (%A)" o)
                close (gLoss GanLoss.leastSquares o fake) (0.5 * mean (fake |> List.map (fun x -> (x - 1.0) ** 2.0))) (sprintf "LSGAN G (%A)" o)
        }

        test "hinge and Wasserstein equal their closed forms on scores" {
            let hinge = mean (lReal |> List.map (fun x -> max 0.0 (1.0 - x))) + mean (lFake |> List.map (fun x -> max 0.0 (1.0 + x)))
            close (dLoss GanLoss.hinge Score lReal lFake) hinge "hinge D = mean relu(1-D(x)) + mean relu(1+D(G(z)))"
            close (gLoss GanLoss.hinge Score lFake) (-(mean lFake)) "hinge G = -mean D(G(z))"
            close (dLoss GanLoss.wassersteinGp Score lReal lFake) (mean lFake - mean lReal) "WGAN D (without the penalty) = mean D(G(z)) - mean D(x)"
            close (gLoss GanLoss.wassersteinGp Score lFake) (-(mean lFake)) "WGAN G = -mean D(G(z))"
            Expect.isSome GanLoss.wassersteinGp.Penalty "WGAN-GP carries its gradient penalty"
            Expect.isNone GanLoss.hinge.Penalty "hinge has none"
        }

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 60 } "every loss is finite on random (extreme) outputs" <| fun (seed: int) (scale: FsCheck.PositiveInt) ->
            use g = new torch.Generator(uint64 (int64 seed + 2147483648L))
            let s = float32 (min 80 scale.Get)
            use logitsR = torch.randn([| 16L; 1L |], generator = g) * s
            use logitsF = torch.randn([| 16L; 1L |], generator = g) * s
            for loss, o in supported do
                use r = if o = Probability then torch.sigmoid(logitsR) else logitsR.alias()
                use f = if o = Probability then torch.sigmoid(logitsF) else logitsF.alias()
                let d = value (loss.Discriminator o r f)
                let gl = value (loss.Generator o f)
                Expect.isTrue (Double.IsFinite d && Double.IsFinite gl) (sprintf "%s (%A): D %g, G %g at scale %g" loss.Name o d gl s)

        test "every loss moves the right way: D wants D(x) up and D(G(z)) down, G wants D(G(z)) up" {
            use g = new torch.Generator(3UL)
            for loss, o in supported do
                // Between the fake target (0) and the real one (1), every loss is strictly monotone; least squares
                // pulls fakes up towards 0 from below, so outputs are drawn in (0.05, 0.95).
                let draw () =
                    use u = torch.rand([| 8L |], generator = g)
                    (u * 0.9f + 0.05f).data<float32>().ToArray()
                let gr, gf, gg = gradients loss o (draw ()) (draw ())
                Expect.all gr (fun x -> x < 0.0f) (sprintf "%s (%A): raising D(x) lowers the D loss" loss.Name o)
                Expect.all gf (fun x -> x > 0.0f) (sprintf "%s (%A): raising D(G(z)) raises the D loss" loss.Name o)
                Expect.all gg (fun x -> x < 0.0f) (sprintf "%s (%A): raising D(G(z)) lowers the G loss" loss.Name o)
        }

        test "the gradient penalty is ~0 for a 1-Lipschitz linear critic with unit-norm gradient, and 10(k-1)^2 for norm k" {
            use g = new torch.Generator(5UL)
            use w = torch.randn([| 784L; 1L |], generator = g)
            use unit = w / w.norm()
            use real = torch.rand([| 12L; 1L; 28L; 28L |], generator = g)
            use fake = torch.rand([| 12L; 1L; 28L; 28L |], generator = g)
            let critic (k: float32) (x: Tensor) = x.flatten(1L).matmul(unit * k)
            use p1 = GanLoss.gradientPenalty 10.0 (critic 1.0f) real fake
            Expect.isLessThan (value p1) 1e-8 "unit-norm gradient everywhere: no penalty"
            use p3 = GanLoss.gradientPenalty 10.0 (critic 3.0f) real fake
            close (value p3) 40.0 "gradient norm 3: 10 * (3 - 1)^2"
        }

        test "the gradient penalty is differentiable in the critic's parameters (create_graph)" {
            Device.seed 2L
            let critic = Layers.flatten () >-> Layers.linear 784 1
            use real = torch.rand([| 4L; 1L; 28L; 28L |])
            use fake = torch.rand([| 4L; 1L; 28L; 28L |])
            use p = GanLoss.gradientPenalty 10.0 (fun x -> critic.forward x) real fake
            p.backward()
            let weight = critic.parameters() |> Seq.head
            Expect.isNotNull weight.grad "the penalty reaches the critic's weights"
            Expect.isGreaterThan (weight.grad.abs().sum().ToDouble()) 0.0 "with a non-zero gradient"
        }

        test "R1 is zero for a critic that ignores its input, whether or not its output is in a graph with it" {
            use g = new torch.Generator(6UL)
            use real = torch.rand([| 5L; 1L; 4L; 4L |], generator = g)
            use b = torch.randn([| 1L |], generator = g).requires_grad_(true)
            // In the graph with x, with a zero gradient; then a parameter alone (no path from x); then no graph at all.
            let critics : (string * (Tensor -> Tensor)) list =
                [ "x·0 + b", (fun x -> x.flatten(1L).sum([| 1L |], keepdim = true) * 0.0f + b)
                  "b only", (fun x -> b.expand(x.shape.[0], 1L))
                  "a constant", (fun x -> torch.ones(x.shape.[0], 1L)) ]
            for name, critic in critics do
                use p = GanLoss.r1Penalty 10.0 critic real
                Expect.equal (value p) 0.0 name
            Expect.isFalse real.requires_grad "the caller's batch is left alone"
        }

        test "R1 of a linear critic w·x + b is γ/2 ‖w‖², and of x ↦ ‖x‖² γ/2 mean ‖2x‖²: halved, per image, averaged" {
            use g = new torch.Generator(7UL)
            use real = torch.rand([| 6L; 1L; 4L; 4L |], generator = g)
            use w = torch.randn([| 16L; 1L |], generator = g)
            let linear (x: Tensor) = x.flatten(1L).matmul(w) + 0.3f
            use p = GanLoss.r1Penalty 10.0 linear real
            close (value p) (5.0 * (w.square().sum().ToDouble())) "γ/2 ‖w‖² (the same gradient w for every image)"
            // A gradient that differs per image: ∇‖x‖² = 2x, so R1 = γ/2 · mean over images of 4‖x‖².
            let squared (x: Tensor) = x.flatten(1L).square().sum([| 1L |], keepdim = true)
            use q = GanLoss.r1Penalty 3.0 squared real
            let perImage = [ for i in 0L .. 5L -> 4.0 * real.[i].square().sum().ToDouble() ]
            close (value q) (1.5 * List.average perImage) "γ/2 mean ‖2x‖²"
            use zero = GanLoss.r1Penalty 0.0 squared real
            Expect.equal (value zero) 0.0 "γ = 0: none"
            Expect.equal (TestData.raises<ArgumentException> (fun () -> GanLoss.r1Penalty -1.0 squared real |> ignore)).ParamName "weight" "a negative weight"
        }

        test "R1 is differentiable in the critic's parameters (create_graph): ∂(γ/2 ‖w‖²)/∂w = γ w" {
            use g = new torch.Generator(8UL)
            use real = torch.rand([| 3L; 1L; 4L; 4L |], generator = g)
            use w = torch.randn([| 16L; 1L |], generator = g).requires_grad_(true)
            use p = GanLoss.r1Penalty 10.0 (fun x -> x.flatten(1L).matmul(w)) real
            p.backward()
            Expect.isTrue (torch.allclose(w.grad, w.detach() * 10.0f, rtol = 1e-5, atol = 1e-6)) "γ w"
        }

        test "names round-trip and unknown names are rejected naming the setting" {
            for l in GanLoss.all do Expect.equal (GanLoss.parse l.Name).Name l.Name "parse (name)"
            Expect.equal (GanLoss.parse " Hinge ").Name "hinge" "case and spaces"
            let ex = TestData.raises<ArgumentException> (fun () -> GanLoss.parse "wgan" |> ignore)
            Expect.equal ex.ParamName "loss" "ParamName"
            Expect.stringContains ex.Message "least-squares" "lists the names"
        }

        test "score-only losses reject sigmoid discriminators" {
            for l in [ GanLoss.hinge; GanLoss.wassersteinGp ] do
                let ex = TestData.raises<ArgumentException> (fun () -> GanLoss.validateFor Probability l)
                Expect.equal ex.ParamName "loss" "ParamName"
            GanLoss.validateFor Score GanLoss.hinge
        }
    ]
