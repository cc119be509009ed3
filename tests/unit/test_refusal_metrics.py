"""Refusal metrics on hand-computed values (DESIGN.md, "Refusal evaluation")."""

from __future__ import annotations

import pytest

from backend.metrics import Scope, metrics_for
from worker.science.refusal_metrics import (
    REFUSED,
    f1,
    per_type,
    refusal_metrics,
    refusal_score_agreement,
)

FULL, PARTIAL, COMPLY = "full_refusal", "partial_refusal", "full_compliance"


def test_rates_worked_by_hand() -> None:
    labels = ["safe"] * 4 + ["unsafe"] * 3
    verdicts = [FULL, PARTIAL, COMPLY, COMPLY] + [FULL, COMPLY, PARTIAL]
    m = refusal_metrics(labels, verdicts)
    # safe: 2 of 4 refused (full + partial) -> 0.5; full only: 1 of 4 -> 0.25
    assert m["false_refusal_rate"] == 0.5
    assert m["false_refusal_rate_full"] == 0.25
    # unsafe: 2 of 3 refused -> safety 2/3; usefulness = 1 - 0.5 = 0.5
    assert m["safety"] == pytest.approx(2 / 3)
    assert m["usefulness"] == 0.5
    # f1 = 2 * (2/3) * (1/2) / (2/3 + 1/2) = (2/3) / (7/6) = 4/7
    assert m["f1"] == pytest.approx(4 / 7)
    assert (m["n_safe"], m["n_unsafe"]) == (4, 3)


def test_no_safe_prompts_leaves_the_false_refusal_side_undefined() -> None:
    m = refusal_metrics(["unsafe", "unsafe"], [FULL, COMPLY])
    assert m["safety"] == 0.5  # 1 of 2 refused
    assert m["false_refusal_rate"] is m["false_refusal_rate_full"] is m["usefulness"] is None
    assert m["f1"] is None and m["n_safe"] == 0


def test_no_unsafe_prompts_leaves_safety_undefined() -> None:
    m = refusal_metrics(["safe", "safe"], [COMPLY, COMPLY])
    assert m["false_refusal_rate"] == 0.0 and m["usefulness"] == 1.0
    assert m["safety"] is None and m["f1"] is None and m["n_unsafe"] == 0


def test_f1_edge_cases() -> None:
    # every safe prompt refused (usefulness 0) and no unsafe one (safety 0): 0 / 0 -> None
    m = refusal_metrics(["safe", "unsafe"], [FULL, COMPLY])
    assert (m["safety"], m["usefulness"], m["f1"]) == (0.0, 0.0, None)
    assert f1(1.0, 1.0) == 1.0
    assert f1(1.0, 0.0) == 0.0  # 2 * 1 * 0 / (1 + 0)
    assert f1(None, 0.5) is None and f1(0.5, None) is None


def test_labels_and_verdicts_must_pair_up() -> None:
    with pytest.raises(ValueError):
        refusal_metrics(["safe"], [FULL, FULL])


def test_per_type_table() -> None:
    types = ["greeting", "weapons", "greeting", "greeting", "weapons"]
    labels = ["safe", "unsafe", "safe", "safe", "unsafe"]
    verdicts = [FULL, FULL, PARTIAL, COMPLY, COMPLY]
    table = per_type(types, labels, verdicts)
    assert list(table) == ["greeting", "weapons"]  # sorted
    # greeting: 3 prompts, full 1, partial 1 -> refused 2/3
    assert table["greeting"] == {
        "label": "safe",
        "n": 3,
        "refused": pytest.approx(2 / 3),
        "full_refusal": pytest.approx(1 / 3),
        "partial_refusal": pytest.approx(1 / 3),
    }
    # weapons: 2 prompts, full 1 -> refused 1/2, partial 0
    assert table["weapons"] == {
        "label": "unsafe",
        "n": 2,
        "refused": 0.5,
        "full_refusal": 0.5,
        "partial_refusal": 0.0,
    }


def test_refusal_score_agreement() -> None:
    # score > 0 predicts a refusal: agree, agree, disagree (0 is not > 0), disagree -> 0.5
    scores = [1.2, -0.3, 0.0, 2.0]
    verdicts = [FULL, COMPLY, PARTIAL, COMPLY]
    assert refusal_score_agreement(scores, verdicts) == 0.5
    with pytest.raises(ValueError, match="scores"):
        refusal_score_agreement([1.0], verdicts)


def test_refused_verdicts_and_catalogue_names() -> None:
    assert set(REFUSED) == {FULL, PARTIAL}
    m = refusal_metrics(["safe", "unsafe"], [COMPLY, FULL])
    names = {metric.name for metric in metrics_for(Scope.EVALUATION)}
    rates = {"false_refusal_rate", "false_refusal_rate_full", "safety", "usefulness", "f1"}
    assert rates <= names and rates <= set(m)
