module Generative.Tests.Metrics.TsneTests

open System
open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// `count` points in `dims` dimensions around `clusters` centres (centres N(0, spread²), points N(centre, 1)),
/// with their cluster as label.
let clusters (clusters: int) (perCluster: int) (dims: int) (spread: float32) (seed: uint64) : Tensor * Tensor =
    use g = new torch.Generator(seed)
    use centres = torch.randn([| int64 clusters; int64 dims |], generator = g) * spread
    let labels = torch.arange(int64 clusters).repeat_interleave(int64 perCluster)
    use noise = torch.randn([| int64 (clusters * perCluster); int64 dims |], generator = g)
    use around = centres.index_select(0L, labels)
    around + noise, labels

let private squaredDistances (points: Tensor) =
    let x = points.to_type(torch.float64)
    (x.unsqueeze(1L) - x.unsqueeze(0L)).square().sum(2L)

/// Expects `f` to throw an ArgumentException naming `paramName`.
let refused (paramName: string) (f: unit -> unit) =
    Expect.throwsT<ArgumentException> f (sprintf "refused, naming %s" paramName)
    let e = TestData.raises<ArgumentException> f
    Expect.equal e.ParamName paramName (sprintf "ParamName of: %s" e.Message)

/// The bit patterns of a float32 tensor's elements.
let private bits (t: Tensor) = t.contiguous().data<float32>().ToArray() |> Array.map BitConverter.SingleToInt32Bits

/// The objective whose gradient the t-SNE step follows, in float64 through autograd: -e Σ p log w + log Z, with
/// w = 1 / (1 + |y_i - y_j|²) off the diagonal and Z = Σ w (at e = 1, KL(P || Q) up to the constant Σ p log p).
let private objective (joint: Tensor) (exaggeration: float) (y: Tensor) =
    let n = y.shape.[0]
    let eye = torch.eye(n, dtype = torch.float64)
    let w = (1.0 + (y.unsqueeze(1L) - y.unsqueeze(0L)).square().sum(2L)).reciprocal() * (1.0 - eye)
    let p = joint.to_type(torch.float64)
    // The identity keeps log finite on the diagonal, where p = 0.
    -(p * (w + eye).log()).sum() * exaggeration + w.sum().log()

[<Tests>]
let tests =
    testList "Metrics.Tsne" [
        test "the perplexity search gives every row the entropy log(perplexity)" {
            use g = new torch.Generator(3UL)
            use points = torch.randn([| 150L; 5L |], generator = g)
            for scale in [ 1.0f; 1000.0f ] do
                use scaled = points * scale
                use d = squaredDistances scaled
                for perplexity in [ 5.0; 30.0 ] do
                    let p, entropy = Tsne.conditionalAffinities perplexity d
                    use p = p
                    use entropy = entropy
                    let target = log perplexity
                    let worst = (entropy - target).abs().max().ToDouble()
                    Expect.isLessThan worst 1e-3 (sprintf "reported entropy, perplexity %g, scale %g" perplexity scale)
                    // The entropy of the returned rows themselves, not only the one the search reports.
                    use own = -(torch.xlogy(p, p).sum(1L))
                    Expect.isLessThan ((own - target).abs().max().ToDouble()) 1e-3 "entropy of the returned P(j|i)"
                    Expect.isLessThan ((p.sum(1L) - 1.0).abs().max().ToDouble()) 1e-9 "rows sum to 1"
                    Expect.equal (p.diagonal().abs().max().ToDouble()) 0.0 "no point is its own neighbour"
        }

        test "joint affinities are symmetric, sum to 1 and leave the diagonal empty" {
            use g = new torch.Generator(5UL)
            use points = torch.randn([| 60L; 4L |], generator = g)
            use p = Tsne.jointAffinities 10.0 points
            Expect.equal p.shape [| 60L; 60L |] "[N, N]"
            Expect.isLessThan ((p - p.t()).abs().max().ToDouble()) 1e-9 "symmetric"
            Expect.floatClose Accuracy.medium (p.sum().ToDouble()) 1.0 "a distribution over pairs"
            Expect.equal (p.diagonal().abs().max().ToDouble()) 0.0 "zero diagonal"
        }

        test "the gradient is the derivative of the objective, computed in strips" {
            use g = new torch.Generator(7UL)
            use points = torch.randn([| 40L; 6L |], generator = g)
            use p = Tsne.jointAffinities 8.0 points
            use y = torch.randn([| 40L; 2L |], generator = g) * 2.0f
            // Strips of about 300 entries: rows 0-6, 7-15, 16-27 (each with a part mirrored below the diagonal), 28-39.
            Expect.equal (Tsne.strips 300L 40L) [ 0L, 7L; 7L, 9L; 16L, 12L; 28L, 12L ] "the strips"
            for exaggeration in [ 1.0; 12.0 ] do
                use ours = Tsne.gradientWith 300L p exaggeration y
                use y64 = y.to_type(torch.float64).requires_grad_(true)
                use value = objective p exaggeration y64
                value.backward()
                use reference = y64.grad
                let scale = reference.abs().max().ToDouble()
                let error = (ours.to_type(torch.float64) - reference).abs().max().ToDouble()
                Expect.isLessThan (error / scale) 1e-4 (sprintf "relative error at exaggeration %g" exaggeration)
            // The KL divergence: Σ p log p plus the objective at e = 1.
            use y64 = y.to_type(torch.float64)
            use reference = objective p 1.0 y64
            use p64 = p.to_type(torch.float64)
            let expected = torch.xlogy(p64, p64).sum().ToDouble() + reference.ToDouble()
            Expect.floatClose Accuracy.medium (Tsne.klDivergence p y) expected "KL(P || Q)"
            Expect.floatClose Accuracy.medium (Tsne.klWith 300L p y) expected "KL(P || Q) in strips"
        }

        test "well-separated clusters stay separated in 2-D" {
            let points, labels = clusters 5 60 10 3.0f 11UL
            use points = points
            use labels = labels
            let result = Tsne.embed { Tsne.defaults with Iterations = 500; ExaggerationIterations = 150 } points
            use embedding = result.Embedding
            Expect.equal embedding.shape [| 300L; 2L |] "[N, 2]"
            Expect.equal embedding.dtype torch.float32 "float32"
            let accuracy = Knn.leaveOneOutAccuracy 5 embedding labels
            Expect.isGreaterThanOrEqual accuracy 0.95 "leave-one-out 5-NN accuracy of the embedding"
            use p = Tsne.jointAffinities 30.0 points
            Expect.floatClose Accuracy.medium result.KlDivergence (Tsne.klDivergence p embedding) "reported KL is the embedding's"
            Expect.isLessThan result.KlDivergence 1.0 "a good fit (a random embedding is above 2)"
        }

        test "a step's gradient follows the embedding as it moves, in strips" {
            use g = new torch.Generator(23UL)
            use points = torch.randn([| 40L; 6L |], generator = g)
            use p = Tsne.jointAffinities 8.0 points
            use y = torch.randn([| 40L; 2L |], generator = g)
            // The views of every strip are made once per embedding; the embedding then moves in place. Three jobs
            // share the strips (each with accumulators of its own) and must give the one-thread gradient.
            use crew = new Crew(3)
            let gradient = Tsne.gradientOf 300L crew p y
            use firstAlone = Tsne.gradientWith 300L p 12.0 y
            use first = gradient 12.0
            Expect.isLessThan ((first - firstAlone).abs().max().ToDouble() / firstAlone.abs().max().ToDouble()) 1e-6 "three jobs as one"
            use step = torch.randn([| 40L; 2L |], generator = g)
            y.add_(step) |> ignore
            use second = gradient 1.0
            use fresh = Tsne.gradientWith 300L p 1.0 y
            Expect.isLessThan ((second - fresh).abs().max().ToDouble() / fresh.abs().max().ToDouble()) 1e-6 "the moved embedding's gradient"
            // Whole runs agree with runs in strips while rounding differences are still small (t-SNE amplifies
            // them about tenfold per early step: after 20 steps the two runs differ in the first digit).
            let points, labels = clusters 3 30 5 3.0f 19UL
            use points = points
            use _ = labels
            let options = { Tsne.defaults with Perplexity = 10.0; Iterations = 3; ExaggerationIterations = 3 }
            Expect.equal (Tsne.strips 1000L 90L).Length 6 "90 points in strips of about 1,000 entries"
            use whole = (Tsne.embed options points).Embedding
            use striped = (Tsne.embedWith (Some 1000L) Work.none options points).Embedding
            Expect.isLessThan ((whole - striped).abs().max().ToDouble() / whole.abs().max().ToDouble()) 1e-5 "the same points, up to rounding"
        }

        test "the same seed gives the same embedding, another seed another one" {
            let points, labels = clusters 3 30 5 3.0f 13UL
            use points = points
            use _ = labels
            let options = { Tsne.defaults with Perplexity = 10.0; Iterations = 120; ExaggerationIterations = 50 }
            let run seed = (Tsne.embed { options with Seed = seed } points).Embedding
            use a = run 1UL
            use b = run 1UL
            use c = run 2UL
            Expect.equal (bits a) (bits b) "identical bits for the same seed"
            Expect.isGreaterThan ((a - c).abs().max().ToDouble()) 1e-3 "a different seed moves the points"
        }

        test "the early exaggeration acts in its phase and only there" {
            let points, labels = clusters 3 20 5 3.0f 17UL
            use points = points
            use _ = labels
            // A fixed learning rate: the automatic one depends on the exaggeration.
            let options = { Tsne.defaults with Perplexity = 10.0; Iterations = 60; LearningRate = Some 50.0 }
            let run exaggeration phase =
                (Tsne.embed { options with EarlyExaggeration = exaggeration; ExaggerationIterations = phase } points).Embedding
            use strong = run 12.0 30
            use mild = run 2.0 30
            Expect.isGreaterThan ((strong - mild).abs().max().ToDouble()) 1e-3 "the factor changes the first phase"
            use strongNever = run 12.0 0
            use mildNever = run 2.0 0
            Expect.equal (bits strongNever) (bits mildNever) "no phase, no effect"
        }

        test "bad options and inputs are refused with the parameter named" {
            use points = torch.randn([| 50L; 3L |])
            let embed options (x: Tensor) () = Tsne.embed options x |> ignore
            let d = Tsne.defaults
            refused "Perplexity" (embed { d with Perplexity = 0.5 } points)
            refused "Perplexity" (embed { d with Perplexity = 50.0 } points)
            refused "Iterations" (embed { d with Iterations = 0 } points)
            refused "EarlyExaggeration" (embed { d with EarlyExaggeration = 0.5 } points)
            refused "ExaggerationIterations" (embed { d with Iterations = 100; ExaggerationIterations = 101 } points)
            refused "LearningRate" (embed { d with LearningRate = Some -1.0 } points)
            refused "Momentum" (embed { d with Momentum = 1.0 } points)
            refused "FinalMomentum" (embed { d with FinalMomentum = -0.1 } points)
            refused "MinGain" (embed { d with MinGain = 0.0 } points)
            refused "Dimensions" (embed { d with Dimensions = 0 } points)
            use flat = torch.randn([| 50L |])
            refused "points" (embed d flat)
            use one = torch.randn([| 1L; 3L |])
            refused "points" (embed { d with Perplexity = 1.0 } one)
            use tooMany = torch.zeros([| int64 Tsne.maxPoints + 1L; 2L |])
            refused "points" (embed d tooMany)
            use broken = points.clone()
            broken.[3L, 1L] <- torch.tensor(Double.NaN)
            refused "points" (embed { d with Perplexity = 10.0 } broken)
            use square = torch.ones([| 10L; 10L |])
            use notSquare = torch.ones([| 10L; 9L |])
            refused "squaredDistances" (fun () -> Tsne.conditionalAffinities 3.0 notSquare |> ignore)
            refused "perplexity" (fun () -> Tsne.conditionalAffinities 10.0 square |> ignore)
            refused "perplexity" (fun () -> Tsne.jointAffinities 0.0 points |> ignore)
        }
    ]
