module Generative.Tests.Data.TransformsTests

open System
open Expecto
open TorchSharp
open Generative

let private gen (seed: int) = new torch.Generator(uint64 seed)

let private close (a: torch.Tensor) (b: torch.Tensor) = torch.allclose(a, b, 1e-5, 1e-6)

[<Tests>]
let tests =
    testList "Data.Transforms" [
        test "normalize then denormalize is the identity on [0,1] for every normalisation" {
            use g = gen 1
            use x = torch.rand(4L, 1L, 3L, 3L, generator = g)
            for n in [ ZeroOne; MinusOneToOne; Transforms.mnistMeanStd; MeanStd(0.5, 2.0) ] do
                use y = Transforms.normalize n x
                use back = Transforms.denormalize n y
                Expect.isTrue (close back x) (sprintf "%A round trip" n)
        }

        test "normalizeInPlace agrees with normalize" {
            use g = gen 2
            use x = torch.rand(3L, 1L, 4L, 4L, generator = g)
            for n in [ ZeroOne; MinusOneToOne; Transforms.mnistMeanStd ] do
                use expected = Transforms.normalize n x
                use y = x.clone()
                Transforms.normalizeInPlace n y
                Expect.isTrue (close y expected) (sprintf "%A" n)
        }

        test "MinusOneToOne maps 0 and 1 to -1 and 1; denormalize clamps overshoot" {
            use x = torch.tensor([| 0.0f; 1.0f |])
            use y = Transforms.normalize MinusOneToOne x
            Expect.equal (y.data<float32>().ToArray()) [| -1.0f; 1.0f |] "ends"
            use over = torch.tensor([| -3.0f; 5.0f |])
            use back = Transforms.denormalize MinusOneToOne over
            Expect.equal (back.data<float32>().ToArray()) [| 0.0f; 1.0f |] "clamped"
        }

        test "ZeroOne normalize returns a separately disposable tensor" {
            use x = torch.ones(2L)
            let y = Transforms.normalize ZeroOne x
            y.Dispose()
            Expect.equal (x.sum().ToSingle()) 2.0f "input still usable"
        }

        test "randomHorizontalFlip flips exactly the samples chosen by the coin flips" {
            use g = gen 3
            use images = torch.rand(64L, 2L, 4L, 5L, generator = g)
            use g1 = gen 11
            use flipped = Transforms.randomHorizontalFlip 0.5 (Seeded g1) images
            use g2 = gen 11
            use mask = Transforms.coinFlips 0.5 (Seeded g2) 64L
            let chosen = mask.data<bool>().ToArray()
            Expect.isTrue (chosen |> Array.exists id && chosen |> Array.exists not) "some flipped, some not"
            for i in 0..63 do
                use sample = images.[int64 i]
                use out = flipped.[int64 i]
                use mirrored = sample.flip(2L)
                let expected = if chosen.[i] then mirrored else sample
                Expect.isTrue (out.Equals expected) (sprintf "sample %d (chosen=%b)" i chosen.[i])
        }

        test "flip probability 0 is the identity and 1 flips all" {
            use g = gen 5
            use images = torch.rand(8L, 1L, 3L, 4L, generator = g)
            use none = Transforms.randomHorizontalFlip 0.0 (Seeded g) images
            use all = Transforms.randomHorizontalFlip 1.0 (Seeded g) images
            use mirrored = images.flip(3L)
            Expect.isTrue (none.Equals images) "p = 0"
            Expect.isTrue (all.Equals mirrored) "p = 1"
        }

        test "argument checks" {
            use g = gen 0
            use x = torch.zeros(2L, 1L, 2L, 2L)
            Expect.throwsT<ArgumentException> (fun () -> Transforms.randomHorizontalFlip 1.5 (Seeded g) x |> ignore) "p > 1"
            Expect.throwsT<ArgumentException> (fun () -> Transforms.randomHorizontalFlip Double.NaN (Seeded g) x |> ignore) "p NaN"
            use flat = torch.zeros(2L, 4L)
            Expect.throwsT<ArgumentException> (fun () -> Transforms.randomHorizontalFlip 0.5 (Seeded g) flat |> ignore) "not [N,C,H,W]"
            Expect.throwsT<ArgumentException> (fun () -> Transforms.gaussianNoise -0.1 (Seeded g) x |> ignore) "std < 0"
            Expect.throwsT<ArgumentException> (fun () -> Transforms.maskingNoise -0.1 (Seeded g) x |> ignore) "drop < 0"
            Expect.throwsT<ArgumentException> (fun () -> Transforms.normalize (MeanStd(0.0, -1.0)) x |> ignore) "std <= 0"
        }

        test "gaussianNoise is reproducible, has the requested std, and std 0 changes nothing" {
            use x = torch.zeros(100000L)
            use g1 = gen 9
            use g2 = gen 9
            use a = Transforms.gaussianNoise 0.3 (Seeded g1) x
            use b = Transforms.gaussianNoise 0.3 (Seeded g2) x
            Expect.isTrue (a.Equals b) "same seed, same noise"
            Expect.floatClose { absolute = 0.01; relative = 0.0 } (a.std().ToDouble()) 0.3 "std"
            use c = Transforms.gaussianNoise 0.0 (Seeded g1) x
            Expect.isTrue (c.Equals x) "std 0"
        }

        test "maskingNoise zeroes about the requested fraction and keeps the rest unchanged" {
            use x = torch.ones(100000L)
            use g = gen 4
            use y = Transforms.maskingNoise 0.25 (Seeded g) x
            let zeroFraction = (1.0 - y.mean().ToDouble())
            Expect.floatClose { absolute = 0.01; relative = 0.0 } zeroFraction 0.25 "fraction zeroed"
            use kept = y.eq(torch.tensor(1.0f)).logical_or(y.eq(torch.tensor(0.0f)))
            Expect.isTrue (kept.all().ToBoolean()) "only zeros and original values"
            use none = Transforms.maskingNoise 0.0 (Seeded g) x
            use allZero = Transforms.maskingNoise 1.0 (Seeded g) x
            Expect.isTrue (none.Equals x) "p = 0"
            Expect.equal (allZero.sum().ToSingle()) 0.0f "p = 1"
        }
    ]
