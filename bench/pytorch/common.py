"""Shared by the autoencoder family's PyTorch reference scripts (ae_linear, ae_deep, ae_3d, ae_conv, ae_denoise,
vae): the Autoencoder.create network, the step of the library's autoencoder trainer (images and labels selected,
zero_grad / forward / backward / step, the loss read back every step), the family's losses and test metrics, on
bench_support's command line, data, step loop and JSON line.

A script defines its model, its loss and its test metrics, then calls `run`.
"""
import torch
from torch import nn

import bench_support


def mlp(widths, last):
    """Linear layers through `widths` with ReLU between them, then `last` (None: nothing)."""
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


def mean_over(x, batch, f):
    """Mean of f(batch) over x in batches, weighted by batch length (as RunModel.meanOver)."""
    total = 0.0
    with torch.no_grad():
        for start in range(0, x.shape[0], batch):
            b = x[start:start + batch]
            total += float(f(b)) * b.shape[0]
    return total / x.shape[0]


def mse_per_pixel(model, test):
    """Test-set MSE per pixel of the reconstructions, in batches of 1000."""
    return mean_over(test, 1000, lambda b: nn.functional.mse_loss(model(b), b))


def mean_mse_loss(model, x):
    """MSE averaged over pixels and images (Reconstruction Mse ElementMean)."""
    return nn.functional.mse_loss(model(x), x)


def summed_per_image(r, x):
    """MSE summed over pixels and averaged over the batch."""
    return nn.functional.mse_loss(r, x, reduction="sum") / x.shape[0]


def summed_per_image_loss(model, x):
    return summed_per_image(model(x), x)


def summed_per_image_metrics(model, test):
    """The test metrics of a model trained with `summed_per_image_loss`."""
    return {
        "test MSE per pixel": mse_per_pixel(model, test),
        "test loss": mean_over(test, 1000, lambda b: summed_per_image(model(b), b)),
    }


def run(build, loss_of, test_metrics, normalization):
    """build() -> (model, optimiser); loss_of(model, x) -> scalar loss; test_metrics(model, test images) -> dict."""
    options = bench_support.parse_options()

    # Same order as the F# worker (seed, data, model), so synthetic data and initial weights match.
    torch.manual_seed(0)
    images, labels = bench_support.training_split(options.data, normalization)
    model, opt = build()
    model.train()

    def step(idx):
        x = images.index_select(0, idx)
        labels.index_select(0, idx)  # Loop.fit selects labels too; keep the work equal
        opt.zero_grad()
        loss = loss_of(model, x)
        loss.backward()
        opt.step()
        return loss.item()

    losses, steps_per_second = bench_support.timed_steps(options, images.shape[0], step)

    metrics = {}
    if options.data:
        model.eval()
        test = bench_support.normalize(bench_support.load_images(options.data, "t10k"), normalization)
        metrics = test_metrics(model, test)
    bench_support.print_measurement(options, bench_support.mnist_kind(options.data), steps_per_second, losses,
                                    metrics)
