"""PyTorch references for the bench's classifier cases (cls-mlp, cls-lenet, cls-cnn); run through cls_*.py.

Each model is built as Classifier.create builds it (same layers in the same creation order, so with
torch.manual_seed(0) first the initial weights come from the same generator stream) and trained the way the
library's Loop.fit and Classifier.trainer do: a per-epoch randperm from a generator seeded like Batches.permutation,
index_select of each batch (images and labels) from a preloaded tensor, the config's augmentation (cls-cnn: random
shifts of up to 2 pixels through affine_grid/grid_sample with border padding, then flips with probability 1/2),
zero_grad / forward / cross-entropy / backward / Adam step, loss and batch accuracy read back every step.
Prints one JSON line with the keys of the bench's Measurement record; with --data, "metrics" holds the test accuracy
(evaluation mode, batches of 500, as Classifier.measure).
"""
import torch
from torch import nn

import bench_support


def mlp():
    """CLS-MLP: Flatten, Linear(784,128), ReLU | head Linear(128,10)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU()), nn.Sequential(nn.Linear(128, 10))


def lenet5():
    """CLS-LENET: Conv(1,6,5) tanh MaxPool 2, Conv(6,16,5) tanh MaxPool 2, Linear(256,120) tanh, Linear(120,84) tanh
    | head Linear(84,10)."""
    features = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(256, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh())
    return features, nn.Sequential(nn.Linear(84, 10))


def bn_cnn():
    """cls-cnn: two blocks of two Conv 3x3 (same) BN ReLU, then MaxPool and Dropout 0.25 (32 then 64 channels),
    Flatten, Linear(3136,256) BN ReLU | head Dropout 0.5, Linear(256,10)."""
    features = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Dropout(0.25),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 256), nn.BatchNorm1d(256), nn.ReLU())
    return features, nn.Sequential(nn.Dropout(0.5), nn.Linear(256, 10))


def augment(images, shift, flip):
    """Classifier.augment: per-image whole-pixel translations in [-shift, shift] (affine grid, border padding,
    bilinear), then a left-right flip of each image with probability 1/2; global generator, same draw order."""
    n, c, h, w = images.shape
    x = images
    if shift > 0:
        offsets = torch.randint(-shift, shift + 1, (n, 2)).float()
        tx = offsets[:, 0] * (2.0 / w)
        ty = offsets[:, 1] * (2.0 / h)
        zeros, ones = torch.zeros_like(tx), torch.ones_like(tx)
        theta = torch.stack([ones, zeros, tx, zeros, ones, ty], 1).reshape(n, 2, 3)
        grid = nn.functional.affine_grid(theta, [n, c, h, w], align_corners=False)
        x = nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if flip:
        mask = torch.rand(n).lt(0.5).reshape(n, 1, 1, 1)
        x = torch.where(mask, x.flip(3), x)
    return x


def test_accuracy(features, head, folder, mean, std):
    """Test accuracy in evaluation mode, batches of 500 (Classifier.measure); nothing on synthetic data."""
    if not folder:
        return {}
    x, y = bench_support.load_split(folder, "t10k")
    x = (x - mean) / std
    features.eval()
    head.eval()
    hits = 0
    with torch.no_grad():
        for start in range(0, x.shape[0], 500):
            z = head(features(x[start:start + 500]))
            hits += (z.argmax(1) == y[start:start + 500]).sum().item()
    return {"test accuracy": hits / x.shape[0]}


def main(build, shift=0, flip=False, mean=0.0, std=1.0):
    """Trains the model `build` returns (features, head) for --steps steps and prints the measurement line.
    `mean`/`std` standardise the pixels as the case's normalisation (0, 1: pixels in [0, 1])."""
    options = bench_support.parse_options()

    # Same order as the F# worker (seed, data, model), so synthetic data and initial weights match.
    torch.manual_seed(0)
    images, labels = bench_support.training_split(options.data)
    images = (images - mean) / std
    features, head = build()
    opt = torch.optim.Adam(list(features.parameters()) + list(head.parameters()), lr=1e-3)
    features.train()
    head.train()

    def step(idx):
        x = images.index_select(0, idx)
        y = labels.index_select(0, idx)
        opt.zero_grad()
        z = head(features(augment(x, shift, flip)))
        loss = nn.functional.cross_entropy(z, y)
        accuracy = (z.argmax(1) == y).float().mean()
        loss.backward()
        opt.step()
        value = loss.item()
        accuracy.item()  # the trainer reads every term back
        return value

    losses, steps_per_second = bench_support.timed_steps(options, images.shape[0], step)
    metrics = test_accuracy(features, head, options.data, mean, std)
    bench_support.print_measurement(options, bench_support.images_kind(options.data), steps_per_second, losses,
                                    metrics)
