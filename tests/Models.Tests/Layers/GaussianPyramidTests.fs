module Generative.Tests.Layers.GaussianPyramidTests

open System
open Expecto
open TorchSharp
open Generative

/// The pyramid step written out pixel by pixel, independently of the tensor code: a 2-D Gaussian blur with
/// replicated edges, then bilinear sampling at ((i + 0.5) * in / out - 0.5) clamped at 0 (PyTorch's
/// align_corners = false).
let private directReduce (img: float[,]) =
    let h, w = Array2D.length1 img, Array2D.length2 img
    let k = GaussianPyramid.kernel1d
    let r = GaussianPyramid.radius
    let at y x = img.[min (h - 1) (max 0 y), min (w - 1) (max 0 x)]
    let blurred =
        Array2D.init h w (fun y x ->
            let mutable sum = 0.0
            for dy in -r .. r do
                for dx in -r .. r do
                    sum <- sum + k.[dy + r] * k.[dx + r] * at (y + dy) (x + dx)
            sum)
    let oh, ow = (h + 1) / 2, (w + 1) / 2
    let source (o: int) (input: int) (output: int) =
        let s = max 0.0 ((float o + 0.5) * float input / float output - 0.5)
        let i0 = min (int (floor s)) (input - 1)
        let i1 = min (i0 + 1) (input - 1)
        i0, i1, s - float i0
    Array2D.init oh ow (fun y x ->
        let y0, y1, ly = source y h oh
        let x0, x1, lx = source x w ow
        (1.0 - ly) * ((1.0 - lx) * blurred.[y0, x0] + lx * blurred.[y0, x1])
        + ly * ((1.0 - lx) * blurred.[y1, x0] + lx * blurred.[y1, x1]))

[<Tests>]
let tests =
    testList "Layers.GaussianPyramid" [
        test "level sizes and feature count of a 28x28 image" {
            Expect.equal (GaussianPyramid.levelSizes 28) [ 28; 14; 7; 4; 2; 1 ] "halving with ceil down to 1"
            Expect.equal (GaussianPyramid.featureCount 1 28) 1050 "784 + 196 + 49 + 16 + 4 + 1"
            Expect.floatClose Accuracy.veryHigh (Array.sum GaussianPyramid.kernel1d) 1.0 "normalised kernel"
        }

        test "the features match a direct pixel-by-pixel computation on a small image" {
            let rng = Random(5)
            let img = Array2D.init 7 6 (fun _ _ -> rng.NextDouble())
            let rec direct (level: float[,]) acc =
                let acc = acc @ [ level ]
                if Array2D.length1 level = 1 && Array2D.length2 level = 1 then acc else direct (directReduce level) acc
            let expected =
                direct img []
                |> List.collect (fun l -> [ for y in 0 .. Array2D.length1 l - 1 do for x in 0 .. Array2D.length2 l - 1 -> l.[y, x] ])
                |> Array.ofList
            use _ = torch.NewDisposeScope()
            let x = torch.tensor(Array.init 42 (fun i -> float32 img.[i / 6, i % 6])).reshape(1L, 1L, 7L, 6L)
            let batch = torch.cat([| x; x * 2.0f |], 0L)
            let f = GaussianPyramid.features batch
            let actual = f.[0L].data<float32>().ToArray() |> Array.map float
            Expect.equal actual.Length expected.Length "7x6, 4x3, 2x2, 1x1: 42 + 12 + 4 + 1 features"
            for i in 0 .. actual.Length - 1 do
                Expect.floatClose { absolute = 1e-5; relative = 1e-5 } actual.[i] expected.[i] (sprintf "feature %d" i)
            // Linear in the image, and each image of the batch is processed on its own.
            Expect.isTrue (torch.allclose(f.[1L], f.[0L] * 2.0f, 1e-5, 1e-5)) "second image is twice the first"
        }
    ]
