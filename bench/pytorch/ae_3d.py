"""PyTorch reference for the bench's `ae-3d` case (AE-3D): encoder 784-128-64-12-3, decoder 3-12-64-128-784, ReLU
between layers, Tanh out, MSE summed over pixels and averaged over the batch, Adam 1e-3, [-1,1] data. The source
trains batch 128 (the bench's default).

    /usr/bin/python3 ae_3d.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data MNIST_DIR]
"""
import torch
from torch import nn

import common


def build():
    model = common.Autoencoder([784, 128, 64, 12, 3], nn.Tanh())
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


if __name__ == "__main__":
    common.run(build, common.summed_per_image_loss, common.summed_per_image_metrics, "minus-one-one")
