"""PyTorch reference for the bench's `cls-pyr` case (CLS-PYR).

Gaussian-pyramid features as GaussianPyramid.features (separable Gaussian blur, sigma 2/3, radius 3, edges
replicated, then a bilinear resize to ceil(H/2) x ceil(W/2) without antialiasing, down to 1x1; the levels flattened
and concatenated: 1,050 per 28x28 image), computed once for the training split in batches of 256 ("feature seconds"),
then a Linear(1050, 10) head trained with the one-vs-rest hinge loss (mean over examples of
sum_k max(0, 1 - y_k z_k)) and Adam(1e-3, weight decay 1/54000), as Classifier.trainer on cached features.

    /usr/bin/python3 cls_pyr.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data FOLDER]
"""
import argparse
import json
import math
import sys
import time

import torch
from torch import nn

import classifiers

SIGMA = 2.0 / 3.0
RADIUS = 3


def kernel1d():
    raw = [math.exp(-(x * x) / (2.0 * SIGMA * SIGMA)) for x in range(-RADIUS, RADIUS + 1)]
    total = sum(raw)
    return torch.tensor([v / total for v in raw], dtype=torch.float32)


def reduce(images, k):
    """One pyramid step on [N, C, H, W]: separable blur (replicated edges), then a bilinear resize to half (ceil)."""
    c = images.shape[1]
    kx = k.reshape(1, 1, 1, -1).expand(c, 1, 1, k.numel()).contiguous()
    ky = k.reshape(1, 1, -1, 1).expand(c, 1, k.numel(), 1).contiguous()
    padded = nn.functional.pad(images, [RADIUS] * 4, mode="replicate")
    blurred = nn.functional.conv2d(nn.functional.conv2d(padded, kx, groups=c), ky, groups=c)
    h, w = (images.shape[2] + 1) // 2, (images.shape[3] + 1) // 2
    return nn.functional.interpolate(blurred, size=[h, w], mode="bilinear", align_corners=False)


def features(images, k):
    levels = [images]
    while levels[-1].shape[2] != 1 or levels[-1].shape[3] != 1:
        levels.append(reduce(levels[-1], k))
    return torch.cat([level.flatten(1) for level in levels], 1)


def cached(images, k):
    with torch.no_grad():
        return torch.cat([features(images[s:s + 256], k) for s in range(0, images.shape[0], 256)], 0)


def hinge(z, y):
    signs = nn.functional.one_hot(y, z.shape[1]).to(z.dtype) * 2.0 - 1.0
    return nn.functional.relu(1.0 - signs * z).sum(1).mean()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data")
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    # Same order as the F# worker (seed, data, model), so the head's initial weights match.
    torch.manual_seed(0)
    if a.data:
        images, labels = classifiers.load_split(a.data, "train")
    else:
        images, labels = torch.rand(60000, 1, 28, 28), torch.zeros(60000, dtype=torch.int64)
    head = nn.Linear(1050, 10)
    k = kernel1d()
    clock = time.perf_counter()
    inputs = cached(images, k)
    feature_seconds = time.perf_counter() - clock
    opt = torch.optim.Adam(head.parameters(), lr=1e-3, weight_decay=1.0 / 54000.0)

    count = inputs.shape[0]
    losses = []
    step = 0
    epoch = 1
    started = finished = None
    while step < a.steps:
        g = torch.Generator().manual_seed(classifiers.epoch_seed(0, epoch))
        perm = torch.randperm(count, generator=g)
        for start in range(0, count, a.batch_size):
            idx = perm[start:start + a.batch_size]
            x = inputs.index_select(0, idx)
            y = labels.index_select(0, idx)
            opt.zero_grad()
            z = head(x)
            loss = hinge(z, y)
            accuracy = (z.argmax(1) == y).float().mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            accuracy.item()
            step += 1
            if step == a.warmup:
                started = time.perf_counter()
            if step == a.steps:
                finished = time.perf_counter()
                break
        epoch += 1

    metrics = {"feature seconds": feature_seconds}
    if a.data:
        tx, ty = classifiers.load_split(a.data, "t10k")
        with torch.no_grad():
            metrics["test accuracy"] = (head(cached(tx, k)).argmax(1) == ty).float().mean().item()
    window = min(classifiers.LOSS_WINDOW, a.steps - a.warmup)
    print(json.dumps({
        "implementation": "PyTorch (Python)",
        "version": "PyTorch %s / Python %s" % (torch.__version__, ".".join(map(str, sys.version_info[:3]))),
        "threads": a.threads,
        "steps": a.steps,
        "warmup": a.warmup,
        "batch_size": a.batch_size,
        "data": classifiers.data_kind(a.data),
        "steps_per_second": (a.steps - a.warmup) / (finished - started),
        "peak_rss_mb": classifiers.proc_status_mb("VmHWM"),
        "rss_mb": classifiers.proc_status_mb("VmRSS"),
        "final_loss": sum(losses[-window:]) / window,
        "metrics": metrics,
    }))


if __name__ == "__main__":
    main()
