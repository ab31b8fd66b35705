"""Shared by the language-model family's PyTorch reference scripts (char_lstm, word_lstm): reading the text (raw or
gzipped), the contiguous train/validation/test split, the character and the word vocabularies (the word tokeniser of
the library's Vocabulary.words), the stateful (truncated-BPTT) batch layout, the command line, the timed training
loop, the held-out cross-entropies (the fixed 16-row validation of char_lstm and the library's meanCrossEntropy), the
unigram and bigram baselines (NgramBaseline) and temperature sampling. The spec both sides follow is
bench/lm/README.md.

A model here is any module whose forward is `model(inputs [B,T] int64, state) -> (logits [B,T,V], state)`, with
`model.zero_state(rows)` giving the state at the start of a stream.
"""
import argparse
import gzip
import math
import os
import re
import sys
import time
import unicodedata

import torch
from torch import nn

import bench_support

DEFAULT_TEXT = "/work/shared/data/tinyshakespeare.txt"
UNKNOWN = 0  # index of the unknown token
EVAL_ROWS = 16  # rows of the validation layout


def read_text(path, errors="replace"):
    """The file as a str of Unicode code points: the bytes, gunzipped when they start with gzip's magic 1f 8b (as the
    library's Fetch.readText: the content decides, not the name), decoded as UTF-8 with no newline translation
    ("\\r\\n" stays two characters); a leading byte-order mark is dropped (as .NET does) and invalid bytes become
    U+FFFD (errors="strict": UnicodeDecodeError, as the library refuses such a file)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)  # a truncated stream is an error (EOFError), as in the library
    return data.decode("utf-8-sig", errors=errors)


def resolve_text(path, name):
    """The text file `path` names: the file itself; `path`.gz when only that exists; in a folder, `name` or `name`.gz
    (the library's corpus files may be used gzipped in place)."""
    candidates = [os.path.join(path, name), os.path.join(path, name + ".gz")] if os.path.isdir(path) else [path, path + ".gz"]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise SystemExit("%s: text file not found (also tried %s)" % (candidates[0], candidates[1]))


def cut_point(text, percent):
    """The raw position len*percent/100 (integer division), moved to just after the next '\\n' at or after it;
    the raw position when no '\\n' follows."""
    raw = len(text) * percent // 100
    newline = text.find("\n", raw)
    return raw if newline < 0 else newline + 1


def split(text, check=False):
    """(train, validation, test): contiguous parts cut at 90% and 95% (see cut_point). With `check`, ValueError when
    a part would be empty, as TextCorpus.split."""
    c1, c2 = cut_point(text, 90), cut_point(text, 95)
    if check and (c1 == 0 or c2 == c1 or c2 == len(text)):
        raise ValueError("a text long enough for non-empty training, validation and test parts (%d characters)" % len(text))
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


# ---- words: the library's Vocabulary.words / tokenize / build ----------------------------------------------------
#
# .NET strings are UTF-16 and its regex engine and string positions work on UTF-16 code units. utf16_units makes a
# Python str of the same units (a character outside the Basic Multilingual Plane becomes its two surrogates, each a
# str character of its own), so the split's positions and the tokeniser below see exactly what .NET sees: the pattern
# `\n|[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*|[^\s]` with .NET's classes, \p{L}\p{N} = Unicode categories L* and N*
# (a lone surrogate is Cs: a token of its own) and \s = char.IsWhiteSpace (categories Zs Zl Zp and \t \n \v \f \r
# U+0085; Python's own \s would also take U+001C..U+001F). Both classes are spelled out from unicodedata.

WORD_UNKNOWN = "<unk>"  # Vocabulary.unknownToken
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


def utf16_units(text):
    """`text` with every character above U+FFFF replaced by its UTF-16 surrogate pair (two str characters)."""
    def pair(m):
        c = ord(m.group()) - 0x10000
        return chr(0xD800 + (c >> 10)) + chr(0xDC00 + (c & 0x3FF))
    return _ASTRAL.sub(pair, text)


def _bmp_class(member):
    """The characters of the BMP for which `member` holds, as the inside of a regex character class."""
    ranges, start = [], None
    for c in range(0x10001):
        inside = c < 0x10000 and member(chr(c))
        if inside and start is None:
            start = c
        elif not inside and start is not None:
            ranges.append("\\u%04x" % start if start == c - 1 else "\\u%04x-\\u%04x" % (start, c - 1))
            start = None
    return "".join(ranges)


_LETTER_OR_DIGIT = _bmp_class(lambda ch: unicodedata.category(ch)[0] in "LN")  # .NET [\p{L}\p{N}]
_WHITE_SPACE = _bmp_class(lambda ch: unicodedata.category(ch) in ("Zs", "Zl", "Zp") or ch in "\t\n\v\f\r\x85")  # .NET \s
WORD_PATTERN = re.compile("\\n|[%s]+(?:['\u2019-][%s]+)*|[^%s]" % (_LETTER_OR_DIGIT, _LETTER_OR_DIGIT, _WHITE_SPACE))


def words(text):
    """The word tokens of a text of UTF-16 units (utf16_units), as Vocabulary.words: words, punctuation marks and
    line breaks, "\\r\\n" counted as "\\n"."""
    return WORD_PATTERN.findall(text.replace("\r\n", "\n"))


def lower_invariant(token):
    """.NET's ToLowerInvariant with ICU (GlobalizationNative_ChangeCaseInvariant): each character's simple lower-case
    mapping (u_tolower), except that U+0130 stays itself. Python's str.lower differs only in its full mappings
    (U+0130 -> "i" U+0307) and the final sigma rule (a word-final capital sigma -> U+03C2), so those two characters
    are mapped one at a time."""
    if "\u0130" in token or "\u03a3" in token:
        return "".join(ch if ch == "\u0130" else ch.lower() for ch in token)
    return token.lower()


def word_tokens(text, lower_case):
    """Vocabulary.tokenize at the word level: the words of `text`, lower-cased when `lower_case`."""
    tokens = words(text)
    return [lower_invariant(t) for t in tokens] if lower_case else tokens


class WordVocabulary:
    """Vocabulary.build at the word level: index 0 is "<unk>"; then the tokens of the training part seen at least
    `min_count` times, by count descending, ties in first-appearance order (a stable sort), the first `max_size` - 1
    of them when `max_size` > 0. Texts given to its methods are strs of UTF-16 units (utf16_units)."""

    NO_SPACE_BEFORE = frozenset([".", ",", ";", ":", "!", "?", ")", "]", "}", "'", "\u2019", "\n"])
    NO_SPACE_AFTER = frozenset(["(", "[", "{", "\n"])

    def __init__(self, train, lower_case=True, min_count=3, max_size=10000):
        if min_count < 1:
            raise ValueError("min-count: at least 1 (%d)" % min_count)
        if max_size < 0 or max_size == 1:
            raise ValueError("max-vocabulary: 0 (no limit) or at least 2 (%d)" % max_size)
        self.lower_case = lower_case
        counts = {}  # insertion order = first appearance
        for t in word_tokens(train, lower_case):
            counts[t] = counts.get(t, 0) + 1
        kept = [t for t, c in counts.items() if c >= min_count]
        chosen = sorted(kept, key=lambda t: -counts[t])  # stable
        if max_size > 0:
            chosen = chosen[:max_size - 1]
        # As ofTokens: "<unk>" is dropped after the truncation (the tokeniser never makes it: '<' 'unk' '>').
        self.tokens = [WORD_UNKNOWN] + [t for t in chosen if t != WORD_UNKNOWN]
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.counts = counts

    def __len__(self):
        return len(self.tokens)

    def ids(self, tokens):
        return [self.index.get(t, UNKNOWN) for t in tokens]

    def encode(self, text):
        """The text's tokens as an int64 stream; tokens outside the vocabulary are 0."""
        return torch.tensor(self.ids(word_tokens(text, self.lower_case)), dtype=torch.int64)

    def decode(self, ids, previous=None):
        """Tokens back to text as Vocabulary.decode joins them: a space between two tokens, except before closing
        punctuation and line breaks and after opening brackets and line breaks; id 0 prints as "<unk>"."""
        out = []
        for i in ids:
            t = self.tokens[i]
            if previous is not None and previous not in self.NO_SPACE_AFTER and t not in self.NO_SPACE_BEFORE:
                out.append(" ")
            out.append(t)
            previous = t
        return "".join(out)


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


def mean_cross_entropy(model, stream, seq_len):
    """LanguageModel.meanCrossEntropy: nats per token of an int64 stream [N], laid out in R = min(16, (N-1)//T) rows
    (at least 1) of chunks of T = min(seq_len, N-1) tokens, read as in training with the state from zero carried
    across chunks, in evaluation mode without gradients; the mean of the chunks' mean losses. Puts the model back in
    training mode (the library leaves it in evaluation mode)."""
    n = stream.shape[0]
    if n < 2:
        raise ValueError("at least 2 tokens to score (%d)" % n)
    length = min(seq_len, n - 1)
    rows = max(1, min(EVAL_ROWS, (n - 1) // length))
    layout = StatefulLayout(stream, rows, length)
    model.eval()
    total = 0.0
    with torch.no_grad():
        state = model.zero_state(rows)
        for k in range(layout.chunks):
            x, y = layout.chunk(k)
            logits, state = model(x, state)
            total += chunk_loss(logits, y).item()
    model.train()
    return total / layout.chunks


class NgramBaseline:
    """The library's NgramBaseline over token id lists: counts of the training stream, then the add-one unigram and
    the bigram interpolated with it (Jelinek-Mercer), each as nats per token of a held-out stream. The arithmetic
    and the order of the sums are the library's (float64 throughout)."""

    def __init__(self, vocabulary_size, train):
        self.size = vocabulary_size
        self.unigrams = [0.0] * vocabulary_size
        for t in train:
            self.unigrams[t] += 1.0
        self.total = float(len(train)) + float(vocabulary_size)  # sum of the counts (exact) + V
        self.pairs = {}
        self.contexts = [0.0] * vocabulary_size
        for a, b in zip(train, train[1:]):
            self.pairs[(a, b)] = self.pairs.get((a, b), 0.0) + 1.0
            self.contexts[a] += 1.0

    def unigram(self, test):
        """NgramBaseline.unigram: mean of -ln((c(t) + 1) / (N + V)) over every token of `test`."""
        if not test:
            raise ValueError("at least one test token")
        acc = 0.0
        for t in test:
            acc += -math.log((self.unigrams[t] + 1.0) / self.total)
        return acc / len(test)

    def bigram(self, weight, test):
        """NgramBaseline.bigram: mean of -ln P(b | a) over the tokens of `test` after its first, P(b | a) =
        weight c(a, b) / c(a) + (1 - weight) P1(b) (P1 alone when a was never a context)."""
        if not 0.0 <= weight < 1.0:
            raise ValueError("an interpolation weight in [0, 1) (%r)" % weight)
        if len(test) < 2:
            raise ValueError("at least two test tokens")
        total = 0.0
        for a, b in zip(test, test[1:]):
            p1 = (self.unigrams[b] + 1.0) / self.total
            ca = self.contexts[a]
            p = p1 if ca == 0.0 else weight * self.pairs.get((a, b), 0.0) / ca + (1.0 - weight) * p1
            total = total - math.log(p)
        return total / float(len(test) - 1)

    def best_bigram_weight(self, validation):
        """NgramBaseline.bestBigramWeight: the weight among 0.1 .. 0.9 that scores `validation` best (the first on
        ties)."""
        return min((k / 10.0 for k in range(1, 10)), key=lambda w: self.bigram(w, validation))


def measurement(o, steps_per_second, losses):
    """The keys of bench/Measurement.fs's JSON line both language-model scripts print (memory read now, after the
    final evaluation, as the F# worker reads it); `final_loss` is the mean of the last 50 steps' losses (all of them
    when fewer)."""
    window = min(bench_support.LOSS_WINDOW, o.steps)
    return {
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
    }


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


# ---- command line and training loop of the scripts ---------------------------------------------------------------

def options_parser(description, text, seq_len, embedding, hidden, dropout):
    """The flags every language-model script takes, with the family member's defaults."""
    p = argparse.ArgumentParser(description=description)
    # --data: the name the bench harness passes (Harness.settingsArgs); a file, or a folder holding the default's name
    p.add_argument("--text", "--data", dest="text", default=text)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=seq_len)
    p.add_argument("--hidden", type=int, default=hidden)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--embedding", type=int, default=embedding)
    p.add_argument("--dropout", type=float, default=dropout)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=0)
    p.add_argument("--sample", type=int, default=0)
    return p


def check_options(p, a):
    """Checks the step counts and sets torch's intra-op threads."""
    if not 0 <= a.warmup < a.steps:
        p.error("need 0 <= --warmup < --steps")
    torch.set_num_threads(a.threads)


def train(model, layout, o, evaluate):
    """Trains `model` for o.steps steps over the chunks of `layout` in order, wrapping into new epochs (each from a
    zero state; the state is carried and detached between chunks): zero_grad, forward, mean cross-entropy,
    backward, clipping of the global gradient norm at o.clip, Adam (lr o.lr) step. `evaluate()` gives the held-out
    nats after every o.eval_every-th step (0: only after the last). The first o.warmup steps are not timed, nor are
    the evaluations. Returns (losses of every step, [step, nats] curve, timed seconds, final held-out nats)."""
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=o.lr)

    def step(x, y, state):
        opt.zero_grad()
        logits, state = model(x, state)
        loss = chunk_loss(logits, y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), o.clip)
        opt.step()
        return loss.item(), detach(state)

    losses, curve = [], []
    timed = 0.0  # seconds of the steps after the warm-up, evaluations excluded
    clock = time.perf_counter() if o.warmup == 0 else None  # start of the running timed stretch, None: stopped
    state = None
    for g in range(o.steps):
        k = g % layout.chunks
        if k == 0:
            state = model.zero_state(layout.rows)  # every epoch starts from a zero state
        x, y = layout.chunk(k)
        loss, state = step(x, y, state)
        losses.append(loss)
        done = g + 1
        if done == o.warmup:
            clock = time.perf_counter()
        if o.eval_every > 0 and done % o.eval_every == 0:
            running = clock is not None
            if running:
                timed += time.perf_counter() - clock
            curve.append((done, evaluate()))
            if running:
                clock = time.perf_counter()
    timed += time.perf_counter() - clock

    final = curve[-1][1] if curve and curve[-1][0] == o.steps else evaluate()
    if o.eval_every > 0 and curve[-1:] != [(o.steps, final)]:
        curve.append((o.steps, final))
    return losses, curve, timed, final
