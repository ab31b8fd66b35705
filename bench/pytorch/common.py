"""Shared by the autoencoder family's PyTorch reference scripts: flags, MNIST loading, the training loop of the
library's Loop.fit (a per-epoch randperm, index_select of images and labels, zero_grad / forward / backward / step,
the loss read back every step) and the JSON line of the bench's Measurement record.

A script defines its model, its loss and its test metrics, then calls `run`.
"""
import argparse
import json
import sys
import time

import numpy as np
import torch

from bench_support import LOSS_WINDOW, proc_status_mb, read_idx


def mnist_images(folder, name):
    """IDX images as [N,1,28,28] float32 in [0,1] (16-byte header)."""
    images = np.frombuffer(read_idx(folder, name), dtype=np.uint8, offset=16)
    return torch.from_numpy(images.copy()).reshape(-1, 1, 28, 28).float().div_(255.0)


def mnist_labels(folder, name):
    labels = np.frombuffer(read_idx(folder, name), dtype=np.uint8, offset=8)
    return torch.from_numpy(labels.astype(np.int64))


def normalize(x, normalization):
    """As Transforms.normalizeInPlace: "zero-one" keeps [0,1], "minus-one-one" maps to [-1,1]."""
    if normalization == "minus-one-one":
        return x.mul_(2.0).add_(-1.0)
    return x


def mean_over(x, batch, f):
    """Mean of f(batch) over x in batches, weighted by batch length (as RunModel.meanOver)."""
    total = 0.0
    with torch.no_grad():
        for start in range(0, x.shape[0], batch):
            b = x[start:start + batch]
            total += float(f(b)) * b.shape[0]
    return total / x.shape[0]


def run(build, loss_of, test_metrics, normalization):
    """build() -> (model, optimiser); loss_of(model, x) -> scalar loss; test_metrics(model, test images) -> dict."""
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data")
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    # Same order as the F# worker (seed, data, model), so synthetic data and initial weights match.
    torch.manual_seed(0)
    if a.data:
        images = mnist_images(a.data, "train-images-idx3-ubyte")
        labels = mnist_labels(a.data, "train-labels-idx1-ubyte")
    else:
        images, labels = torch.rand(60000, 1, 28, 28), torch.zeros(60000, dtype=torch.int64)
    images = normalize(images, normalization)
    model, opt = build()
    model.train()

    count = images.shape[0]
    losses = []
    step = 0
    epoch = 1
    started = finished = None
    while step < a.steps:
        g = torch.Generator().manual_seed(0 * 1000003 + epoch)
        perm = torch.randperm(count, generator=g)
        for start in range(0, count, a.batch_size):
            idx = perm[start:start + a.batch_size]
            x = images.index_select(0, idx)
            labels.index_select(0, idx)  # Loop.fit selects labels too; keep the work equal
            opt.zero_grad()
            loss = loss_of(model, x)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            step += 1
            if step == a.warmup:
                started = time.perf_counter()
            if step == a.steps:
                finished = time.perf_counter()
                break
        epoch += 1

    metrics = {}
    if a.data:
        model.eval()
        test = normalize(mnist_images(a.data, "t10k-images-idx3-ubyte"), normalization)
        metrics = test_metrics(model, test)

    window = min(LOSS_WINDOW, a.steps - a.warmup)
    print(json.dumps({
        "implementation": "PyTorch (Python)",
        "version": "PyTorch %s / Python %s" % (torch.__version__, ".".join(map(str, sys.version_info[:3]))),
        "threads": a.threads,
        "steps": a.steps,
        "warmup": a.warmup,
        "batch_size": a.batch_size,
        "data": "mnist" if a.data else "synthetic",
        "steps_per_second": (a.steps - a.warmup) / (finished - started),
        "peak_rss_mb": proc_status_mb("VmHWM"),
        "rss_mb": proc_status_mb("VmRSS"),
        "final_loss": sum(losses[-window:]) / window,
        "metrics": metrics,
    }))
