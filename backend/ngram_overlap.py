"""Text similarity of two prompt sets: word n-gram overlap (DESIGN.md, "Data similarity").

ngram_overlap_n(A, B) = |G_n(A) & G_n(B)| / |G_n(A) | G_n(B)| (the Jaccard index of the two
sets of distinct n-grams), where G_n(X) holds the n-grams of every prompt of X. Words are the
word tokens of ``worker/science/diversity.py`` without its punctuation tokens: the text is
lowercased and a word is a maximal run of letters and digits with optional inner apostrophes
("can't"). An n-gram never spans two prompts. Pure Python: the API computes it on the fly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

NS = (1, 2, 3)
_WORD_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*", re.UNICODE)


def words(text: str) -> list[str]:
    """Lowercase words: ``"I can't, can I?"`` -> ``["i", "can't", "can", "i"]``."""
    return _WORD_RE.findall(text.lower())


def ngram_set(texts: Iterable[str], n: int) -> set[tuple[str, ...]]:
    """The distinct word n-grams of ``texts``, each taken within one text."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    grams: set[tuple[str, ...]] = set()
    for text in texts:
        tokens = words(text)
        grams.update(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


def ngram_overlap(a: list[str], b: list[str], ns: Iterable[int] = NS) -> dict[str, float | None]:
    """{"1": overlap of unigrams, "2": ..., ...}; None where neither set has an n-gram."""
    out: dict[str, float | None] = {}
    for n in ns:
        grams_a, grams_b = ngram_set(a, n), ngram_set(b, n)
        union = len(grams_a | grams_b)
        out[str(n)] = len(grams_a & grams_b) / union if union else None
    return out
