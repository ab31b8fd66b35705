/*
 * libgenerative_mkl_vendor_gate.so: MKL's vendor question answered, loaded by the Generative library (MklVendorGate.fs) into the
 * process's global symbol scope before libtorch computes anything.
 *
 * libtorch's CPU build carries Intel MKL, whose matrix products ask mkl_serv_intel_cpu_true() whether the processor
 * is an Intel one and take slower kernels when it is not, although AMD processors run the same instructions (AVX2,
 * FMA, AVX-512 where present). libtorch_cpu.so calls that function through its procedure linkage table, so a
 * definition found earlier in the global scope is the one it calls. This one answers yes; MKL still picks its
 * kernels by the instruction sets the processor reports. It counts the calls, so tests can see MKL asking.
 *
 * Build: ./build.sh (needs a C compiler; the built file is committed: docs/torchsharp.md, "MKL on AMD processors").
 */
static unsigned long calls;

/* MKL's question: is this an Intel processor? Always yes; each answer is counted. */
int mkl_serv_intel_cpu_true(void)
{
    __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
    return 1;
}

/* How many times MKL has asked: the library's tests check that libtorch's products reach this gate. */
unsigned long generative_mkl_vendor_gate_calls(void) { return __atomic_load_n(&calls, __ATOMIC_RELAXED); }
