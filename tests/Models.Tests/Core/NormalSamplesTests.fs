module Generative.Tests.Core.NormalSamplesTests

open System.Runtime.Intrinsics.X86
open Expecto
open TorchSharp
open Generative
open Generative.Tests

[<Tests>]
let tests =
    testList "NormalSamples (libtorch's normal_ drawn by the library)" [
        // On an x64 CPU with AVX2 and without AVX-512 libtorch 2.10 runs normal_fill_AVX2, the arithmetic this code
        // repeats; elsewhere the check at first use may rightly find another kernel and step aside.
        test "the check at first use finds libtorch's arithmetic on an AVX2 CPU" {
            if Avx2.IsSupported && Fma.IsSupported && not Avx512F.IsSupported then
                Expect.isTrue (NormalSamples.isActive ()) "drawn here: the samples equal libtorch's"
            else skiptest "not an AVX2-only x64 CPU"
        }

        // 16 (one block), 17 and 100,003 (tails redrawn), 100,352 (AE-DENOISE's batch, whole blocks); starting on
        // odd and even words.
        for shape, offset in [ [| 16L |], 0; [| 17L |], 1; [| 128L; 784L |], 3; [| 100003L |], 2; [| 7L; 3L |], 0 ] do
            test (sprintf "randnLike equals torch.randn_like to the bit and leaves the generator where it does: shape %A, %d words drawn before" shape offset) {
                use _ = torch.NewDisposeScope()
                use x = torch.zeros(shape)
                TestData.drawsLikeLibtorch 17L offset (fun () -> NormalSamples.randnLike x) (fun () -> torch.randn_like(x))
                |> ignore
            }

        test "samples have mean 0 and standard deviation 1" {
            use _ = torch.NewDisposeScope()
            torch.manual_seed 2L |> ignore
            let samples = NormalSamples.randnLike (torch.zeros([| 200000L |]))
            Expect.isLessThan (abs (samples.mean().ToDouble())) 0.01 "mean"
            Expect.isLessThan (abs (samples.std().ToDouble() - 1.0)) 0.01 "standard deviation"
        }

        test "float64 and transposed inputs take libtorch's way" {
            use _ = torch.NewDisposeScope()
            for x in [ torch.zeros([| 100L |], dtype = torch.float64); torch.zeros([| 30L; 40L |]).t() ] do
                let ours = TestData.drawsLikeLibtorch 17L 0 (fun () -> NormalSamples.randnLike x) (fun () -> torch.randn_like(x))
                Expect.equal ours.dtype x.dtype "the input's dtype"
        }
    ]
