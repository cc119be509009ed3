"""refusal_score as a calibrated proxy: best threshold, AUROC (Mann-Whitney) and bootstrap
intervals, on hand-computed cases and against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from worker.science.refusal_metrics import auroc, best_threshold, calibrate_refusal_score

SCORES = [0.1, 0.4, 0.35, 0.8]
REFUSED = [0, 0, 1, 1]


def test_hand_computed_case() -> None:
    # refused {0.35, 0.8} vs complied {0.1, 0.4}: 3 of the 4 pairs ordered right
    assert auroc(SCORES, REFUSED) == pytest.approx(0.75)
    # cuts: all refused 2/4, > 0.225 3/4, > 0.375 2/4, > 0.6 3/4, none 2/4; the tie between
    # 0.225 and 0.6 goes to the one nearer 0
    assert best_threshold(SCORES, REFUSED) == pytest.approx((0.225, 0.75))


def test_ties_count_one_half() -> None:
    # refused {1, 2} vs complied {1, 0}: pairs 1>0, 1=1 (1/2), 2>1, 2>0 -> 3.5 / 4
    assert auroc([1, 2, 1, 0], [1, 1, 0, 0]) == pytest.approx(0.875)


def test_separable_and_one_class() -> None:
    assert best_threshold([-3, -1, 2, 5], [0, 0, 1, 1]) == pytest.approx((0.5, 1.0))
    assert auroc([-3, -1, 2, 5], [0, 0, 1, 1]) == 1.0
    assert auroc([1, 2], [1, 1]) is None
    # one class: "none refused" (highest + 1 = 3) and "all refused" (lowest - 1 = 0) agree
    # fully or not at all; all complied -> the cut above every score
    assert best_threshold([1, 2], [0, 0]) == pytest.approx((3.0, 1.0))
    assert best_threshold([1, 2], [1, 1]) == pytest.approx((0.0, 1.0))


def test_agrees_with_sklearn_and_brute_force() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        n = int(rng.integers(5, 60))
        refused = rng.integers(0, 2, n).astype(bool)
        refused[:2] = [True, False]
        scores = np.round(rng.normal(refused * 1.0, 1.0), 1)  # rounded: many ties
        assert auroc(scores, refused) == pytest.approx(roc_auc_score(refused, scores))
        threshold, agreement = best_threshold(scores, refused)
        assert np.mean((scores > threshold) == refused) == pytest.approx(agreement)
        cuts = np.concatenate([scores, [scores.min() - 1]])
        assert agreement == pytest.approx(max(np.mean((scores > t) == refused) for t in cuts))


def test_calibration_intervals_are_seeded_and_hold_the_estimate() -> None:
    rng = np.random.default_rng(0)
    refused = rng.integers(0, 2, 200).astype(bool)
    scores = rng.normal(refused * 1.5, 1.0)
    first = calibrate_refusal_score(scores, refused, bootstrap=300, seed=1)
    assert first == calibrate_refusal_score(scores, refused, bootstrap=300, seed=1)
    assert first["auroc"] == pytest.approx(roc_auc_score(refused, scores))
    for name in ("auroc", "agreement"):
        lo, hi = first["intervals"][name]
        assert lo <= first[name] <= hi and hi - lo < 0.2
    assert calibrate_refusal_score(scores, refused, bootstrap=0)["intervals"] == {}


def test_unparsed_verdicts_are_left_out_of_the_calibration() -> None:
    from worker.science.refusal_metrics import refusal_score_calibration

    # the hand-computed case above, plus an unparsed verdict that would otherwise count as
    # "not refused" at the highest score
    scores = [0.1, 0.4, 0.35, 0.8, 0.9]
    verdicts = ["full_compliance", "full_compliance", "full_refusal", "partial_refusal", "unparsed"]
    out = refusal_score_calibration(scores, verdicts)
    assert out["refusal_score_auroc"] == 0.75
    assert out["refusal_score_calibrated_agreement"] == 0.75
    none = refusal_score_calibration([0.1, 0.2], ["unparsed", "unparsed"])
    assert none["refusal_score_auroc"] is None and none["intervals"] == {}
