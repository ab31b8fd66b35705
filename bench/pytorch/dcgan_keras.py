"""PyTorch reference for the bench's `dcgan-keras` case (DCGAN-B): see gan_common.py."""
import torch
import gan_common

if __name__ == "__main__":
    gan_common.run(dict(arch="dcgan-b", z=100, noise="uniform", loss="non-saturating", d_scale=0.5, flip=0.0,
                        optimizer=lambda ps: torch.optim.SGD(ps, lr=5e-4, momentum=0.9, nesterov=True)))
