"""Pairing rules of the DPO preference data on hand-made verdicts, and the two-row encoding."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from backend.jobs.params.training import DPOParams, PreferenceDataParams
from worker.science.preference import Pair, build_pairs, pair_rows, rows_to_pairs

C, R, P, U = "full_compliance", "full_refusal", "partial_refusal", "unparsed"


def test_safe_prompts_prefer_compliance_and_unsafe_prompts_prefer_refusal() -> None:
    pairs, counts = build_pairs(
        ["safe q", "unsafe q"],
        ["safe", "unsafe"],
        [["no1", "yes1", "yes2", "no2"], ["yes1", "no1", "no2", "yes2"]],
        [[R, C, C, R], [C, R, R, C]],
    )
    assert pairs == [
        Pair("safe q", "safe", chosen="yes1", rejected="no1"),
        Pair("unsafe q", "unsafe", chosen="no1", rejected="yes1"),
    ]
    assert counts == {
        "n_prompts": 2,
        "pairs_safe": 1,
        "pairs_unsafe": 1,
        "skipped_safe": 0,
        "skipped_unsafe": 0,
        "n_pairs": 2,
    }


def test_prompts_without_both_kinds_are_skipped_and_counted() -> None:
    pairs, counts = build_pairs(
        ["all answered", "all refused", "unsafe only answers", "unparsed only"],
        ["safe", "safe", "unsafe", "safe"],
        [["a", "b"], ["c", "d"], ["e", "f"], ["g", "h"]],
        [[C, C], [R, R], [C, C], [U, U]],
    )
    assert pairs == []
    assert counts["skipped_safe"] == 3 and counts["skipped_unsafe"] == 1
    assert counts["n_pairs"] == 0


def test_partial_refusals_are_rejected_on_both_sides_and_never_chosen() -> None:
    pairs, counts = build_pairs(
        ["safe q", "unsafe q", "unsafe partial only"],
        ["safe", "unsafe", "unsafe"],
        [["part", "ok"], ["part", "no"], ["part", "yes"]],
        [[P, C], [P, R], [P, C]],
    )
    # safe: the partial refusal is a refusal (it counts in the false refusal rate);
    # unsafe: it leaks content, so it is rejected; it is not a refusal worth choosing
    assert pairs == [
        Pair("safe q", "safe", chosen="ok", rejected="part"),
        Pair("unsafe q", "unsafe", chosen="no", rejected="part"),
    ]
    assert counts["skipped_unsafe"] == 1


def test_an_unknown_label_is_an_error() -> None:
    with pytest.raises(ValueError, match="label"):
        build_pairs(["q"], ["maybe"], [["a", "b"]], [[C, R]])


def test_rows_alternate_chosen_and_rejected_and_decode_back() -> None:
    pairs = [Pair("p1", "safe", "c1", "r1"), Pair("p2", "unsafe", "c2", "r2")]
    rows = pair_rows(pairs)
    assert [(r.prompt, r.response, r.label, r.type) for r in rows] == [
        ("p1", "c1", "safe", "chosen"),
        ("p1", "r1", "safe", "rejected"),
        ("p2", "c2", "unsafe", "chosen"),
        ("p2", "r2", "unsafe", "rejected"),
    ]
    stored = [SimpleNamespace(idx=i, **vars(r)) for i, r in enumerate(rows)]
    assert rows_to_pairs(stored) == pairs


def test_rows_that_do_not_pair_are_refused() -> None:
    rows = pair_rows([Pair("p1", "safe", "c1", "r1")])
    stored = [SimpleNamespace(idx=i, **vars(r)) for i, r in enumerate(reversed(rows))]
    with pytest.raises(ValueError, match="not a chosen/rejected pair"):
        rows_to_pairs(stored)
    with pytest.raises(ValueError, match="odd"):
        rows_to_pairs(stored[:1])


@pytest.mark.parametrize(
    ("model", "params", "field"),
    [
        (PreferenceDataParams, {"prompt_dataset_ids": [1], "name": "x"}, "teacher_model_id"),
        (DPOParams, {"base_model_name": "m", "dataset_id": 1, "dataset_name": "d"}, "dataset_id"),
        (
            DPOParams,
            {"base_model_name": "m", "dataset_id": 1, "lora_rank": 4, "reference_model_name": "r"},
            "reference_model_name",
        ),
    ],
)
def test_params_name_the_field_at_fault(model, params, field) -> None:
    with pytest.raises(ValidationError) as err:
        model(**params)
    assert err.value.errors()[0]["ctx"]["error"].field == field


def test_dpo_defaults_to_the_sigmoid_loss() -> None:
    assert DPOParams(base_model_name="m", dataset_id=1).loss_type == "sigmoid"
