"""PyTorch reference for the bench's `aae-s` case (AAE-S: the decoder reads [one-hot label, code]): see aae_common.py.

    /usr/bin/python3 aae_s.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data MNIST_DIR]
"""
import aae_common

if __name__ == "__main__":
    aae_common.run(supervised=True)
