"""PyTorch reference for the bench's `gan-mlp-plus` case (GAN-MLP-C with the hinge loss, the minibatch standard
deviation before D's output layer and a moving average of G, decay 0.999): see gan_common.py."""
import torch
import gan_common

if __name__ == "__main__":
    gan_common.run(dict(arch="mlp-c", z=96, noise="uniform", loss="hinge", d_scale=1.0, flip=0.0,
                        minibatch_stddev=True, ema=0.999,
                        optimizer=lambda ps: torch.optim.Adam(ps, lr=3e-4, betas=(0.5, 0.999))))
