"""PyTorch reference for the bench's `ae-conv` case (AE-CONV), the source's network:
encoder Conv2d(1,16,3,s3,p1) ReLU MaxPool(2,s2) Conv2d(16,8,3,s2,p1) ReLU MaxPool(2,s1);
decoder ConvT(8,16,3,s2) ReLU ConvT(16,8,5,s3,p1) ReLU ConvT(8,1,2,s2,p1) Tanh;
MSE summed over pixels and averaged over the batch, Adam lr 1e-3 weight decay 1e-5, [-1,1] data, batch 128.

    /usr/bin/python3 ae_conv.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data MNIST_DIR]
"""
import torch
from torch import nn

import common


class ConvAutoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=3, padding=1), nn.ReLU(), nn.MaxPool2d(2, stride=2),
            nn.Conv2d(16, 8, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(2, stride=1))
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(8, 16, 3, stride=2), nn.ReLU(),
            nn.ConvTranspose2d(16, 8, 5, stride=3, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 2, stride=2, padding=1), nn.Tanh())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def build():
    model = ConvAutoencoder()
    return model, torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)


if __name__ == "__main__":
    common.run(build, common.summed_per_image_loss, common.summed_per_image_metrics, "minus-one-one")
