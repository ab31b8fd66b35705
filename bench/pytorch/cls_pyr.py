"""PyTorch reference for the bench's `cls-pyr` case (CLS-PYR).

Gaussian-pyramid features as GaussianPyramid.features (separable Gaussian blur, sigma 2/3, radius 3, edges
replicated, then a bilinear resize to ceil(H/2) x ceil(W/2) without antialiasing, down to 1x1; the levels flattened
and concatenated: 1,050 per 28x28 image), computed once for the training split in batches of 256 ("feature seconds"),
then a Linear(1050, 10) head trained with the one-vs-rest hinge loss (mean over examples of
sum_k max(0, 1 - y_k z_k)) and Adam(1e-3, weight decay 1/54000), as Classifier.trainer on cached features.

    /usr/bin/python3 cls_pyr.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data FOLDER]
"""
import math
import time

import torch
from torch import nn

import bench_support

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
    options = bench_support.parse_options()

    # Same order as the F# worker (seed, data, model), so the head's initial weights match.
    torch.manual_seed(0)
    images, labels = bench_support.training_split(options.data)
    head = nn.Linear(1050, 10)
    k = kernel1d()
    clock = time.perf_counter()
    inputs = cached(images, k)
    feature_seconds = time.perf_counter() - clock
    opt = torch.optim.Adam(head.parameters(), lr=1e-3, weight_decay=1.0 / 54000.0)

    def step(idx):
        x = inputs.index_select(0, idx)
        y = labels.index_select(0, idx)
        opt.zero_grad()
        z = head(x)
        loss = hinge(z, y)
        accuracy = (z.argmax(1) == y).float().mean()
        loss.backward()
        opt.step()
        value = loss.item()
        accuracy.item()
        return value

    losses, steps_per_second = bench_support.timed_steps(options, inputs.shape[0], step)

    metrics = {"feature seconds": feature_seconds}
    if options.data:
        tx, ty = bench_support.load_split(options.data, "t10k")
        with torch.no_grad():
            metrics["test accuracy"] = (head(cached(tx, k)).argmax(1) == ty).float().mean().item()
    bench_support.print_measurement(options, bench_support.images_kind(options.data), steps_per_second, losses,
                                    metrics)


if __name__ == "__main__":
    main()
