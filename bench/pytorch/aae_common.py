"""Shared by the adversarial autoencoders' PyTorch reference scripts (aae.py: AAE-U, aae_s.py: AAE-S).

Mirrors the library's Models/AdversarialAutoencoder.fs (Aae.create, Aae.trainer): after torch.manual_seed(0) and the
data (bench_support.training_split, [0,1] images), the encoder 784-392-392-10, the decoder 10(+10: the one-hot label
first, AAE-S)-392-392-784 with a sigmoid, and the discriminator 10-1500-1500-1 with a sigmoid are created in that
order, every hidden layer Linear -> Dropout(0.2) -> ReLU. Each step runs the three phases on the batch:
  1. reconstruction: BCE (mean per pixel) of decoder(encoder(x)); Adam 1e-3 over encoder and decoder;
  2. discriminator: codes of the encoder in evaluation mode without gradients, then N(0, 5^2 I) prior codes from the
     global generator; loss BCE(D(prior), 1) + BCE(D(codes), 0); Adam 1e-3 over D;
  3. generator: the encoder (training mode) against the frozen D, BCE(D(encoder(x)), 1); Adam 1e-4 over the encoder.
Every phase's terms are read back as numbers every step, as the library does; "final_loss" is the reconstruction
term's. Data order: bench_support.timed_steps (Batches.permutation of the library).

After training, in evaluation mode on real data (the F# worker, Cases.aae, measures the same): test reconstruction
BCE and MSE per pixel, the 5-NN label accuracy of the 10,000 test codes against the 60,000 training codes (Euclidean,
majority vote, ties to the smaller label), the test codes' distance to the prior's mean and the relative Frobenius
error of their covariance against 25 I. 10,000 prior samples (generator seeded 0, 20 batches of 500 codes, image i
with label i mod 10 for AAE-S, as Aae.sampleWith) are decoded and written as raw float32 [N,1,28,28] in [-1,1] to
$GENERATIVE_BENCH_SAMPLES (when set): the F# harness scores them with the same feature network as its own.

`run(supervised, library_default=True)` trains the library's AAE-S default (Aae.supervised) instead of the source's:
the encoder's adversarial phase at Adam 1e-3, a discriminator on logits (no sigmoid; BCE with logits), and the label
tied to the prior: D reads [code, one-hot label of 11 classes] (10 digits and an unused "no label" class) and each
prior code is drawn after torch.randint(0, 10, (N,)), the components Aae.priorSample draws for unlabelled images
(unused here: every image is labelled; the Gaussian prior is the same for every label).

For a check run only: $GENERATIVE_BENCH_DROPOUT overrides the dropout probability (0: both sides then compute the
same numbers, which shows the same initial weights and data order), and $GENERATIVE_BENCH_TRACE=N prints the first
N steps' terms to stderr (the F# worker prints the same lines).
"""
import os
import sys

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

import bench_support

HIDDEN = 392
CODE = 10
D_WIDTH = 1500
CLASSES = 10
PRIOR_STD = 5.0
NEIGHBOURS = 5
SAMPLES = 10000


def perceptron(widths, dropout, output):
    """Aae's perceptron: Linear layers through `widths`, each hidden one followed by Dropout and ReLU, the last by
    `output` (None: nothing)."""
    layers = []
    pairs = list(zip(widths, widths[1:]))
    for i, (a, b) in enumerate(pairs):
        layers.append(nn.Linear(a, b))
        if i < len(pairs) - 1:
            layers += [nn.Dropout(dropout), nn.ReLU()]
        elif output is not None:
            layers.append(output)
    return nn.Sequential(*layers)


class Aae:
    """The three networks of Aae.create, created in its order (encoder, decoder, discriminator)."""

    def __init__(self, supervised, dropout, tie_labels=False, logits=False):
        self.supervised = supervised
        self.tie_labels = tie_labels
        self.logits = logits
        self.encoder = perceptron([784, HIDDEN, HIDDEN, CODE], dropout, None)
        self.decoder = perceptron([CODE + (CLASSES if supervised else 0), HIDDEN, HIDDEN, 784], dropout, nn.Sigmoid())
        d_input = CODE + (CLASSES + 1 if tie_labels else 0)
        self.discriminator = perceptron([d_input, D_WIDTH, D_WIDTH, 1], dropout, None if logits else nn.Sigmoid())

    def modules(self):
        return [self.encoder, self.decoder, self.discriminator]

    def encode(self, x):
        return self.encoder(x.flatten(1))

    def decode(self, z, labels):
        """Pixels [N, 784]: for AAE-S the decoder reads [one-hot label, code]."""
        if self.supervised:
            z = torch.cat([F.one_hot(labels, CLASSES).float(), z], 1)
        return self.decoder(z)

    def discriminate(self, z, labels):
        """D's last layer [N, 1] (a probability, or a logit when `logits`); it also reads the label when tied."""
        if self.tie_labels:
            z = torch.cat([z, F.one_hot(labels, CLASSES + 1).float()], 1)
        return self.discriminator(z)

    def d_bce(self, output, target):
        """BCE of D's output against a constant target, on probabilities or logits."""
        t = torch.full_like(output, target)
        if self.logits:
            return F.binary_cross_entropy_with_logits(output, t)
        return F.binary_cross_entropy(output, t)

    def probability(self, output):
        return output.sigmoid() if self.logits else output

    def prior(self, n):
        """Prior codes for a batch of n, drawn from the global generator as Aae.priorSample draws them."""
        if self.tie_labels:
            torch.randint(0, CLASSES, (n,))
        return torch.randn(n, CODE) * PRIOR_STD


def trace_line(step, terms):
    return "step %d %s" % (step, " ".join("%s=%.8f" % (k, terms[k]) for k in sorted(terms)))


def knn_accuracy(k, train_codes, train_labels, test_codes, test_labels, chunk=128):
    """Share of test codes whose k nearest training codes (Euclidean, float64) vote for their label; ties of the vote
    go to the smaller label (argmax's first maximum). Queries in chunks of `chunk`, so only a [chunk, 60000] matrix of
    squared distances is held."""
    reference = train_codes.double()
    reference_sq = (reference * reference).sum(1)
    correct = 0
    with torch.no_grad():
        for start in range(0, test_codes.shape[0], chunk):
            q = test_codes[start:start + chunk].double()
            d = q.matmul(reference.t())
            d.mul_(-2.0).add_(reference_sq.unsqueeze(0)).add_((q * q).sum(1, keepdim=True))
            nearest = d.topk(k, 1, largest=False).indices
            votes = F.one_hot(train_labels[nearest], CLASSES).sum(1)
            correct += int((votes.argmax(1) == test_labels[start:start + chunk]).sum())
    return correct / test_codes.shape[0]


def prior_match(codes):
    """AdversarialAutoencoderEntries.priorMatch for N(0, 5^2 I): |mean|, ||cov - 25 I||_F / ||25 I||_F."""
    z = codes.double()
    mean = z.mean(0)
    centred = z - mean
    covariance = centred.t().matmul(centred) / (z.shape[0] - 1)
    prior = torch.eye(CODE, dtype=torch.float64) * PRIOR_STD ** 2
    return float(mean.norm()), float((covariance - prior).norm() / prior.norm())


def codes_of(m, images):
    with torch.no_grad():
        return torch.cat([m.encode(images[s:s + 1000]) for s in range(0, images.shape[0], 1000)], 0)


def test_metrics(m, folder, train_images, train_labels):
    """The F# worker's metrics (Cases.aae), the networks in evaluation mode."""
    test, test_labels = bench_support.load_split(folder, "t10k")
    bce = mse = 0.0
    with torch.no_grad():
        for s in range(0, test.shape[0], 1000):
            x = test[s:s + 1000]
            r = m.decode(m.encode(x), test_labels[s:s + 1000]).reshape(x.shape)
            bce += float(F.binary_cross_entropy(r, x)) * x.shape[0]
            mse += float(F.mse_loss(r, x)) * x.shape[0]
    test_codes = codes_of(m, test)
    train_codes = codes_of(m, train_images)
    mean_distance, covariance_error = prior_match(test_codes)
    return {
        "test MSE per pixel": mse / test.shape[0],
        "test reconstruction BCE": bce / test.shape[0],
        "test code %d-NN accuracy" % NEIGHBOURS: knn_accuracy(NEIGHBOURS, train_codes, train_labels, test_codes,
                                                               test_labels),
        "test code mean distance to the prior's": mean_distance,
        "test code covariance error": covariance_error,
    }


def write_samples(m, path):
    """SAMPLES decoded prior samples as Aae.sampleWith draws them in Quality.measure's batches of 500 (labels
    i mod 10, then the codes, from one generator seeded 0), written as raw float32 in [-1,1]."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad(), open(path, "wb") as f:
        for _ in range(SAMPLES // 500):
            labels = torch.arange(500) % CLASSES
            z = torch.randn(500, CODE, generator=g) * PRIOR_STD
            x = m.decode(z, labels) * 2.0 - 1.0
            f.write(x.contiguous().numpy().astype(np.float32).tobytes())


def run(supervised, library_default=False):
    options = bench_support.parse_options()
    dropout = float(os.environ.get("GENERATIVE_BENCH_DROPOUT", "0.2"))
    trace = int(os.environ.get("GENERATIVE_BENCH_TRACE", "0"))

    # Same order as the F# worker: seed, data, then the networks (Aae.create's order).
    torch.manual_seed(0)
    images, labels = bench_support.training_split(options.data)
    m = Aae(supervised, dropout, tie_labels=library_default, logits=library_default)
    reconstruction_opt = torch.optim.Adam(list(m.encoder.parameters()) + list(m.decoder.parameters()), lr=1e-3)
    discriminator_opt = torch.optim.Adam(m.discriminator.parameters(), lr=1e-3)
    generator_opt = torch.optim.Adam(m.encoder.parameters(), lr=1e-3 if library_default else 1e-4)
    for net in m.modules():
        net.train()
    steps = [0]

    def step(idx):
        x = images.index_select(0, idx)
        y = labels.index_select(0, idx)
        # 1. Reconstruction: encoder and decoder.
        reconstruction_opt.zero_grad()
        r = m.decode(m.encode(x), y).reshape(x.shape)
        reconstruction = F.binary_cross_entropy(r, x)
        reconstruction.backward()
        reconstruction_opt.step()
        # 2. Discriminator: prior codes real, the encoder's (evaluation mode, no gradients) fake.
        m.encoder.eval()
        with torch.no_grad():
            codes = m.encode(x)
        m.encoder.train()
        prior = m.prior(x.shape[0])
        discriminator_opt.zero_grad()
        d_prior = m.discriminate(prior, y)
        d_code = m.discriminate(codes, y)
        d_loss = m.d_bce(d_prior, 1.0) + m.d_bce(d_code, 0.0)
        d_loss.backward()
        discriminator_opt.step()
        terms = {"reconstruction": reconstruction.item(), "d_loss": d_loss.item(),
                 "d_prior": m.probability(d_prior).mean().item(), "d_code": m.probability(d_code).mean().item()}
        # 3. Generator: the encoder fools the frozen discriminator.
        for q in m.discriminator.parameters():
            q.requires_grad_(False)
        generator_opt.zero_grad()
        d = m.discriminate(m.encode(x), y)
        g_loss = m.d_bce(d, 1.0) * 1.0
        g_loss.backward()
        generator_opt.step()
        for q in m.discriminator.parameters():
            q.requires_grad_(True)
        terms["g_loss"] = g_loss.item()
        steps[0] += 1
        if steps[0] <= trace:
            print(trace_line(steps[0], terms), file=sys.stderr)
        return terms["reconstruction"]

    losses, steps_per_second = bench_support.timed_steps(options, images.shape[0], step)

    metrics = {}
    if options.data:
        for net in m.modules():
            net.eval()
        metrics = test_metrics(m, options.data, images, labels)
        samples_path = os.environ.get("GENERATIVE_BENCH_SAMPLES")
        if samples_path:
            write_samples(m, samples_path)
    bench_support.print_measurement(options, bench_support.mnist_kind(options.data), steps_per_second, losses,
                                    metrics)
