module Generative.Tests.Core.CpuInfoTests

open Expecto
open Generative

/// The start of a /proc/cpuinfo of a two-core AVX2-only AMD EPYC: the second processor repeats the first's fields.
let private amdCpuInfo =
    "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel name\t: AMD EPYC 7763 64-Core Processor\n"
    + "flags\t\t: fpu sse sse2 fma avx avx2\nbugs\t\t: sysret_ss_attrs\nflags_extra\t: not-a-flag\n\n"
    + "processor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7763 64-Core Processor\nflags\t\t: fpu\n"

let private intelCpuInfo = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel name\t: Intel(R) Xeon(R)\n"

[<Tests>]
let tests =
    testList "Core.CpuInfo" [
        test "the first processor's vendor, model name and flags are read from /proc/cpuinfo's text" {
            let cpu = CpuInfo.parse amdCpuInfo
            Expect.equal cpu.Vendor (Some "AuthenticAMD") "vendor_id"
            Expect.equal cpu.ModelName (Some "AMD EPYC 7763 64-Core Processor") "model name, trimmed"
            Expect.equal cpu.Flags (Some [ "fpu"; "sse"; "sse2"; "fma"; "avx"; "avx2" ]) "the first flags line, split"
        }

        test "missing fields are None, and an empty or absent text is unknown" {
            Expect.isNone (CpuInfo.parse intelCpuInfo).Flags "no flags line"
            Expect.equal (CpuInfo.parse "") CpuInfo.unknown "empty"
            Expect.equal (CpuInfo.parse null) CpuInfo.unknown "null"
        }

        test "an AMD processor is told from an Intel one by its vendor" {
            Expect.isTrue (CpuInfo.isAmd (CpuInfo.parse amdCpuInfo)) "AuthenticAMD"
            Expect.isFalse (CpuInfo.isAmd (CpuInfo.parse intelCpuInfo)) "GenuineIntel"
            Expect.isFalse (CpuInfo.isAmd CpuInfo.unknown) "nothing known"
        }
    ]
