module Generative.Tests.Training.BFloat16SupportTests

open Expecto
open Generative.Tests
open Generative

[<Tests>]
let tests =
    testList "Training.BFloat16Support" [
        test "a CPU with AVX512-BF16 or AMX-BF16 is native, one with neither is emulated" {
            Expect.equal (BFloat16Support.ofCpuFlags [ "avx2"; "avx512f"; "avx512_bf16" ]) BFloat16Support.Native "AVX512-BF16"
            Expect.equal (BFloat16Support.ofCpuFlags [ "avx2"; "amx_tile"; "amx_bf16" ]) BFloat16Support.Native "AMX"
            Expect.equal (BFloat16Support.ofCpuFlags [ "avx2"; "avx512f"; "avx512bw" ]) BFloat16Support.Emulated "AVX-512 without BF16"
        }

        test "a CPU whose flags are not known has unknown support" {
            let avx2 = { CpuInfo.unknown with Flags = Some [ "fpu"; "sse2"; "avx2" ] }
            Expect.equal (BFloat16Support.ofCpu avx2) BFloat16Support.Emulated "AVX2 only"
            Expect.equal (BFloat16Support.ofCpu CpuInfo.unknown) BFloat16Support.Unknown "no flags line"
        }

        test "a bf16 run is warned only where bfloat16 is known to be emulated" {
            let warned = BFloat16Support.warning TrainingPrecision.BFloat16 BFloat16Support.Emulated
            Expect.isSome warned "bf16 on an emulating CPU"
            Expect.stringContains warned.Value "fp32" "the warning names what to use instead"
            Expect.isNone (BFloat16Support.warning TrainingPrecision.BFloat16 BFloat16Support.Native) "native bf16"
            Expect.isNone (BFloat16Support.warning TrainingPrecision.BFloat16 BFloat16Support.Unknown) "unknown (a GPU)"
            Expect.isNone (BFloat16Support.warning TrainingPrecision.Float32 BFloat16Support.Emulated) "fp32"
        }

        test "every catalog model reports the precision its settings choose, fp32 by default" {
            let withSetting = Catalog.all |> List.filter (fun e -> e.Settings |> List.exists (fun s -> s.Key = MixedPrecision.key))
            Expect.isGreaterThanOrEqual withSetting.Length 10 "most models have the precision setting"
            for entry in Catalog.all do
                Expect.equal (entry.Configure []).Precision TrainingPrecision.Float32 (entry.Id + " by default")
            for entry in withSetting do
                Expect.equal (entry.Configure [ MixedPrecision.key, "bf16" ]).Precision TrainingPrecision.BFloat16 (entry.Id + " with bf16")
                Expect.equal (entry.Configure [ MixedPrecision.key, "fp32" ]).Precision TrainingPrecision.Float32 (entry.Id + " with fp32")
        }
    ]
