"""PyTorch reference for the bench's `cls-lenet` case: CLS-LENET (LeNet-5, tanh, max pooling; Adam 1e-3;
pixels in [0,1]).

    /usr/bin/python3 cls_lenet.py [--steps N] [--warmup W] [--batch-size B] [--threads T] [--data FOLDER]
"""
import classifiers

if __name__ == "__main__":
    classifiers.main(classifiers.lenet5)
