"""PyTorch reference for the bench's `ae-deep` case (AE-DEEP): encoder 784-128-64-36-18-9, decoder 9-18-36-64-128-784,
ReLU between layers, Sigmoid out, MSE (mean), Adam lr 1e-3 with weight decay 1e-6, [0,1] data. (The source's lr 0.1
does not train; both sides use the library's default.) The source trains batch 64: run with --batch-size 64.

    /usr/bin/python3 ae_deep.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data MNIST_DIR]
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def mlp(widths, last):
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    if last is not None:
        layers.append(last)
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """As Autoencoder.create: Linear layers through `widths` with ReLU between, `code` (None: linear code) after the
    encoder, the mirror image back with `output` after the decoder."""

    def __init__(self, widths, output, code=None):
        super().__init__()
        self.encoder = mlp(widths, code)
        self.decoder = mlp(list(reversed(widths)), output)

    def forward(self, x):
        return self.decoder(self.encoder(x.flatten(1))).reshape(x.shape)


WIDTHS = [784, 128, 64, 36, 18, 9]


def build():
    model = Autoencoder(WIDTHS, nn.Sigmoid())
    return model, torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)


def loss_of(model, x):
    return nn.functional.mse_loss(model(x), x)


def test_metrics(model, test):
    return {"test MSE per pixel": common.mean_over(test, 1000, lambda b: nn.functional.mse_loss(model(b), b))}


if __name__ == "__main__":
    common.run(build, loss_of, test_metrics, "zero-one")
