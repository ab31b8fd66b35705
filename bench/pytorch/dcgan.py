"""PyTorch reference for the bench's `dcgan` case (DCGAN-A): see gan_common.py."""
import torch
import gan_common

if __name__ == "__main__":
    gan_common.run(dict(arch="dcgan-a", z=96, noise="uniform", loss="non-saturating", d_scale=1.0, flip=0.0,
                        optimizer=lambda ps: torch.optim.Adam(ps, lr=3e-4, betas=(0.5, 0.999))))
