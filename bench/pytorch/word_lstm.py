"""PyTorch reference for the bench's word-level LSTM language model (LM-LSTM at the word level, the library's
LanguageModel.words; the spec is bench/lm/README.md): lower-cased words seen at least 3 times (at most 10,000 tokens,
"<unk>" included), Embedding(V, 256), LSTM(256, 256, 2 layers, dropout 0.3, batch_first), Dropout(0.3), output layer
tied to the embedding (F.linear with the embedding matrix and a bias of its own); Adam 2e-3, gradient clipping by
global norm 5, truncated BPTT over a stateful batch layout (64 rows of 35 words); validation and test nats per word
(the library's meanCrossEntropy) and perplexity, and the unigram and bigram baselines' test perplexity.

    /usr/bin/python3 word_lstm.py [--text FILE] [--steps N] [--warmup W] [--threads T] [--batch-size B]
        [--seq-len T] [--hidden H] [--layers L] [--embedding E] [--dropout P] [--lr LR] [--clip C] [--seed S]
        [--eval-every K] [--sample N] [--[no-]lower-case] [--min-count C] [--max-vocabulary M] [--[no-]tie-weights]
        [--tokenize-only]

Prints the tokenisation's figures on stderr, then one JSON line (bench/Measurement.fs's keys, plus the language-model
figures) on stdout; --tokenize-only prints the figures as a JSON line instead and trains nothing; --sample N prints
N generated words after a line break on stderr.
"""
import argparse
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch
from torch import nn

import bench_support
import lm_common

CORPUS_FILE = "jargon.txt"  # the library's "jargon" corpus (Fetch.known), raw or gzipped
SYSTEM_FOLDER = "/usr/share/doc/jargon-text"  # Debian's jargon-text, where the library also looks
PRIME = "\n"  # what the library primes its passages with
TEMPERATURE = 0.8
SHOWN_TOKENS = 30


def cache_folder():
    """The library's cache folder of the jargon corpus: $GENERATIVE_DATA/jargon, else ~/.cache/generative/jargon."""
    root = os.environ.get("GENERATIVE_DATA", "").strip()
    root = os.path.abspath(root) if root else os.path.join(os.path.expanduser("~"), ".cache", "generative")
    return os.path.join(root, "jargon")


class WordLstm(nn.Module):
    """LstmLanguageNet: embedding, LSTM (dropout between its layers when there are several), dropout on its output,
    then the output layer: with tied weights F.linear(y, embedding.weight, bias), bias a zero-initialised parameter
    created after the others; otherwise Linear(H, V). Created in that order (the bias draws no random numbers)."""

    def __init__(self, vocab, embedding, hidden, layers, dropout, tie_weights):
        super().__init__()
        if tie_weights and embedding != hidden:
            raise ValueError("tied weights need embedding = hidden (%d and %d)" % (embedding, hidden))
        self.embedding = nn.Embedding(vocab, embedding)
        self.lstm = nn.LSTM(embedding, hidden, num_layers=layers, dropout=dropout if layers > 1 else 0.0,
                            batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.tie_weights = tie_weights
        if tie_weights:
            self.head_bias = nn.Parameter(torch.zeros(vocab))
        else:
            self.head = nn.Linear(hidden, vocab)

    def zero_state(self, rows):
        shape = (self.lstm.num_layers, rows, self.lstm.hidden_size)
        return torch.zeros(shape), torch.zeros(shape)

    def forward(self, x, state):
        out, state = self.lstm(self.embedding(x), state)
        y = self.dropout(out)
        logits = nn.functional.linear(y, self.embedding.weight, self.head_bias) if self.tie_weights else self.head(y)
        return logits, state


def parse_options():
    p = lm_common.options_parser(__doc__.split("\n\n")[0], None, seq_len=35, embedding=256, hidden=256, dropout=0.3)
    p.add_argument("--lower-case", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--min-count", type=int, default=3)
    p.add_argument("--max-vocabulary", type=int, default=10000)
    p.add_argument("--tie-weights", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--tokenize-only", action="store_true")
    a = p.parse_args()
    if a.text is None:
        folder = cache_folder()
        if not any(os.path.isfile(os.path.join(folder, CORPUS_FILE + ext)) for ext in ("", ".gz")) \
                and os.path.isdir(SYSTEM_FOLDER):
            folder = SYSTEM_FOLDER
        a.text = folder
    a.text = lm_common.resolve_text(a.text, CORPUS_FILE)
    if not a.tokenize_only:
        lm_common.check_options(p, a)
    return a


def sha256_ids(ids):
    """sha256 hex of a token id stream as int64 little-endian bytes (a libtorch int64 tensor's bytes)."""
    return hashlib.sha256(np.asarray(ids, dtype="<i8").tobytes()).hexdigest()


def sha256_tokens(tokens):
    """sha256 hex of the UTF-8 bytes of the tokens joined by U+0000 (lone surrogates, only from characters above
    U+FFFF, are encoded as such)."""
    return hashlib.sha256("\0".join(tokens).encode("utf-8", "surrogatepass")).hexdigest()


def tokenization_figures(path, text, parts, tokens, vocab, ids):
    """What the F# side can compare: part lengths (UTF-16 units), token counts, the vocabulary and the id streams."""
    names = ("train", "validation", "test")
    return {
        "data": os.path.basename(path),
        "utf16_units": len(text),
        "part_units": dict(zip(names, map(len, parts))),
        "tokens": dict(zip(names, map(len, tokens))),
        "unknown_tokens": {n: sum(1 for i in s if i == lm_common.UNKNOWN) for n, s in zip(names, ids)},
        "distinct_train_tokens": len(vocab.counts),
        "vocabulary": len(vocab),
        "first_tokens": tokens[0][:SHOWN_TOKENS],
        "first_vocabulary": vocab.tokens[:SHOWN_TOKENS],
        "last_vocabulary": vocab.tokens[-5:],
        "last_count": vocab.counts[vocab.tokens[-1]] if len(vocab) > 1 else 0,
        "vocabulary_sha256": sha256_tokens(vocab.tokens),
        "ids_sha256": {n: sha256_ids(s) for n, s in zip(names, ids)},
    }


def main():
    o = parse_options()
    # The library refuses invalid UTF-8; all positions below count UTF-16 units, as .NET's do.
    text = lm_common.utf16_units(lm_common.read_text(o.text, errors="strict"))
    if not text.strip():
        sys.exit("%s holds no text" % o.text)
    parts = lm_common.split(text, check=True)
    vocab = lm_common.WordVocabulary(parts[0], o.lower_case, o.min_count, o.max_vocabulary)
    tokens = [lm_common.word_tokens(part, o.lower_case) for part in parts]
    ids = [vocab.ids(t) for t in tokens]
    figures = tokenization_figures(o.text, text, parts, tokens, vocab, ids)
    if o.tokenize_only:
        print(json.dumps(figures), flush=True)
        return
    print("word_lstm: %s" % json.dumps(figures), file=sys.stderr, flush=True)

    train_ids, validation_ids, test_ids = ids
    train_stream, validation_stream, test_stream = (torch.tensor(s, dtype=torch.int64) for s in ids)
    train = lm_common.StatefulLayout(train_stream, o.batch_size, o.seq_len)
    if train.chunks == 0:
        sys.exit("the training text is too short for %d rows of %d words" % (o.batch_size, o.seq_len))

    torch.manual_seed(o.seed)
    model = WordLstm(len(vocab), o.embedding, o.hidden, o.layers, o.dropout, o.tie_weights)
    losses, curve, timed, val_nats = lm_common.train(
        model, train, o, lambda: lm_common.mean_cross_entropy(model, validation_stream, o.seq_len))
    test_nats = lm_common.mean_cross_entropy(model, test_stream, o.seq_len)

    baseline = lm_common.NgramBaseline(len(vocab), train_ids)
    weight = baseline.best_bigram_weight(validation_ids)
    unigram_nats = baseline.unigram(test_ids)
    bigram_nats = baseline.bigram(weight, test_ids)

    steps_per_second = (o.steps - o.warmup) / timed
    print(json.dumps({
        **lm_common.measurement(o, steps_per_second, losses),
        "metrics": {"validation nats/word": val_nats, "validation perplexity": math.exp(val_nats),
                    "test nats/word": test_nats, "test perplexity": math.exp(test_nats),
                    "unigram test perplexity": math.exp(unigram_nats),
                    "bigram test perplexity": math.exp(bigram_nats)},
        "seq_len": o.seq_len,
        "vocabulary": len(vocab),
        "parameters": sum(p.numel() for p in model.parameters()),
        "tokens": figures["tokens"],
        "epoch_steps": train.chunks,
        "train_seconds": timed,
        "words_per_second": steps_per_second * o.batch_size * o.seq_len,
        "first_loss": losses[0],
        "val_nats": val_nats,
        "val_perplexity": math.exp(val_nats),
        "val_curve": curve,
        "test_nats": test_nats,
        "test_bits": lm_common.bits(test_nats),
        "test_perplexity": math.exp(test_nats),
        "unigram_test_nats": unigram_nats,
        "unigram_test_perplexity": math.exp(unigram_nats),
        "bigram_test_nats": bigram_nats,
        "bigram_test_perplexity": math.exp(bigram_nats),
        "bigram_weight": weight,
    }), flush=True)

    if o.sample > 0:
        generated = lm_common.sample(model, vocab, PRIME, o.sample, TEMPERATURE, o.seed)
        print(PRIME + generated, file=sys.stderr)


if __name__ == "__main__":
    main()
