module Generative.Tests.Eval.QualityTests

open System
open Expecto
open TorchSharp
open Generative
open Generative.Tests

let private config = { FsCheckConfig.defaultConfig with maxTest = 30 }

/// N random feature vectors of dimension D with correlated coordinates (a random linear map of normal noise).
let private features (seed: int) (n: int64) (d: int64) (shift: float32) =
    use g = new torch.Generator(uint64 (int64 seed + 2147483648L))
    use mix = torch.randn([| d; d |], generator = g)
    use z = torch.randn([| n; d |], generator = g)
    z.matmul(mix) + shift

let private statsOf (mean: float[]) (cov: float[,]) =
    let d = mean.Length
    { Count = 100L
      Mean = torch.tensor(mean, dtype = torch.float64)
      Covariance = torch.tensor(cov |> Seq.cast<float> |> Seq.toArray, dtype = torch.float64).reshape(int64 d, int64 d) }

/// A tiny "classifier": a fixed random linear map for features and its softmax over 3 classes for probabilities.
let private tinyNetwork () =
    use g = new torch.Generator(17UL)
    let w = torch.randn([| 784L; 6L |], generator = g)
    let head = torch.randn([| 6L; 3L |], generator = g)
    { Description = "tiny random test network"
      Classes = [ "a"; "b"; "c" ]
      Features = fun x -> x.flatten(1L).matmul(w)
      Probabilities = fun x -> x.flatten(1L).matmul(w).matmul(head).softmax(1L) }

[<Tests>]
let tests =
    testList "Eval.Quality" [
        testPropertyWithConfig config "the Frechet distance of a set with itself is 0" <| fun (seed: int) (d0: FsCheck.PositiveInt) ->
            let d = int64 (1 + d0.Get % 12)
            use x = features seed 200L d 0.0f
            let fd = Quality.frechetDistanceOf x x
            Expect.isLessThan fd 1e-6 (sprintf "FD(x, x) = %g in dimension %d" fd d)

        testPropertyWithConfig config "the Frechet distance is symmetric and positive between different sets" <| fun (seed: int) (d0: FsCheck.PositiveInt) ->
            let d = int64 (1 + d0.Get % 12)
            use x = features seed 300L d 0.0f
            use y = features (seed ^^^ 0x5555) 250L d 0.5f
            let ab = Quality.frechetDistanceOf x y
            let ba = Quality.frechetDistanceOf y x
            Expect.floatClose { absolute = 1e-8; relative = 1e-7 } ab ba "FD(x, y) = FD(y, x)"
            Expect.isGreaterThan ab 0.0 "different sets are apart"

        test "the Frechet distance matches closed forms" {
            // Equal covariances: only the means count, ‖μ₁ - μ₂‖².
            let cov = array2D [ [ 2.0; 0.5 ]; [ 0.5; 1.0 ] ]
            Expect.floatClose Accuracy.high (Quality.frechetDistance (statsOf [| 0.0; 0.0 |] cov) (statsOf [| 3.0; 4.0 |] cov)) 25.0 "mean shift 3,4"
            // Diagonal covariances: Σ (√a - √b)².
            let a = statsOf [| 0.0; 0.0 |] (array2D [ [ 4.0; 0.0 ]; [ 0.0; 9.0 ] ])
            let b = statsOf [| 1.0; 0.0 |] (array2D [ [ 1.0; 0.0 ]; [ 0.0; 16.0 ] ])
            Expect.floatClose Accuracy.high (Quality.frechetDistance a b) (1.0 + (2.0 - 1.0) ** 2.0 + (3.0 - 4.0) ** 2.0) "diagonal"
        }

        test "the Frechet distance rejects features of different dimensions" {
            use x = features 1 10L 3L 0.0f
            use y = features 2 10L 4L 0.0f
            TestData.raises<ArgumentException> (fun () -> Quality.frechetDistanceOf x y |> ignore) |> ignore
            use one = features 1 1L 3L 0.0f
            let e = TestData.raises<ArgumentException> (fun () -> Quality.statistics one |> ignore)
            Expect.equal e.ParamName "features" "one vector has no covariance"
        }

        test "the inception score is C for confident balanced predictions and 1 for constant or uniform ones" {
            use eye = torch.eye(10L)
            use confident = torch.cat([| for _ in 1 .. 10 -> eye |], 0L)
            let score, std = Quality.inceptionScore 10 confident
            Expect.floatClose Accuracy.high score 10.0 "confident and balanced: the number of classes"
            Expect.floatClose Accuracy.high std 0.0 "every split the same"
            use uniform = torch.full([| 50L; 10L |], 0.1f.ToScalar())
            Expect.floatClose Accuracy.high (fst (Quality.inceptionScore 5 uniform)) 1.0 "uniform predictions: 1"
            use collapsed = eye.narrow(0L, 3L, 1L).expand(50L, 10L).contiguous()
            Expect.floatClose Accuracy.high (fst (Quality.inceptionScore 5 collapsed)) 1.0 "one class only (mode collapse): 1"
        }

        test "the class histogram counts arg-max predictions" {
            use p = torch.tensor([| 0.7f; 0.2f; 0.1f; 0.1f; 0.8f; 0.1f; 0.6f; 0.3f; 0.1f |]).reshape(3L, 3L)
            Expect.equal (Quality.classHistogram p) [| 2; 1; 0 |] "two of class 0, one of class 1, none of class 2"
        }

        test "measuring a generator that replays the reference gives a small distance, a shifted one a large one" {
            let reference = (TestData.bars 400 1L).Images
            let net = tinyNetwork ()
            let mutable next = 0L
            let replay (count: int) =
                let x = reference.narrow(0L, next % 400L, int64 count)
                next <- next + int64 count
                x.alias()
            let same = Quality.measure Work.none net id replay reference "bars (400 images)" 200
            let shifted = Quality.measure Work.none net id (fun c -> torch.rand([| int64 c; 1L; 28L; 28L |])) reference "bars (400 images)" 200
            Expect.isLessThan same.FrechetDistance (shifted.FrechetDistance / 10.0) "real images are much closer than noise"
            Expect.equal same.Samples 200 "N recorded"
            Expect.equal (Array.sum same.Histogram) 200 "every sample counted"
            Expect.isTrue (same.InceptionScore >= 1.0 && same.InceptionScore <= 3.0) "1 <= IS <= classes"
            let metrics = Quality.metrics same
            Expect.equal (metrics |> List.map (fun (n, _, _) -> n)) [ "Frechet distance"; "inception score"; "largest predicted-class share" ] "metric names"
            for _, _, how in metrics do
                Expect.stringContains how "200 generated images" "states N"
                Expect.stringContains how "bars (400 images)" "states the reference"
                Expect.stringContains how "tiny random test network" "states the network"
        }
    ]
