"""The rule of "the model reads these harmless prompts as harmful from layer l on"
(frontend/probe_view.py), on per-layer splits written by hand."""

from __future__ import annotations

from frontend.probe_view import harmful_from, reading_sentence

HOLDS = {"refused": [0.6, 0.9, 0.7], "answered": [0.1, 0.2]}  # medians 0.7 and 0.15
LOW = {"refused": [0.2, 0.4, 0.9], "answered": [0.1]}  # refused median 0.4: fails


def test_first_layer_from_which_it_holds_at_every_later_layer():
    assert harmful_from([LOW, LOW, HOLDS, HOLDS]) == 2
    assert harmful_from([HOLDS, LOW, HOLDS]) == 2  # broken at layer 1: starts again
    assert harmful_from([HOLDS, HOLDS, LOW]) is None  # not at the last layer
    assert harmful_from([HOLDS]) == 0


def test_boundaries_and_empty_groups():
    at_half = {"refused": [0.5], "answered": [0.1]}  # 0.5 does not exceed 0.5
    answered_at_half = {"refused": [0.8], "answered": [0.4, 0.6]}  # median 0.5 does not exceed
    answered_high = {"refused": [0.8], "answered": [0.6]}
    assert harmful_from([at_half]) is None
    assert harmful_from([answered_at_half]) == 0
    assert harmful_from([answered_high]) is None
    assert harmful_from([{"refused": [], "answered": [0.1]}]) is None
    assert harmful_from([{"refused": [0.9], "answered": []}]) is None


def test_sentence():
    assert reading_sentence([LOW, HOLDS]) == (
        "The model reads these harmless prompts as harmful from layer 1 on."
    )
    none_refused = [{"refused": [], "answered": [0.1]}]
    assert reading_sentence(none_refused) == "No safe prompt the probe scored was refused."
    assert reading_sentence([HOLDS, LOW]).startswith("The probe does not read")
