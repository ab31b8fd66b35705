"""PyTorch reference for the bench's `ae-deep` case (AE-DEEP): encoder 784-128-64-36-18-9, decoder 9-18-36-64-128-784,
ReLU between layers, Sigmoid out, MSE (mean), Adam lr 1e-3 with weight decay 1e-6, [0,1] data. (The source's lr 0.1
does not train; both sides use the library's default.) The source trains batch 64: run with --batch-size 64.

    /usr/bin/python3 ae_deep.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data MNIST_DIR]
"""
import torch
from torch import nn

import common

WIDTHS = [784, 128, 64, 36, 18, 9]


def build():
    model = common.Autoencoder(WIDTHS, nn.Sigmoid())
    return model, torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)


def test_metrics(model, test):
    return {"test MSE per pixel": common.mse_per_pixel(model, test)}


if __name__ == "__main__":
    common.run(build, common.mean_mse_loss, test_metrics, "zero-one")
