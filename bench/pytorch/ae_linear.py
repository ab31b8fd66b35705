"""PyTorch reference for the bench's `ae-linear` case (AE-LIN).

Trains Linear(784,128) ReLU Linear(128,784) ReLU with MSE (mean) and Adam 1e-3 on [0,1] data the way the library's
Loop.fit does (common.run: a per-epoch randperm from a seeded generator, index_select of each batch (images and
labels) from a preloaded tensor, zero_grad / forward / backward / step, the loss read back as a number every step).
Prints one JSON line with the keys of the bench's Measurement record; with --data, "metrics" holds the test MSE.

    /usr/bin/python3 ae_linear.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data MNIST_DIR]
"""
import torch
from torch import nn

import common


def build():
    model = common.Autoencoder([784, 128], nn.ReLU(), code=nn.ReLU())
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def test_metrics(model, test):
    return {"test MSE": common.mse_per_pixel(model, test)}


if __name__ == "__main__":
    common.run(build, common.mean_mse_loss, test_metrics, "zero-one")
