"""PyTorch reference for the bench's `gan-mlp` case (GAN-MLP-A): see gan_common.py."""
import torch
import gan_common

if __name__ == "__main__":
    gan_common.run(dict(arch="mlp-a", z=64, noise="normal", loss="non-saturating", d_scale=0.5, flip=0.5,
                        optimizer=lambda ps: torch.optim.Adam(ps, lr=3e-4)))
