"""PyTorch reference for the bench's `cls-cnn` case: two blocks of two convolutions with batch norm, dropout, shift/flip
augmentation; Adam 1e-3; pixels standardised with mean 0.1307 and std 0.3081 (the catalog's "mean-std").

    /usr/bin/python3 cls_cnn.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data FOLDER]
"""
import classifiers

if __name__ == "__main__":
    classifiers.main(classifiers.bn_cnn, shift=2, flip=True, mean=0.1307, std=0.3081)
