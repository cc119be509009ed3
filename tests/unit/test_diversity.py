"""Diversity metrics against hand-computed small examples (DESIGN.md "Definitions")."""

import math

import pytest

from worker.science.diversity import corpus_diversity, distinct_n, msttr, ngram_entropy, word_tokens


def test_word_tokens_lowercases_and_splits_punctuation():
    assert word_tokens("I'm sorry, but I CAN'T help.") == [
        "i'm", "sorry", ",", "but", "i", "can't", "help", ".",
    ]  # fmt: skip
    assert word_tokens("C-A-T.") == ["c", "-", "a", "-", "t", "."]
    assert word_tokens("my neighbour's car") == ["my", "neighbour's", "car"]
    assert word_tokens("  \n ") == []
    assert word_tokens("Café 42") == ["café", "42"]


@pytest.mark.parametrize("k", [1, 2, 4, 8, 10])
def test_entropy_of_uniform_distribution_is_log2_k(k):
    tokens = [f"w{i}" for i in range(k)] * 3
    assert ngram_entropy(tokens, 1) == pytest.approx(math.log2(k))


def test_entropy_hand_computed():
    # counts a:2, b:1, c:1 -> p = 1/2, 1/4, 1/4 -> H = 0.5*1 + 2*0.25*2 = 1.5 bits
    assert ngram_entropy(["a", "b", "a", "c"], 1) == pytest.approx(1.5)
    # bigrams (a,b) (b,a) (a,c): uniform over 3
    assert ngram_entropy(["a", "b", "a", "c"], 2) == pytest.approx(math.log2(3))
    # a single n-gram type has zero entropy
    assert ngram_entropy(["x", "x", "x"], 1) == 0.0
    assert ngram_entropy(["x", "x", "x"], 2) == 0.0


def test_distinct_n_hand_computed():
    toks = ["a", "b", "a", "b", "a"]
    assert distinct_n(toks, 1) == pytest.approx(2 / 5)
    # bigrams ab ba ab ba -> 2 unique of 4
    assert distinct_n(toks, 2) == pytest.approx(2 / 4)
    # trigrams aba bab aba -> 2 of 3
    assert distinct_n(toks, 3) == pytest.approx(2 / 3)
    assert distinct_n(["a", "b", "c"], 1) == 1.0


def test_msttr_drops_partial_last_segment():
    seg1 = [f"u{i}" for i in range(50)]  # TTR 1.0
    seg2 = ["r"] * 25 + ["s"] * 25  # TTR 2/50
    partial = ["z"] * 49  # would pull the mean down if it were counted
    assert msttr(seg1 + seg2 + partial, 50) == pytest.approx((1.0 + 2 / 50) / 2)
    assert msttr(["a", "b", "a", "c", "d", "d", "e"], 3) == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert msttr(list("abcdefg"), 3) == pytest.approx(1.0)


def test_edge_cases_return_zero_not_nan():
    assert ngram_entropy([], 1) == 0.0
    assert ngram_entropy(["a"], 2) == 0.0
    assert distinct_n([], 1) == 0.0
    assert distinct_n(["a", "b"], 3) == 0.0
    assert msttr([], 50) == 0.0
    assert msttr(["a"] * 49, 50) == 0.0
    r = corpus_diversity([])
    assert r["n_texts"] == 0 and r["n_tokens"] == 0 and r["max_length"] == 0
    assert all(not math.isnan(v) for v in r.values())
    assert r["H1"] == r["distinct_2"] == r["MSTTR_50"] == r["mean_length"] == 0.0


def test_invalid_arguments():
    with pytest.raises(ValueError, match="n must be"):
        ngram_entropy(["a"], 0)
    with pytest.raises(ValueError, match="segment"):
        msttr(["a"], 0)


def test_corpus_ngrams_do_not_cross_text_boundaries():
    r = corpus_diversity(["a b", "c d"])
    # bigrams within texts only: (a,b) and (c,d); never (b,c)
    assert r["distinct_2"] == pytest.approx(1.0)
    assert r["H2"] == pytest.approx(1.0)
    assert r["H1"] == pytest.approx(2.0)
    assert r["H3"] == 0.0  # no text has 3 tokens
    assert (r["n_texts"], r["n_tokens"], r["max_length"]) == (2, 4, 2)
    assert r["mean_length"] == r["median_length"] == 2.0


def test_corpus_pools_counts_and_msttr_runs_over_concatenation():
    texts = ["x y x", "x y"]
    r = corpus_diversity(texts)
    # unigrams pooled: x3 y2 -> 2 unique of 5
    assert r["distinct_1"] == pytest.approx(2 / 5)
    p = [3 / 5, 2 / 5]
    assert r["H1"] == pytest.approx(-sum(q * math.log2(q) for q in p))
    # bigrams: (x,y) (y,x) (x,y) -> 2 of 3
    assert r["distinct_2"] == pytest.approx(2 / 3)
    assert r["MSTTR_50"] == 0.0  # 5 tokens < one segment
    long_texts = [" ".join(f"w{i}" for i in range(30))] * 2  # 60 tokens: one full segment
    r = corpus_diversity(long_texts)
    assert r["MSTTR_50"] == pytest.approx(30 / 50)
    assert r["median_length"] == 30.0 and r["max_length"] == 30


def test_corpus_diversity_keys_and_custom_tokenizer():
    r = corpus_diversity(["abc", "abd"], tokenize=lambda t: [ord(c) for c in t])
    assert set(r) == {
        "H1", "H2", "H3", "distinct_1", "distinct_2", "MSTTR_50", "n_texts", "n_tokens",
        "mean_length", "median_length", "max_length",
    }  # fmt: skip
    assert r["n_tokens"] == 6
    assert r["distinct_1"] == pytest.approx(4 / 6)
    assert r["distinct_2"] == pytest.approx(3 / 4)  # ab bc ab bd
