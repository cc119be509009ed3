"""Diversity metrics of text corpora (DESIGN.md, "Definitions": diversity).

Pure Python (no torch, no numpy needed), so the API and tests can use it cheaply.

Definitions (WildTeaming-style):

- ``H_n``: Shannon entropy, in bits, of the empirical n-gram distribution:
  ``H_n = -sum_g p(g) log2 p(g)`` with ``p(g) = count(g) / total``.
- ``distinct_n``: number of unique n-grams / number of all n-grams.
- ``MSTTR_50``: mean type-token ratio (unique tokens / 50) over consecutive, non-overlapping
  50-token segments; the last, partial segment is dropped.

Corpus level (:func:`corpus_diversity`): n-grams are counted *within* each text (never across
the boundary of two texts) and the counts of all texts are pooled; MSTTR runs over the
concatenation of all texts' tokens in order.

Edge cases, one rule everywhere: when a metric has nothing to measure (no tokens, fewer tokens
than ``n`` so no n-gram, fewer tokens than one full segment) it returns ``0.0``, never NaN.
``0.0`` keeps every result JSON-serialisable (API payloads, database columns); read it together
with ``n_tokens`` / ``n_texts`` to tell "empty" from "no diversity".
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence

__all__ = [
    "word_tokens",
    "ngram_entropy",
    "distinct_n",
    "msttr",
    "corpus_diversity",
]

# A word is a run of letters/digits, optionally with inner apostrophes ("can't", "i'm",
# "neighbour's"); every other non-space character is a token of its own ("?", ",", "-", "'").
_TOKEN_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*|[^\w\s]|_", re.UNICODE)


def word_tokens(text: str) -> list[str]:
    """Lowercase word/punctuation tokenizer.

    ``text`` is lowercased, then split into tokens: words are maximal runs of letters and digits
    (Unicode-aware), which may contain inner apostrophes (``"I'm sorry, I can't."`` ->
    ``["i'm", "sorry", ",", "i", "can't", "."]``); each other non-whitespace character
    (punctuation, symbols, a hyphen) is one token; whitespace separates and is dropped.
    Typographic apostrophes (U+2019) are kept as-is inside words.
    """
    return _TOKEN_RE.findall(text.lower())


def _ngrams(tokens: Sequence[Hashable], n: int) -> Iterable[tuple]:
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return (tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _entropy_bits(counts: Counter) -> float:
    total = sum(counts.values())
    if total == 0:
        return 0.0
    h = 0.0
    for c in counts.values():
        p = c / total
        h -= p * math.log2(p)
    # -0.0 for a single n-gram type: return a clean 0.0
    return h if h > 0.0 else 0.0


def _distinct(counts: Counter) -> float:
    total = sum(counts.values())
    return len(counts) / total if total else 0.0


def ngram_entropy(tokens: Sequence[Hashable], n: int) -> float:
    """H_n in bits of the n-gram distribution of ``tokens``; 0.0 when len(tokens) < n."""
    return _entropy_bits(Counter(_ngrams(tokens, n)))


def distinct_n(tokens: Sequence[Hashable], n: int) -> float:
    """Unique n-grams / all n-grams of ``tokens``; 0.0 when len(tokens) < n."""
    return _distinct(Counter(_ngrams(tokens, n)))


def msttr(tokens: Sequence[Hashable], segment: int = 50) -> float:
    """Mean type-token ratio over consecutive ``segment``-token segments.

    The last, partial segment is dropped; 0.0 when there is no full segment.
    """
    if segment < 1:
        raise ValueError(f"segment must be >= 1, got {segment}")
    n_full = len(tokens) // segment
    if n_full == 0:
        return 0.0
    ratios = [len(set(tokens[i * segment : (i + 1) * segment])) / segment for i in range(n_full)]
    return sum(ratios) / n_full


def corpus_diversity(
    texts: Sequence[str],
    tokenize: Callable[[str], Sequence[Hashable]] = word_tokens,
) -> dict:
    """Diversity of a corpus of texts.

    ``tokenize`` maps a text to its tokens (default :func:`word_tokens`); pass a model
    tokenizer's function (e.g. ``lambda t: tok.encode(t, add_special_tokens=False)``) to measure
    in model tokens instead. Returns::

        {"H1", "H2", "H3",              # n-gram entropies, bits (n-grams within texts, pooled)
         "distinct_1", "distinct_2",    # unique / all n-grams (within each text, pooled)
         "MSTTR_50",                    # over the concatenated token stream
         "n_texts", "n_tokens",         # ints
         "mean_length", "median_length", "max_length"}   # tokens per text

    Empty input gives 0 / 0.0 everywhere (see the module docstring).
    """
    token_lists = [list(tokenize(t)) for t in texts]
    counts = {n: Counter() for n in (1, 2, 3)}
    stream: list[Hashable] = []
    for toks in token_lists:
        stream.extend(toks)
        for n, c in counts.items():
            c.update(_ngrams(toks, n))
    lengths = [len(t) for t in token_lists]
    return {
        "H1": _entropy_bits(counts[1]),
        "H2": _entropy_bits(counts[2]),
        "H3": _entropy_bits(counts[3]),
        "distinct_1": _distinct(counts[1]),
        "distinct_2": _distinct(counts[2]),
        "MSTTR_50": msttr(stream, 50),
        "n_texts": len(token_lists),
        "n_tokens": len(stream),
        "mean_length": (sum(lengths) / len(lengths)) if lengths else 0.0,
        "median_length": float(statistics.median(lengths)) if lengths else 0.0,
        "max_length": max(lengths) if lengths else 0,
    }
