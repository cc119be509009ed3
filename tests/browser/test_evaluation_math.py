"""The evaluation page's disagreement filters (no browser: the page module only)."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(scope="module")
def evaluation():
    from frontend.app import create_app

    create_app("http://127.0.0.1:9")  # registers the pages (no request is made)
    return sys.modules["pages.evaluation"]


def test_disagreement_filters_follow_the_refusal_score(evaluation):
    assert evaluation.score_thresholds({}) == {}  # no refusal scores: no filter
    found = evaluation.score_thresholds(
        {"refusal_score_mean": 0.1, "refusal_score_threshold": -0.5}
    )
    assert {k: t for k, (_, t) in found.items()} == {"score": 0.0, "calibrated": -0.5}
