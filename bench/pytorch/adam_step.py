"""PyTorch side of the bench's `adam-step` cases (bench/OptimizerStep.fs): options.steps Adam updates of AE-DEEP's 20
parameter tensors with fixed gradients, the first options.warmup untimed. final_loss is the mean of the parameters
after the last step; "microseconds per step" is in metrics."""
import time

import torch

import bench_support

SIZES = [784, 128, 64, 36, 18, 9, 18, 36, 64, 128, 784]


def shapes():
    result = []
    for inputs, outputs in zip(SIZES, SIZES[1:]):
        result += [(outputs, inputs), (outputs,)]
    return result


if __name__ == "__main__":
    options = bench_support.parse_options()
    torch.manual_seed(0)
    parameters = [torch.nn.Parameter(torch.randn(shape)) for shape in shapes()]
    gradients = [torch.randn(shape) for shape in shapes()]
    optimizer = torch.optim.Adam(parameters, lr=1e-3)
    for p, g in zip(parameters, gradients):
        p.grad = g.clone()
    started = None
    for step in range(1, options.steps + 1):
        if step == options.warmup + 1:
            started = time.perf_counter()
        optimizer.step()
    seconds = time.perf_counter() - started
    timed = options.steps - options.warmup
    mean = sum(p.detach().sum().item() for p in parameters) / sum(p.numel() for p in parameters)
    bench_support.print_measurement(options, "synthetic", timed / seconds, [mean] * timed,
                                    {"microseconds per step": seconds * 1e6 / timed})
