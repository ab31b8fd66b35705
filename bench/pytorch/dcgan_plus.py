"""PyTorch reference for the bench's `dcgan-plus` case (DCGAN-A with the hinge loss, spectral norm on D and a
moving average of G, decay 0.995): see gan_common.py."""
import torch
import gan_common

if __name__ == "__main__":
    gan_common.run(dict(arch="dcgan-a", z=96, noise="uniform", loss="hinge", d_scale=1.0, flip=0.0,
                        spectral_norm=True, ema=0.995,
                        optimizer=lambda ps: torch.optim.Adam(ps, lr=3e-4, betas=(0.5, 0.999))))
