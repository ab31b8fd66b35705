"""PyTorch reference for the bench's `ae-denoise` case (AE-DENOISE): AE-LIN's network (Linear(784,128) ReLU
Linear(128,784) ReLU) on [0,1] data, the input corrupted with Gaussian noise of std 0.5 each step, the clean image as
the target, MSE (mean), Adam lr 1e-3. Test metrics: MSE of clean reconstructions, and of denoised vs clean images under Gaussian noise (std 0.5)
and masking noise (p 0.5) from fixed seeds (the noise itself differs from the F# side's: other generators).

    /usr/bin/python3 ae_denoise.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data MNIST_DIR]
"""
import torch
from torch import nn

import common

STD = 0.5


def build():
    model = common.Autoencoder([784, 128], nn.ReLU(), code=nn.ReLU())
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def loss_of(model, x):
    return nn.functional.mse_loss(model(x + torch.randn_like(x) * STD), x)


def denoised_mse(model, test, corrupt, seed):
    g = torch.Generator().manual_seed(seed)
    return common.mean_over(test, 1000, lambda b: nn.functional.mse_loss(model(corrupt(b, g)), b))


def test_metrics(model, test):
    gaussian = lambda b, g: b + torch.randn(b.shape, generator=g) * STD  # noqa: E731
    masking = lambda b, g: b * (torch.rand(b.shape, generator=g) >= 0.5).float()  # noqa: E731
    return {
        "test MSE per pixel": common.mse_per_pixel(model, test),
        "test MSE per pixel, denoising gaussian:0.5": denoised_mse(model, test, gaussian, 2),
        "test MSE per pixel, denoising masking:0.5": denoised_mse(model, test, masking, 2),
    }


if __name__ == "__main__":
    common.run(build, loss_of, test_metrics, "zero-one")
