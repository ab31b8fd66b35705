"""PyTorch reference for the bench's GAN cases (gan_mlp.py, lsgan.py, dcgan.py, dcgan_keras.py, dcgan_plus.py and
gan_mlp_plus.py import this).

Mirrors the library's Models/Gan.fs: the same networks created in the same order (generator, discriminator,
then the 64 fixed noise vectors) after torch.manual_seed(0), the same [-1,1] MNIST data in the same order
(Batches.permutation: a per-epoch generator seeded with SplitMix64 of (seed 0, epoch)), and the same step:
optional random horizontal flip of the real batch, fakes G(z) shared by both updates, a D update on the real
batch and the detached fakes, then a G update through D with D's parameters frozen. The four loss terms are
read back as numbers every step, as the library does. After training, 10,000 samples from a fixed noise seed
are written as raw float32 [N,1,28,28] to $GENERATIVE_BENCH_SAMPLES (when set), so the F# harness scores them
with the same feature network as its own samples. Prints one JSON line with the bench's Measurement keys.

The techniques beyond the sources are the library's too: spectral normalisation of D's linear and convolution layers
(torch.nn.utils.spectral_norm, one power iteration per training forward), the minibatch standard deviation before D's
output layer (Layers/MinibatchStddev.fs), the hinge loss, and a moving average of G updated after every G step (its
parameters averaged, its buffers copied).
"""
import copy
import os

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

import bench_support


class Reshape(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


def mlp(widths, hidden, output):
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(a, b))
        last = i == len(widths) - 2
        act = output if last else hidden
        if act is not None:
            layers.append(act())
    return layers


def glorot(net):
    """Keras' default initialisation (Conv.glorotInit): Glorot-uniform weights, zero biases."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
    return net


class MinibatchStddev(nn.Module):
    """[N, F] -> [N, F + 1]: the batch's per-feature population standard deviation (eps 1e-8), averaged, per row."""

    def forward(self, x):
        spread = (x.var(0, unbiased=False, keepdim=True) + 1e-8).sqrt().mean()
        return torch.cat([x, spread.expand(x.shape[0], 1)], 1)


def with_minibatch_stddev(d):
    """D with the minibatch standard deviation before its last linear layer, which gains one input."""
    layers = list(d)
    last = max(i for i, m in enumerate(layers) if isinstance(m, nn.Linear))
    old = layers[last]
    layers[last:last + 1] = [MinibatchStddev(), nn.Linear(old.in_features + 1, old.out_features)]
    return nn.Sequential(*layers)


def spectrally_normalised(d):
    for i, m in enumerate(d):
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            d[i] = nn.utils.spectral_norm(m)
    return d


def networks(arch, z):
    """(generator, discriminator, D outputs probabilities?) exactly as Gan.generatorOf / discriminatorOf."""
    lrelu = lambda s: (lambda: nn.LeakyReLU(s))
    if arch == "mlp-a":
        g = nn.Sequential(*mlp([z, 256, 512, 784], lrelu(0.1), nn.Tanh), Reshape(1, 28, 28))
        d = nn.Sequential(nn.Flatten(), *mlp([784, 256, 128, 1], lrelu(0.1), nn.Sigmoid))
        return g, d, True
    if arch == "mlp-c":
        g = nn.Sequential(*mlp([z, 1024, 1024, 784], nn.ReLU, nn.Tanh), Reshape(1, 28, 28))
        d = nn.Sequential(nn.Flatten(), *mlp([784, 256, 256, 1], lrelu(0.2), None))
        return g, d, False
    if arch == "dcgan-a":
        g = nn.Sequential(
            nn.Linear(z, 1024), nn.ReLU(), nn.BatchNorm1d(1024),
            nn.Linear(1024, 7 * 7 * 128), nn.ReLU(), nn.BatchNorm1d(7 * 7 * 128),
            Reshape(128, 7, 7),
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.ReLU(), nn.BatchNorm2d(64),
            nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1), nn.Tanh())
        d = nn.Sequential(
            nn.Conv2d(1, 32, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1024, 1024), nn.LeakyReLU(0.01), nn.Linear(1024, 1))
        return g, d, False
    if arch == "dcgan-b":
        g = glorot(nn.Sequential(
            nn.Linear(z, 1024), nn.Tanh(),
            nn.Linear(1024, 128 * 7 * 7), nn.BatchNorm1d(128 * 7 * 7, eps=1e-3, momentum=0.01), nn.Tanh(),
            Reshape(128, 7, 7),
            nn.Upsample(scale_factor=2), nn.Conv2d(128, 64, 5, padding=2), nn.Tanh(),
            nn.Upsample(scale_factor=2), nn.Conv2d(64, 1, 5, padding=2), nn.Tanh()))
        d = glorot(nn.Sequential(
            nn.Conv2d(1, 64, 5, padding=2), nn.Tanh(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 5), nn.Tanh(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(3200, 1024), nn.Tanh(), nn.Linear(1024, 1), nn.Sigmoid()))
        return g, d, True
    raise ValueError(arch)


def bce(d, label, probabilities):
    target = torch.full_like(d, label)
    return F.binary_cross_entropy(d, target) if probabilities else F.binary_cross_entropy_with_logits(d, target)


def losses(name, probabilities):
    """(D loss, G loss) as GanLoss.nonSaturating and GanLoss.leastSquares."""
    if name == "non-saturating":
        return (lambda r, f: bce(r, 1.0, probabilities) + bce(f, 0.0, probabilities),
                lambda f: bce(f, 1.0, probabilities))
    if name == "least-squares":
        return (lambda r, f: 0.5 * (((r - 1.0) ** 2).mean() + (f ** 2).mean()),
                lambda f: 0.5 * ((f - 1.0) ** 2).mean())
    if name == "hinge":
        return (lambda r, f: F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean(),
                lambda f: -f.mean())
    raise ValueError(name)


def noise(kind, count, z, generator=None):
    if kind == "normal":
        return torch.randn(count, z, generator=generator)
    return torch.rand(count, z, generator=generator) * 2.0 - 1.0


def run(spec):
    """spec: dict(arch, z, noise, loss, d_scale, flip, optimizer(params) -> optim) and optionally
    spectral_norm (bool), minibatch_stddev (bool) and ema (decay, 0: off)."""
    options = bench_support.parse_options()

    torch.manual_seed(0)
    images, labels = bench_support.training_split(options.data, "minus-one-one")
    z = spec["z"]
    g, d, probabilities = networks(spec["arch"], z)
    # The library builds the wider output layer in place (its weights come from the same stream, in a different
    # order); speed, not the initial weights, is what the bench compares.
    if spec.get("minibatch_stddev"):
        d = with_minibatch_stddev(d)
    if spec.get("spectral_norm"):
        d = spectrally_normalised(d)
    noise(spec["noise"], 64, z)  # the fixed noise batch, drawn at creation as Gan.create does
    decay = spec.get("ema", 0.0)
    ema = copy.deepcopy(g) if decay > 0 else None
    if ema is not None:
        for q in ema.parameters():
            q.requires_grad_(False)
    d_loss_of, g_loss_of = losses(spec["loss"], probabilities)
    g_opt = spec["optimizer"](g.parameters())
    d_opt = spec["optimizer"](d.parameters())
    g.train()
    d.train()

    def step(idx):
        real = images.index_select(0, idx)
        labels.index_select(0, idx)
        if spec["flip"] > 0:
            mask = torch.rand(real.shape[0]) < spec["flip"]
            real = torch.where(mask.reshape(-1, 1, 1, 1), real.flip(3), real)
        fake = g(noise(spec["noise"], real.shape[0], z))
        # D update on the real batch and the detached fakes.
        d_opt.zero_grad()
        d_real = d(real)
        d_fake = d(fake.detach())
        d_loss = d_loss_of(d_real, d_fake) * spec["d_scale"]
        d_loss.backward()
        d_opt.step()
        # G update through the frozen D.
        for q in d.parameters():
            q.requires_grad_(False)
        g_opt.zero_grad()
        g_loss = g_loss_of(d(fake))
        g_loss.backward()
        g_opt.step()
        for q in d.parameters():
            q.requires_grad_(True)
        if ema is not None:
            with torch.no_grad():
                for average, current in zip(ema.parameters(), g.parameters()):
                    average.mul_(decay).add_(current, alpha=1.0 - decay)
                for average, current in zip(ema.buffers(), g.buffers()):
                    average.copy_(current)
        # The four terms are read back every step, as the library does; final_loss is the G loss's.
        d_loss.item(), d_real.mean().item(), d_fake.mean().item()
        return g_loss.item()

    g_losses, steps_per_second = bench_support.timed_steps(options, images.shape[0], step)

    samples_path = os.environ.get("GENERATIVE_BENCH_SAMPLES")
    if samples_path:
        # 10,000 samples in evaluation mode from a fixed noise seed (as the F# worker), written as raw float32, from
        # the moving average when there is one.
        g = ema if ema is not None else g
        g.eval()
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad(), open(samples_path, "wb") as f:
            for _ in range(20):
                f.write(g(noise(spec["noise"], 500, z, gen)).contiguous().numpy().astype(np.float32).tobytes())

    bench_support.print_measurement(options, bench_support.mnist_kind(options.data), steps_per_second, g_losses, {})
