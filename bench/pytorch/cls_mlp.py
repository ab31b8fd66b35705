"""PyTorch reference for the bench's `cls-mlp` case: CLS-MLP (Flatten, Dense 128 ReLU, Dense 10; Adam 1e-3;
pixels in [0,1]).

    /usr/bin/python3 cls_mlp.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data FOLDER]
"""
import classifiers

if __name__ == "__main__":
    classifiers.main(classifiers.mlp)
