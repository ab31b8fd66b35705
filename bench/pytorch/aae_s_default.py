"""PyTorch reference for the bench's `aae-s-default` case (the library's AAE-S default, Aae.supervised: the source's
AAE-S with the encoder's adversarial phase at Adam 1e-3, D on logits, the label tied to the prior): see aae_common.py.

    /usr/bin/python3 aae_s_default.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data MNIST_DIR]
"""
import aae_common

if __name__ == "__main__":
    aae_common.run(supervised=True, library_default=True)
