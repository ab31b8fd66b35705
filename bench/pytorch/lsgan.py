"""PyTorch reference for the bench's `lsgan` case (GAN-MLP-C's networks, least-squares loss): see gan_common.py."""
import torch
import gan_common

if __name__ == "__main__":
    gan_common.run(dict(arch="mlp-c", z=96, noise="uniform", loss="least-squares", d_scale=1.0, flip=0.0,
                        optimizer=lambda ps: torch.optim.Adam(ps, lr=3e-4, betas=(0.5, 0.999))))
