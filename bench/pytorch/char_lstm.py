"""PyTorch reference for the bench's character-level LSTM language model (LM-LSTM; the spec is bench/lm/README.md):
Embedding(V, E), LSTM(E, H, layers, dropout p, batch_first), Dropout(p), Linear(H, V); Adam, gradient clipping by
global norm, truncated BPTT over a stateful batch layout; validation nats per character at the end (and every K
steps with --eval-every K).

    /usr/bin/python3 char_lstm.py [--text FILE] [--steps N] [--warmup W] [--threads T] [--batch-size B]
        [--seq-len T] [--hidden H] [--layers L] [--embedding E] [--dropout P] [--lr LR] [--clip C] [--seed S]
        [--eval-every K] [--sample N]

Prints one JSON line (bench/Measurement.fs's keys, plus the language-model figures) on stdout; --sample N prints
N generated characters after "ROMEO:" on stderr.
"""
import argparse
import json
import os
import sys
import time

import torch
from torch import nn

import bench_support
import lm_common

PRIME = "ROMEO:"
TEMPERATURE = 0.8


class CharLstm(nn.Module):
    """Embedding, LSTM (dropout between its layers), dropout on its output, linear head; created in that order."""

    def __init__(self, vocab, embedding, hidden, layers, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding)
        self.lstm = nn.LSTM(embedding, hidden, num_layers=layers, dropout=dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab)

    def zero_state(self, rows):
        shape = (self.lstm.num_layers, rows, self.lstm.hidden_size)
        return torch.zeros(shape), torch.zeros(shape)

    def forward(self, x, state):
        out, state = self.lstm(self.embedding(x), state)
        return self.head(self.dropout(out)), state


def parse_options():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # --data: the name the bench harness passes (Harness.settingsArgs); a file, or a folder holding the default's name
    p.add_argument("--text", "--data", dest="text", default=lm_common.DEFAULT_TEXT)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=100)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--embedding", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=0)
    p.add_argument("--sample", type=int, default=0)
    a = p.parse_args()
    if os.path.isdir(a.text):
        a.text = os.path.join(a.text, os.path.basename(lm_common.DEFAULT_TEXT))
    if not 0 <= a.warmup < a.steps:
        p.error("need 0 <= --warmup < --steps")
    torch.set_num_threads(a.threads)
    return a


def main():
    o = parse_options()
    train_text, validation_text, _ = lm_common.split(lm_common.read_text(o.text))
    vocab = lm_common.Vocabulary(train_text)
    train = lm_common.StatefulLayout(vocab.encode(train_text), o.batch_size, o.seq_len)
    validation = lm_common.StatefulLayout(vocab.encode(validation_text), lm_common.EVAL_ROWS, o.seq_len)
    for name, layout in (("training", train), ("validation", validation)):
        if layout.chunks == 0:
            sys.exit("the %s text is too short for %d rows of %d characters" % (name, layout.rows, o.seq_len))

    torch.manual_seed(o.seed)
    model = CharLstm(len(vocab), o.embedding, o.hidden, o.layers, o.dropout)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=o.lr)

    def step(x, y, state):
        opt.zero_grad()
        logits, state = model(x, state)
        loss = lm_common.chunk_loss(logits, y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), o.clip)
        opt.step()
        return loss.item(), lm_common.detach(state)

    losses, curve = [], []
    timed = 0.0  # seconds of the steps after the warm-up, evaluations excluded
    clock = time.perf_counter() if o.warmup == 0 else None  # start of the running timed stretch, None: stopped
    state = None
    for g in range(o.steps):
        k = g % train.chunks
        if k == 0:
            state = model.zero_state(o.batch_size)  # every epoch starts from a zero state
        x, y = train.chunk(k)
        loss, state = step(x, y, state)
        losses.append(loss)
        done = g + 1
        if done == o.warmup:
            clock = time.perf_counter()
        if o.eval_every > 0 and done % o.eval_every == 0:
            running = clock is not None
            if running:
                timed += time.perf_counter() - clock
            curve.append((done, lm_common.validation_nats(model, validation)))
            if running:
                clock = time.perf_counter()
    timed += time.perf_counter() - clock

    val_nats = curve[-1][1] if curve and curve[-1][0] == o.steps else lm_common.validation_nats(model, validation)
    if o.eval_every > 0 and curve[-1:] != [(o.steps, val_nats)]:
        curve.append((o.steps, val_nats))
    steps_per_second = (o.steps - o.warmup) / timed
    window = min(bench_support.LOSS_WINDOW, o.steps)
    print(json.dumps({
        "implementation": "PyTorch (Python)",
        "version": "PyTorch %s / Python %s" % (torch.__version__, ".".join(map(str, sys.version_info[:3]))),
        "threads": o.threads,
        "steps": o.steps,
        "warmup": o.warmup,
        "batch_size": o.batch_size,
        "data": os.path.basename(o.text),
        "steps_per_second": steps_per_second,
        "peak_rss_mb": bench_support.proc_status_mb("VmHWM"),
        "rss_mb": bench_support.proc_status_mb("VmRSS"),
        "final_loss": sum(losses[-window:]) / window,
        "metrics": {"validation nats/char": val_nats, "validation bits/char": lm_common.bits(val_nats)},
        "seq_len": o.seq_len,
        "vocabulary": len(vocab),
        "epoch_steps": train.chunks,
        "train_seconds": timed,
        "chars_per_second": steps_per_second * o.batch_size * o.seq_len,
        "first_loss": losses[0],
        "val_nats": val_nats,
        "val_bits": lm_common.bits(val_nats),
        "val_curve": curve,
    }), flush=True)

    if o.sample > 0:
        text = lm_common.sample(model, vocab, PRIME, o.sample, TEMPERATURE, o.seed)
        print(PRIME + text, file=sys.stderr)


if __name__ == "__main__":
    main()
