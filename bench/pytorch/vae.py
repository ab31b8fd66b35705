"""PyTorch reference for the bench's `vae` case (VAE), the source's network: fc1 784-400 ReLU, fc21/fc22 400-20 (mu,
logvar), fc3 20-400 ReLU, fc4 400-784 Tanh, z = mu + eps * exp(logvar / 2); loss sum((x_hat - x)^2) + KL per image,
averaged over the batch; Adam 1e-3; [-1,1] data; batch 128. Test metrics as the library's: MSE of the decoded
posterior means, the reconstruction term with one z per image, the closed-form KL, their sum (the loss) and the
negative ELBO in nats for the Gaussian of variance 1/2 ((D/2) log pi added).

    /usr/bin/python3 vae.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data MNIST_DIR]
"""
import math

import torch
from torch import nn

import common


class Vae(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h = torch.relu(self.fc1(x.flatten(1)))
        return self.fc21(h), self.fc22(h)

    def decode(self, z, shape):
        return torch.tanh(self.fc4(torch.relu(self.fc3(z)))).reshape(shape)


def kl(mu, logvar):
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def build():
    model = Vae()
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def loss_of(model, x):
    mu, logvar = model.encode(x)
    z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
    r = model.decode(z, x.shape)
    return (nn.functional.mse_loss(r, x, reduction="sum") + kl(mu, logvar).sum()) / x.shape[0]


def test_metrics(model, test):
    g = torch.Generator().manual_seed(0)

    def recon(b):
        mu, logvar = model.encode(b)
        z = mu + torch.randn(mu.shape, generator=g) * torch.exp(0.5 * logvar)
        return ((model.decode(z, b.shape) - b) ** 2).flatten(1).sum(1).mean()

    mse = common.mean_over(test, 1000, lambda b: nn.functional.mse_loss(model.decode(model.encode(b)[0], b.shape), b))
    r = common.mean_over(test, 500, recon)
    k = common.mean_over(test, 500, lambda b: kl(*model.encode(b)).mean())
    return {
        "test MSE per pixel": mse,
        "test reconstruction term": r,
        "test KL": k,
        "test loss": r + k,
        "test negative ELBO (nats)": r + 0.5 * 784 * math.log(math.pi) + k,
    }


if __name__ == "__main__":
    common.run(build, loss_of, test_metrics, "minus-one-one")
