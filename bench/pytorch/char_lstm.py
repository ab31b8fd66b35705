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
    p = lm_common.options_parser(__doc__.split("\n\n")[0], lm_common.DEFAULT_TEXT, seq_len=100, embedding=128, hidden=256,
                                 dropout=0.2)
    a = p.parse_args()
    if os.path.isdir(a.text):
        a.text = os.path.join(a.text, os.path.basename(lm_common.DEFAULT_TEXT))
    lm_common.check_options(p, a)
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
    losses, curve, timed, val_nats = lm_common.train(model, train, o, lambda: lm_common.validation_nats(model, validation))

    steps_per_second = (o.steps - o.warmup) / timed
    print(json.dumps({
        **lm_common.measurement(o, steps_per_second, losses),
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
