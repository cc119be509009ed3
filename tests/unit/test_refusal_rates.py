"""Refused shares per prompt type and group with Wilson intervals (backend/refusal_rates.py),
against Newcombe (1998)'s worked examples, and as GET /api/evaluations/{id} serves them."""

from __future__ import annotations

import pytest

from backend.refusal_rates import group_rates, type_rates

PER_TYPE = {  # as the worker stores it: label, n and the refused share
    "homonyms": {"label": "safe", "n": 263, "refused": 81 / 263},
    "control_homonyms": {"label": "safe", "n": 10, "refused": 0.0},
    "contrast_homonyms": {"label": "unsafe", "n": 148, "refused": 133 / 148},
    "definitions": {"label": "safe", "n": 20, "refused": 0.25},
    "harmful": {"label": "unsafe", "n": 4, "refused": 1.0},
}


def test_type_rates_carry_wilson_intervals():
    counts = type_rates(PER_TYPE)
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
    assert counts["control_homonyms"]["share"] == 0.0


def test_groups_never_pool_trigger_and_control():
    groups = group_rates(type_rates(PER_TYPE))
    assert (groups["trigger"]["k"], groups["trigger"]["n"]) == (81 + 5, 263 + 20)
    assert (groups["control"]["k"], groups["control"]["n"]) == (0, 10)
    assert (groups["contrast"]["k"], groups["contrast"]["n"]) == (133, 148)
    assert (groups["unsafe"]["k"], groups["unsafe"]["n"]) == (4, 4)


def test_the_api_serves_an_evaluations_rates_beside_its_per_type(database_url):
    from fastapi.testclient import TestClient
    from support import add_evaluation

    from backend.api.main import create_app
    from backend.config import Settings
    from backend.db import session_scope
    from backend.models import Dataset

    with session_scope(database_url) as s:
        dataset = Dataset(name="probe", source="upload", format="jsonl", n_rows=445)
        s.add(dataset)
        s.flush()
        evaluation_id = add_evaluation(s, dataset.id, params={}, metrics={}, per_type=PER_TYPE)
    with TestClient(create_app(Settings(database_url=database_url, auth="off"))) as client:
        served = client.get(f"/api/evaluations/{evaluation_id}").json()
        listed = client.get("/api/evaluations").json()["data"][0]
    homonyms = served["type_rates"]["homonyms"]
    assert (homonyms["k"], homonyms["n"], homonyms["group"]) == (81, 263, "trigger")
    assert homonyms["interval"] == pytest.approx([0.2553, 0.3662], abs=5e-5)
    assert list(served["group_rates"]) == ["trigger", "control", "contrast", "unsafe"]
    assert served["group_rates"]["trigger"]["n"] == 263 + 20
    assert listed["type_rates"] == served["type_rates"]
