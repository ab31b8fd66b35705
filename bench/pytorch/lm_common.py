"""Shared by the language-model family's PyTorch reference scripts (char_lstm): reading the text, the contiguous
train/validation/test split, the character vocabulary, the stateful (truncated-BPTT) batch layout, the validation
cross-entropy and temperature sampling. The spec both sides follow is bench/lm/README.md.

A model here is any module whose forward is `model(inputs [B,T] int64, state) -> (logits [B,T,V], state)`, with
`model.zero_state(rows)` giving the state at the start of a stream.
"""
import math

import torch
from torch import nn

DEFAULT_TEXT = "/work/shared/data/tinyshakespeare.txt"
UNKNOWN = 0  # index of the unknown token
EVAL_ROWS = 16  # rows of the validation layout


def read_text(path):
    """The file as a str of Unicode code points: bytes decoded as UTF-8 with no newline translation ("\\r\\n"
    stays two characters); a leading byte-order mark is dropped (as .NET's File.ReadAllText does) and invalid bytes
    become U+FFFD."""
    with open(path, "rb") as f:
        data = f.read()
    return data.decode("utf-8-sig", errors="replace")


def cut_point(text, percent):
    """The raw position len*percent/100 (integer division), moved to just after the next '\\n' at or after it;
    the raw position when no '\\n' follows."""
    raw = len(text) * percent // 100
    newline = text.find("\n", raw)
    return raw if newline < 0 else newline + 1


def split(text):
    """(train, validation, test): contiguous parts cut at 90% and 95% (see cut_point)."""
    c1, c2 = cut_point(text, 90), cut_point(text, 95)
    return text[:c1], text[c1:c2], text[c2:]


class Vocabulary:
    """Index 0 is the unknown token; then every distinct character of the training text by code point."""

    def __init__(self, train):
        self.chars = sorted(set(train))
        self.index = {ch: i + 1 for i, ch in enumerate(self.chars)}

    def __len__(self):
        return len(self.chars) + 1

    def encode(self, text):
        """The text as an int64 token stream; characters outside the vocabulary are 0."""
        return torch.tensor([self.index.get(ch, UNKNOWN) for ch in text], dtype=torch.int64)

    def decode(self, tokens):
        """Tokens back to text; the unknown token prints as U+FFFD."""
        return "".join(self.chars[t - 1] if t > 0 else "\ufffd" for t in tokens)


class StatefulLayout:
    """A token stream laid out in `rows` rows for truncated BPTT: row length L = (N-1)//rows, row r holds inputs
    t[r*L + j] and targets t[r*L + j + 1] for j in [0, L); chunk k (0-based) is columns [k*T, (k+1)*T), and there
    are L//T chunks (the tail of each row is dropped)."""

    def __init__(self, stream, rows, seq_len):
        self.rows, self.seq_len = rows, seq_len
        self.row_length = (stream.shape[0] - 1) // rows
        used = rows * self.row_length
        self.inputs = stream[:used].reshape(rows, self.row_length)
        self.targets = stream[1:used + 1].reshape(rows, self.row_length)
        self.chunks = self.row_length // seq_len

    def chunk(self, k):
        """(inputs, targets) of chunk k, [rows, T] each."""
        cols = slice(k * self.seq_len, (k + 1) * self.seq_len)
        return self.inputs[:, cols], self.targets[:, cols]


def detach(state):
    return tuple(s.detach() for s in state)


def chunk_loss(logits, targets, reduction="mean"):
    """Cross-entropy over every position of a [B,T,V] chunk (logits reshaped to [B*T, V])."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction=reduction)


def validation_nats(model, layout):
    """Mean cross-entropy (nats per character) over every position of the layout's chunks: evaluation mode, no
    gradient, the state from zero carried across chunks. Puts the model back in training mode."""
    if layout.chunks == 0:
        raise ValueError("the validation text is too short for %d rows of %d characters" % (layout.rows, layout.seq_len))
    model.eval()
    total = 0.0
    with torch.no_grad():
        state = model.zero_state(layout.rows)
        for k in range(layout.chunks):
            x, y = layout.chunk(k)
            logits, state = model(x, state)
            total += chunk_loss(logits, y, reduction="sum").item()
    model.train()
    return total / (layout.chunks * layout.seq_len * layout.rows)


def bits(nats):
    return nats / math.log(2.0)


def sample(model, vocab, prime, count, temperature, seed):
    """`count` characters generated after `prime` (one row, state from zero, evaluation mode): each next character
    drawn by torch.multinomial from softmax(logits / temperature) with a torch.Generator seeded with `seed`."""
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    out = []
    with torch.no_grad():
        state = model.zero_state(1)
        x = vocab.encode(prime).reshape(1, -1)
        for _ in range(count):
            logits, state = model(x, state)
            probs = torch.softmax(logits[0, -1] / temperature, dim=-1)
            token = torch.multinomial(probs, 1, generator=generator)
            out.append(int(token))
            x = token.reshape(1, 1)
    model.train()
    return vocab.decode(out)
