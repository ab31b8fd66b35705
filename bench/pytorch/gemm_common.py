"""The matrix-multiply probe's PyTorch side (bench/Gemm.fs): options.steps products of two seeded random 1024x1024
matrices of one dtype, the first options.warmup untimed. Prints the bench's JSON line with "GFLOP/s" in metrics and
the mean of the last product as final_loss."""
import time

import torch

import bench_support

SIZE = 1024
FLOPS_PER_PRODUCT = 2.0 * SIZE ** 3


def run(dtype):
    options = bench_support.parse_options()
    torch.manual_seed(0)
    a = torch.randn(SIZE, SIZE).to(dtype)
    b = torch.randn(SIZE, SIZE).to(dtype)
    started = None
    last = 0.0
    for step in range(1, options.steps + 1):
        if step == options.warmup + 1:
            started = time.perf_counter()
        c = torch.matmul(a, b)
        if step == options.steps:
            last = c.float().mean().item()
    steps_per_second = (options.steps - options.warmup) / (time.perf_counter() - started)
    # print_measurement averages the last losses; every timed "step" reports the last product's mean.
    bench_support.print_measurement(options, "synthetic", steps_per_second, [last] * (options.steps - options.warmup),
                                    {"GFLOP/s": steps_per_second * FLOPS_PER_PRODUCT / 1e9})
