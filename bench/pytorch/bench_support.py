"""What every PyTorch reference script of the bench shares: the command line, reading IDX files and the training
split, the data order of the library's Batches module, the timed step loop of the F# worker (Cases.timedFit), and
the JSON line of the bench's Measurement record (bench/Measurement.fs), memory measured as the F# worker does.

A family module (common.py for the autoencoders, classifiers.py, cls_pyr.py, gan_common.py) keeps only what
differs: its models, its step and its test metrics.
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch

LOSS_WINDOW = 50  # steps averaged into final_loss, as Measurement.lossWindow
MASK64 = (1 << 64) - 1


def proc_status_mb(field):
    """A /proc/self/status field in MB (VmHWM: peak resident set, VmRSS: current)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def read_idx(folder, name):
    """The bytes of an IDX file, raw or gzipped (name or name.gz)."""
    path = os.path.join(folder, name)
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    with gzip.open(path + ".gz", "rb") as f:
        return f.read()


def load_images(folder, prefix):
    """`prefix`-images-idx3-ubyte of an MNIST-format folder (MNIST or Fashion-MNIST) as [N,1,28,28] float32 in
    [0,1] (16-byte IDX header)."""
    images = np.frombuffer(read_idx(folder, prefix + "-images-idx3-ubyte"), dtype=np.uint8, offset=16)
    return torch.from_numpy(images.copy()).reshape(-1, 1, 28, 28).float().div_(255.0)


def load_labels(folder, prefix):
    """`prefix`-labels-idx1-ubyte as int64 (8-byte IDX header)."""
    labels = np.frombuffer(read_idx(folder, prefix + "-labels-idx1-ubyte"), dtype=np.uint8, offset=8)
    return torch.from_numpy(labels.astype(np.int64))


def load_split(folder, prefix):
    """A split ("train" or "t10k") as ([N,1,28,28] float32 in [0,1], int64 labels)."""
    return load_images(folder, prefix), load_labels(folder, prefix)


def normalize(x, normalization):
    """As Transforms.normalizeInPlace: "zero-one" keeps [0,1], "minus-one-one" maps to [-1,1] (in place)."""
    if normalization == "minus-one-one":
        return x.mul_(2.0).add_(-1.0)
    return x


def training_split(folder, normalization="zero-one"):
    """The training images (normalised) and labels of `folder`, or, without a folder, 60000 uniform images from
    the global generator and zero labels (as Cases.mnistShaped). Call it right after torch.manual_seed and before
    creating the model, as the F# workers do, so synthetic data and initial weights match theirs."""
    if folder:
        images, labels = load_split(folder, "train")
    else:
        images, labels = torch.rand(60000, 1, 28, 28), torch.zeros(60000, dtype=torch.int64)
    return normalize(images, normalization), labels


def mnist_kind(folder):
    """The data name of Cases.mnistShaped (autoencoder and GAN workers): "mnist" for any folder."""
    return "mnist" if folder else "synthetic"


def images_kind(folder):
    """The data name of Cases.imagesShaped (classifier workers): a folder named like "fashion" is Fashion-MNIST."""
    if not folder:
        return "synthetic"
    return "fashion-mnist" if "fashion" in os.path.basename(os.path.normpath(folder)).lower() else "mnist"


def parse_options():
    """The flags the harness passes every script (Harness.settingsArgs); sets torch's intra-op threads."""
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    return a


def splitmix(x):
    """SplitMix64's finaliser, as Batches.mix."""
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def epoch_seed(seed, epoch):
    """Batches.epochSeed: the generator seed of the permutation of (seed, epoch)."""
    return splitmix(splitmix(seed & MASK64) ^ epoch)


def timed_steps(options, count, step, permutation_seed=epoch_seed):
    """Runs options.steps training steps over `count` examples as Loop.fit orders them: per epoch (from 1) a
    randperm from a generator seeded with permutation_seed(0, epoch), then batches of options.batch_size indices;
    `step(indices)` trains on one batch and returns its loss as a number. Times the steps after the first
    options.warmup as Cases.timedFit does. Returns (losses of every step, timed steps per second)."""
    losses = []
    done = 0
    epoch = 1
    started = finished = None
    while done < options.steps:
        perm = torch.randperm(count, generator=torch.Generator().manual_seed(permutation_seed(0, epoch)))
        for start in range(0, count, options.batch_size):
            losses.append(step(perm[start:start + options.batch_size]))
            done += 1
            if done == options.warmup:
                started = time.perf_counter()
            if done == options.steps:
                finished = time.perf_counter()
                break
        epoch += 1
    return losses, (options.steps - options.warmup) / (finished - started)


def print_measurement(options, data_kind, steps_per_second, losses, metrics):
    """Prints the Measurement JSON line: final_loss is the mean of the last LOSS_WINDOW losses (or all timed ones);
    memory is read here, after training and test metrics, as Cases.measured reads it."""
    window = min(LOSS_WINDOW, options.steps - options.warmup)
    print(json.dumps({
        "implementation": "PyTorch (Python)",
        "version": "PyTorch %s / Python %s" % (torch.__version__, ".".join(map(str, sys.version_info[:3]))),
        "threads": options.threads,
        "steps": options.steps,
        "warmup": options.warmup,
        "batch_size": options.batch_size,
        "data": data_kind,
        "steps_per_second": steps_per_second,
        "peak_rss_mb": proc_status_mb("VmHWM"),
        "rss_mb": proc_status_mb("VmRSS"),
        "final_loss": sum(losses[-window:]) / window,
        "metrics": metrics,
    }))
