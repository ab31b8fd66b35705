"""PyTorch reference for the bench's `ae-3d` case (AE-3D): encoder 784-128-64-12-3, decoder 3-12-64-128-784, ReLU
between layers, Tanh out, MSE summed over pixels and averaged over the batch, Adam 1e-3, [-1,1] data. The source
trains batch 128 (the bench's default).

    /usr/bin/python3 ae_3d.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data MNIST_DIR]
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from ae_deep import Autoencoder  # noqa: E402


def build():
    model = Autoencoder([784, 128, 64, 12, 3], nn.Tanh())
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def summed_per_image(r, x):
    return nn.functional.mse_loss(r, x, reduction="sum") / x.shape[0]


def loss_of(model, x):
    return summed_per_image(model(x), x)


def test_metrics(model, test):
    return {
        "test MSE per pixel": common.mean_over(test, 1000, lambda b: nn.functional.mse_loss(model(b), b)),
        "test loss": common.mean_over(test, 1000, lambda b: summed_per_image(model(b), b)),
    }


if __name__ == "__main__":
    common.run(build, loss_of, test_metrics, "minus-one-one")
