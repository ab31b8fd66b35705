"""PyTorch reference for the bench's `aae` case (AAE-U, unsupervised adversarial autoencoder): see aae_common.py.

    /usr/bin/python3 aae.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data MNIST_DIR]
"""
import aae_common

if __name__ == "__main__":
    aae_common.run(supervised=False)
