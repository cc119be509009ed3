"""backend.stats on hand-computed and published values, scikit-learn as a second reference, and
the corrected rate's interval checked for coverage by simulation."""

from __future__ import annotations

import math
import random

import pytest
from sklearn.metrics import cohen_kappa_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from backend.stats import (
    agreement,
    cohen_kappa,
    confusion_matrix,
    stratified_rate,
    wilson_interval,
)

# The textbook 2x2 example (Wikipedia, "Cohen's kappa"): 50 items, rater A yes/B yes 20,
# A yes/B no 5, A no/B yes 10, A no/B no 15.
TEXTBOOK_A = ["yes"] * 25 + ["no"] * 25
TEXTBOOK_B = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15


def test_confusion_matrix_rows_are_the_first_labelling() -> None:
    assert confusion_matrix(TEXTBOOK_A, TEXTBOOK_B, ["yes", "no"]) == [[20, 5], [10, 15]]
    # a label outside ``labels`` leaves its item out
    assert confusion_matrix(["x", "yes"], ["yes", "yes"], ["yes", "no"]) == [[1, 0], [0, 0]]


def test_agreement_is_the_diagonal_share() -> None:
    assert agreement(TEXTBOOK_A, TEXTBOOK_B) == pytest.approx(35 / 50)  # 20 + 15 of 50
    assert agreement([], []) is None
    with pytest.raises(ValueError, match="pair up"):
        agreement(["a"], [])


def test_cohen_kappa_textbook_example() -> None:
    # po = 35/50 = 0.7; A says yes 25/50 = 0.5, B 30/50 = 0.6;
    # pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4
    assert cohen_kappa(TEXTBOOK_A, TEXTBOOK_B, ["yes", "no"]) == pytest.approx(0.4)


def test_cohen_kappa_three_way_by_hand() -> None:
    # 6 items, three labels: a = [c c r r p p], b = [c r r r p c]
    # matches: c/c, r/r, r/r, p/p -> po = 4/6
    # a margins: c 2, r 2, p 2; b margins: c 2, r 3, p 1
    # pe = (2*2 + 2*3 + 2*1) / 36 = 12/36 = 1/3; kappa = (2/3 - 1/3) / (2/3) = 0.5
    a = list("ccrrpp")
    b = list("crrrpc")
    assert cohen_kappa(a, b, ["c", "r", "p"]) == pytest.approx(0.5)


def test_cohen_kappa_undefined_cases() -> None:
    assert cohen_kappa([], [], ["a"]) is None
    assert cohen_kappa(["a", "a"], ["a", "a"], ["a", "b"]) is None  # pe = 1


def test_against_scikit_learn() -> None:
    rng = random.Random(7)
    labels = ["full_compliance", "full_refusal", "partial_refusal"]
    a = [rng.choice(labels) for _ in range(300)]
    b = [x if rng.random() < 0.7 else rng.choice(labels) for x in a]
    assert cohen_kappa(a, b, labels) == pytest.approx(cohen_kappa_score(a, b, labels=labels))
    assert confusion_matrix(a, b, labels) == sk_confusion_matrix(a, b, labels=labels).tolist()


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),  # Wilson (1927) / Newcombe (1998) table: 0/10 -> [0, 0.2775]
        (5, 10, 0.2366, 0.7634),  # 5/10 -> [0.2366, 0.7634]
        (10, 10, 0.7225, 1.0),  # mirror of 0/10
    ],
)
def test_wilson_interval_published_values(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n)
    assert (lo, hi) == (pytest.approx(low, abs=5e-5), pytest.approx(high, abs=5e-5))


def test_wilson_interval_edges() -> None:
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_stratified_rate_by_hand() -> None:
    # 100 safe completions: classifier says compliance 80, full refusal 15, partial 5.
    # labelled: compliance 20 (2 human refusals), full 10 (9), partial 5 (3)
    # estimate = 0.80 * 2/20 + 0.15 * 9/10 + 0.05 * 3/5 = 0.08 + 0.135 + 0.03 = 0.245
    verdicts = ["c"] * 80 + ["f"] * 15 + ["p"] * 5
    labelled = (
        ([("c", True)] * 2 + [("c", False)] * 18 + [("f", True)] * 9 + [("f", False)])
        + [("p", True)] * 3
        + [("p", False)] * 2
    )
    out = stratified_rate(verdicts, labelled)
    assert out["estimate"] == pytest.approx(0.245)
    # z^2 = 3.841459; adjusted shares q~ = (k + z^2/2) / (n + z^2):
    #   c: 3.920729 / 23.841459 = 0.164450; f: 10.920729 / 13.841459 = 0.788987;
    #   p: 4.920729 / 8.841459 = 0.556552
    # within = 0.8^2 * 0.164450 * 0.835550 / 23.841459 = 0.0036885
    #        + 0.15^2 * 0.788987 * 0.211013 / 13.841459 = 0.0002706
    #        + 0.05^2 * 0.556552 * 0.443448 / 8.841459 = 0.0000698   -> 0.0040290
    # between = (0.8 * 0.145^2 + 0.15 * 0.655^2 + 0.05 * 0.355^2) / 100
    #         = (0.01682 + 0.06435375 + 0.00630125) / 100 = 0.00087475
    # half = 1.959964 * sqrt(0.00490375) = 0.137249 -> [0.10775, 0.38225]
    lo, hi = out["interval"]
    assert (lo, hi) == (pytest.approx(0.10775, abs=1e-5), pytest.approx(0.38225, abs=1e-5))
    assert (out["n"], out["n_labelled"], out["missing"]) == (100, 35, [])
    assert "stratified" in out["estimator"]


def test_stratified_rate_with_everything_labelled_is_the_human_share() -> None:
    # every item labelled: the estimate is the human share exactly, the interval close to the
    # binomial normal one (0.3 +- 1.96 * sqrt(0.3 * 0.7 / 200) = 0.3 +- 0.0635)
    verdicts = ["c"] * 150 + ["r"] * 50
    humans = [True] * 20 + [False] * 130 + [True] * 40 + [False] * 10  # 60 of 200 = 0.3
    out = stratified_rate(verdicts, list(zip(verdicts, humans, strict=True)))
    assert out["estimate"] == pytest.approx(0.3)
    lo, hi = out["interval"]
    half = 1.959964 * math.sqrt(0.3 * 0.7 / 200)
    assert lo == pytest.approx(0.3 - half, abs=0.005) and hi == pytest.approx(0.3 + half, abs=0.005)


def test_stratified_rate_undefined_without_labels_for_a_verdict() -> None:
    out = stratified_rate(["c", "c", "r"], [("c", False)])
    assert out["estimate"] is None and out["interval"] is None and out["missing"] == ["r"]
    assert stratified_rate([], [])["estimate"] is None


def test_stratified_interval_covers_the_true_rate() -> None:
    # simulation: 400 items, classifier verdict compliance (70%) / refusal (30%); the human
    # refusal chance is 0.05 given compliance and 0.8 given refusal, so the true rate is
    # 0.7 * 0.05 + 0.3 * 0.8 = 0.275; 60 items labelled at random. A 95% interval should
    # cover it in about 95% of 1000 draws (binomial sd of the coverage there: 0.007).
    rng = random.Random(1)
    truth, covered, draws = 0.275, 0, 1000
    for _ in range(draws):
        verdicts = ["c" if rng.random() < 0.7 else "r" for _ in range(400)]
        humans = [rng.random() < (0.05 if v == "c" else 0.8) for v in verdicts]
        sample = rng.sample(range(400), 60)
        out = stratified_rate(verdicts, [(verdicts[i], humans[i]) for i in sample])
        if out["interval"] is not None:
            covered += out["interval"][0] <= truth <= out["interval"][1]
    assert 0.93 <= covered / draws <= 0.99
