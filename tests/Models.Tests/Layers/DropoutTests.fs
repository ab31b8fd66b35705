module Generative.Tests.Layers.DropoutTests

#nowarn "9" // fixed: the engine writes into a pinned array.

open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// Exact equality of values and shapes (NaN never occurs here).
let private identical (a: torch.Tensor) (b: torch.Tensor) =
    a.shape = b.shape && a.eq(b).all().ToBoolean()

/// The engine's next `count` words.
let private nextWords (engine: Mt19937) (count: int) =
    let words = Array.zeroCreate<uint32> count
    use destination = fixed words
    engine.Fill(destination, count)
    words

[<Tests>]
let tests =
    testList "Dropout (libtorch's masks drawn by the library)" [
        test "the engine taken from the default generator continues its sequence, and putting it back moves the generator" {
            torch.manual_seed 21L |> ignore
            torch.rand([| 3L |]).Dispose()
            match CpuGeneratorState.tryTake () with
            | None -> failtest "this platform's generator state has the known layout"
            | Some (state, engine) ->
                // 1,500 words: two regenerations, from an odd position. A float32 uniform is the low 24 bits of one word.
                let words = nextWords engine 1500
                use libtorch = torch.rand([| 1500L |])
                use ours = torch.tensor(words |> Array.map (fun w -> float32 (w &&& 0xFFFFFFu) * (1.0f / 16777216.0f)))
                Expect.isTrue (identical ours libtorch) "the engine's words are the generator's"
                CpuGeneratorState.put state engine
                use next = torch.rand([| 4L |])
                use expected = torch.rand([| 4L |])
                Expect.isFalse (identical next expected) "(two draws differ)"
                CpuGeneratorState.put state engine
                use afterPut = torch.rand([| 4L |])
                Expect.isTrue (identical afterPut next) "after put, the generator continues where the engine stopped"
        }

        // 3 x 1000 x 7 = 21,000 elements: 42,000 words, 67 regenerations of the 624 words, and a count that is no
        // multiple of the vector width or the scratch buffer's chunk.
        for shape, p, offset in [ [| 3L; 1000L; 7L |], 0.5, 0; [| 3L; 1000L; 7L |], 0.25, 1; [| 21L |], 0.9, 623
                                  [| 64L; 300L |], 0.001, 2 ] do
            test (sprintf "equals torch.nn.functional.dropout to the bit and leaves the generator where it does: shape %A, p %g, %d words drawn before" shape p offset) {
                use _ = torch.NewDisposeScope()
                use x = torch.randn(shape, generator = new torch.Generator(4UL))
                let ours = TestData.drawsLikeLibtorch 11L offset (fun () -> Dropout.train x p) (fun () -> torch.nn.functional.dropout(x, p, true))
                if x.numel() >= 1000L then
                    let kept = ours.ne(torch.tensor(0.0f)).to_type(torch.float64).mean().ToDouble()
                    Expect.isLessThan (abs (kept - (1.0 - p))) 0.02 "about 1 - p of the elements kept"
            }

        test "a transposed input gets libtorch's mask, drawn in its memory order" {
            use _ = torch.NewDisposeScope()
            use x = torch.randn([| 30L; 40L |], generator = new torch.Generator(4UL)).t()
            TestData.drawsLikeLibtorch 3L 0 (fun () -> Dropout.train x 0.3) (fun () -> torch.nn.functional.dropout(x, 0.3, true))
            |> ignore
        }

        test "the gradient is libtorch's" {
            use _ = torch.NewDisposeScope()
            let gradient (dropout: torch.Tensor -> torch.Tensor) =
                let x = torch.randn([| 50L; 9L |], generator = new torch.Generator(8UL)).requires_grad_(true)
                use weights = torch.randn([| 50L; 9L |], generator = new torch.Generator(9UL))
                torch.manual_seed 5L |> ignore
                use y = dropout x
                torch.autograd.grad([| (y * weights).sum() |], [| x |]).[0]
            let ours = gradient (fun x -> Dropout.train x 0.4)
            let libtorch = gradient (fun x -> torch.nn.functional.dropout(x, 0.4, true))
            Expect.isTrue (identical ours libtorch) "the same gradient"
            Expect.isGreaterThan (ours.eq(torch.tensor(0.0f)).sum().ToInt64()) 0L "some elements dropped"
        }

        test "in shape order, a channels-last input gets the mask of its channels-first copy" {
            use _ = torch.NewDisposeScope()
            use x = torch.randn([| 4L; 8L; 5L; 5L |], generator = new torch.Generator(4UL))
            use channelsLast = ChannelsLast.layout x
            // libtorch's dropout of the channels-first copy.
            TestData.drawsLikeLibtorch 2L 0 (fun () -> Dropout.trainInShapeOrder channelsLast 0.5) (fun () -> torch.nn.functional.dropout(x, 0.5, true))
            |> ignore
        }

        test "float64, p = 0 and an empty input take libtorch's way" {
            use _ = torch.NewDisposeScope()
            use doubles = torch.randn([| 100L |], dtype = torch.float64, generator = new torch.Generator(4UL))
            TestData.drawsLikeLibtorch 1L 0 (fun () -> Dropout.train doubles 0.5) (fun () -> torch.nn.functional.dropout(doubles, 0.5, true))
            |> ignore
            use x = torch.randn([| 100L |], generator = new torch.Generator(4UL))
            // p = 0 and an empty input draw nothing: the generator stays where a clone leaves it.
            let unchanged = TestData.drawsLikeLibtorch 1L 0 (fun () -> Dropout.train x 0.0) (fun () -> x.clone())
            Expect.isTrue (identical unchanged x) "p = 0 returns the input"
            use empty = torch.zeros([| 0L; 3L |])
            let emptyOut = TestData.drawsLikeLibtorch 1L 0 (fun () -> Dropout.train empty 0.5) (fun () -> empty.clone())
            Expect.equal emptyOut.shape [| 0L; 3L |] "an empty input stays empty"
        }
    ]
