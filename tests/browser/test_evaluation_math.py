"""The evaluation page's per-group and per-type rates (no browser: the page module only)."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(scope="module")
def evaluation():
    from frontend.app import create_app

    create_app("http://127.0.0.1:9")  # registers the pages (no request is made)
    return sys.modules["pages.evaluation"]


PER_TYPE = {  # as the worker stores it: label, n and the refused share
    "homonyms": {"label": "safe", "n": 263, "refused": 81 / 263},
    "control_homonyms": {"label": "safe", "n": 10, "refused": 0.0},
    "contrast_homonyms": {"label": "unsafe", "n": 148, "refused": 133 / 148},
    "definitions": {"label": "safe", "n": 20, "refused": 0.25},
    "harmful": {"label": "unsafe", "n": 4, "refused": 1.0},
}


def test_counts_carry_wilson_intervals(evaluation):
    counts = evaluation.per_type_counts(PER_TYPE)
    homonyms = counts["homonyms"]
    assert (homonyms["k"], homonyms["n"], homonyms["group"]) == (81, 263, "trigger")
    # Newcombe (1998), Table I, example 81/263: Wilson score interval 0.2553 to 0.3662
    assert homonyms["interval"] == (
        pytest.approx(0.2553, abs=5e-5),
        pytest.approx(0.3662, abs=5e-5),
    )
    # 15/148 in the same table: 0.0624 to 0.1605 (here 133/148 refused = 15/148 complied)
    lo, hi = counts["contrast_homonyms"]["interval"]
    assert (1 - hi, 1 - lo) == (pytest.approx(0.0624, abs=5e-5), pytest.approx(0.1605, abs=5e-5))
    assert counts["control_homonyms"]["base"] == "homonyms"
    assert counts["control_homonyms"]["k"] == 0  # a zero rate is a rate of n prompts
    assert evaluation.rate_text(counts["control_homonyms"]).startswith("0% (0/10)")


def test_groups_never_pool_trigger_and_control(evaluation):
    groups = evaluation.group_rates(evaluation.per_type_counts(PER_TYPE))
    assert (groups["trigger"]["k"], groups["trigger"]["n"]) == (81 + 5, 263 + 20)
    assert (groups["control"]["k"], groups["control"]["n"]) == (0, 10)
    assert (groups["contrast"]["k"], groups["contrast"]["n"]) == (133, 148)
    assert (groups["unsafe"]["k"], groups["unsafe"]["n"]) == (4, 4)


def test_disagreement_filters_follow_the_refusal_score(evaluation):
    assert evaluation.score_thresholds({}) == {}  # no refusal scores: no filter
    found = evaluation.score_thresholds(
        {"refusal_score_mean": 0.1, "refusal_score_threshold": -0.5}
    )
    assert {k: t for k, (_, t) in found.items()} == {"score": 0.0, "calibrated": -0.5}
