module Generative.Tests.Data.DiffAugmentTests

open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// Images [n, 2, size, size] whose every element is distinct, so a moved pixel can be told from another.
let private numbered (n: int64) (size: int64) =
    torch.arange((n * 2L * size * size).ToScalar(), dtype = torch.float32).reshape(n, 2L, size, size) + 1.0f

let private values (t: Tensor) = t.contiguous().data<float32>().ToArray()

/// The offsets `DiffAugment` draws from a generator seeded with `seed`: `count` whole numbers in [low, high), twice.
let private draws (seed: uint64) (low: int64) (high: int64) (count: int64) =
    use g = new torch.Generator(seed)
    let first = torch.randint(low, high, [| count |], dtype = torch.int64, generator = g).data<int64>().ToArray()
    let second = torch.randint(low, high, [| count |], dtype = torch.int64, generator = g).data<int64>().ToArray()
    first, second

[<Tests>]
let tests =
    testList "Data.DiffAugment" [
        test "translation moves every channel of each image by its drawn offset and fills what enters with zeros" {
            use x = numbered 5L 16L
            use g = new torch.Generator(11UL)
            use y = DiffAugment.translation (Seeded g) x
            // 16 * 0.125 = 2: offsets in [-2, 2], rows drawn first.
            let dy, dx = draws 11UL -2L 3L 5L
            let xs = values x
            let expected =
                [| for i in 0 .. 4 do
                     for c in 0 .. 1 do
                       for r in 0 .. 15 do
                         for q in 0 .. 15 do
                           let sr, sq = r + int dy.[i], q + int dx.[i]
                           yield if sr < 0 || sr > 15 || sq < 0 || sq > 15 then 0.0f else xs.[((i * 2 + c) * 16 + sr) * 16 + sq] |]
            Expect.sequenceEqual (values y) expected "each output pixel is the input pixel at the offset, or 0"
            Expect.isTrue (Array.exists (fun d -> d <> 0L) (Array.append dy dx)) "some image moved"
        }

        test "cutout zeroes a half-size square around each image's drawn centre, in every channel" {
            use x = numbered 6L 16L
            use g = new torch.Generator(12UL)
            use y = DiffAugment.cutout (Seeded g) x
            // A side of 8 (even): centres in [0, 16 + 1 - 0) = [0, 17), the square from centre - 4.
            let cy, cx = draws 12UL 0L 17L 6L
            let xs = values x
            let expected =
                [| for i in 0 .. 5 do
                     for c in 0 .. 1 do
                       for r in 0 .. 15 do
                         for q in 0 .. 15 do
                           let top, left = int cy.[i] - 4, int cx.[i] - 4
                           let cut = r >= top && r < top + 8 && q >= left && q < left + 8
                           yield if cut then 0.0f else xs.[((i * 2 + c) * 16 + r) * 16 + q] |]
            Expect.sequenceEqual (values y) expected "the square is zero, the rest unchanged"
        }

        test "a seeded generator gives the same augmentation every time, another seed another one" {
            use x = numbered 8L 12L
            let run (seed: uint64) =
                use g = new torch.Generator(seed)
                use t = DiffAugment.translation (Seeded g) x
                use c = DiffAugment.cutout (Seeded g) t
                values c
            Expect.sequenceEqual (run 3UL) (run 3UL) "same seed, same images"
            Expect.isFalse (run 3UL = run 4UL) "another seed moves and cuts elsewhere"
        }

        test "gradients flow through both augmentations to the images they were given" {
            use x = (numbered 4L 16L).requires_grad_(true)
            use g = new torch.Generator(13UL)
            use t = DiffAugment.translation (Seeded g) x
            use y = DiffAugment.cutout (Seeded g) t
            use total = y.sum()
            total.backward()
            // d(sum y)/dx counts how often each input pixel reaches the output: 0 or 1 for a shift and a cut.
            let grad = values x.grad
            Expect.all grad (fun v -> v = 0.0f || v = 1.0f) "each input pixel counted at most once"
            use ones = torch.ones_like(x)
            use g2 = new torch.Generator(13UL)
            use kept = DiffAugment.cutout (Seeded g2) (DiffAugment.translation (Seeded g2) ones)
            Expect.equal (Array.sum grad) (Array.sum (values kept)) "as many as the output pixels that came from the input"
            Expect.isGreaterThan (Array.sum grad) 0.0f "some gradient reaches the images"
        }

        test "a GAN with augmentation passes its generator's gradient through it, and the setting round-trips and is checked" {
            Device.seed 14L
            let c = { Gan.dcganA with Augmentations = [ GanAugmentation.Translation; GanAugmentation.Cutout ] }
            let m = Gan.create c
            use z = Gan.noise c torch.CPU 8L
            use fake = Gan.generate m z
            let terms = Gan.generatorLoss m fake
            terms.["g_loss"].backward()
            let gradient = m.Generator.parameters() |> Seq.sumBy (fun p -> if isNull p.grad then 0.0 else p.grad.abs().sum().ToDouble())
            Expect.isGreaterThan gradient 0.0 "G gets a gradient through the augmented fakes"
            Expect.equal (Gan.parseAugmentations (Gan.augmentationsName c.Augmentations)) c.Augmentations "printed and parsed back"
            Expect.equal (Gan.parseAugmentations "none") [] "none"
            let e = TestData.raises<System.ArgumentException> (fun () -> Gan.parseAugmentations "translation,zoom" |> ignore)
            Expect.equal e.ParamName "augment" "names the setting"
            let twice = TestData.raises<System.ArgumentException> (fun () -> Gan.validate { c with Augmentations = [ GanAugmentation.Cutout; GanAugmentation.Cutout ] })
            Expect.equal twice.ParamName "augment" "each once"
        }
    ]
