"""PyTorch reference for the bench's `ae-linear` case (AE-LIN).

Trains Linear(784,128) ReLU Linear(128,784) ReLU with MSE (mean) and Adam 1e-3 the way the library's
Loop.fit does: a per-epoch randperm from a seeded generator, index_select of each batch (images and labels)
from a preloaded tensor, zero_grad / forward / backward / step, the loss read back as a number every step.
Prints one JSON line with the keys of the bench's Measurement record.

    /usr/bin/python3 ae_linear.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data MNIST_DIR]
"""
import argparse
import json
import sys
import time

import numpy as np
import torch
from torch import nn

from bench_support import LOSS_WINDOW, proc_status_mb, read_idx


def mnist_train(folder):
    """The 60000 training images as [N,1,28,28] float32 in [0,1], and int64 labels (IDX: 16- and 8-byte headers)."""
    images = np.frombuffer(read_idx(folder, "train-images-idx3-ubyte"), dtype=np.uint8, offset=16)
    labels = np.frombuffer(read_idx(folder, "train-labels-idx1-ubyte"), dtype=np.uint8, offset=8)
    x = torch.from_numpy(images.copy()).reshape(-1, 1, 28, 28).float().div_(255.0)
    return x, torch.from_numpy(labels.astype(np.int64))


class Autoencoder(nn.Module):
    """Encoder and decoder as in Autoencoder.create: flatten, Linear+ReLU twice, reshape back."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(784, 128), nn.ReLU())
        self.decoder = nn.Sequential(nn.Linear(128, 784), nn.ReLU())

    def forward(self, x):
        return self.decoder(self.encoder(x.flatten(1))).reshape(x.shape)


def mnist_test(folder):
    """The 10000 test images as [N,1,28,28] float32 in [0,1]."""
    images = np.frombuffer(read_idx(folder, "t10k-images-idx3-ubyte"), dtype=np.uint8, offset=16)
    return torch.from_numpy(images.copy()).reshape(-1, 1, 28, 28).float().div_(255.0)


def test_metrics(model, folder):
    """Test-set MSE per pixel in batches of 1000 (as Catalog.meanOver), or nothing on synthetic data."""
    if not folder:
        return {}
    x = mnist_test(folder)
    model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, x.shape[0], 1000):
            b = x[start:start + 1000]
            total += nn.functional.mse_loss(model(b), b).item() * b.shape[0]
    return {"test MSE": total / x.shape[0]}


def main():
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
        images, labels = mnist_train(a.data)
    else:
        images, labels = torch.rand(60000, 1, 28, 28), torch.zeros(60000, dtype=torch.int64)
    model = Autoencoder()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()

    count = images.shape[0]
    losses = []
    step = 0
    epoch = 1
    started = finished = None
    while step < a.steps:
        # As Batches.permutation: a generator seeded from (seed 0, epoch) per epoch.
        g = torch.Generator().manual_seed(0 * 1000003 + epoch)
        perm = torch.randperm(count, generator=g)
        for start in range(0, count, a.batch_size):
            idx = perm[start:start + a.batch_size]
            x = images.index_select(0, idx)
            labels.index_select(0, idx)  # Loop.fit selects labels too; keep the work equal
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), x)
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
        "metrics": test_metrics(model, a.data),
    }))


if __name__ == "__main__":
    main()
