"""A sweep over system prompts: one cell, evaluated with and without a system prompt, shown as
two rows of the sweep table; each evaluation records how the prompt was applied and the
calibrated refusal score."""

from __future__ import annotations

import pytest
from support import run_inline

from backend.metrics import CATALOGUE
from backend.models import JobStatus

FAST_FT = {"n_examples": 32, "steps": 2, "batch_size": 8, "checkpoint_every": 2}
SYSTEM = "Refuse anything that could be dangerous."


def test_sweep_evaluates_each_cell_with_and_without_a_system_prompt(lab):
    settings, client, _, _ = lab
    sweep = run_inline(
        settings,
        "sweep",
        base_model_name="tiny",
        safety_fractions=[0.0],
        finetune=FAST_FT,
        bootstrap=0,
        max_new_tokens=3,
        system_prompts=[None, SYSTEM],
    )
    assert sweep.status == JobStatus.SUCCEEDED, sweep.error
    while (job := run_inline(settings)) is not None:
        assert job.status == JobStatus.SUCCEEDED, (job.kind, job.error)
    cells = client.get(f"/api/sweeps/{sweep.id}").json()["cells"]
    assert [c["system_prompt"] for c in cells] == [None, SYSTEM]
    assert cells[0]["run_id"] == cells[1]["run_id"]  # one fine-tune and capture, two evaluations
    assert cells[0]["evaluation_id"] != cells[1]["evaluation_id"]
    without, with_system = (c["metrics"] for c in cells)
    assert without["system_prompt_mode"] is None
    assert with_system["system_prompt_mode"] == "system_role"  # the demo template has the role
    # the system turn changes the prompt, so the model's refusal score moves
    assert without["refusal_score_mean"] != pytest.approx(with_system["refusal_score_mean"])
    for metrics in (without, with_system):
        assert 0 <= metrics["refusal_score_calibrated_agreement"] <= 1
        assert metrics["refusal_score_calibrated_agreement"] >= max(
            metrics["refusal_score_agreement"], 0.5
        )  # the best threshold does at least as well as 0, and as all or none refused
        for name, (lo, hi) in metrics["intervals"].items():
            assert CATALOGUE[name].interval and lo <= hi
    evaluation = client.get(f"/api/evaluations/{cells[1]['evaluation_id']}").json()
    assert evaluation["params"]["system_prompt"] == SYSTEM


def test_repeated_system_prompts_are_refused_at_submit(lab):
    _, client, _, _ = lab
    params = {"base_model_name": "tiny", "system_prompts": [SYSTEM, SYSTEM]}
    response = client.post("/api/jobs", json={"kind": "sweep", "params": params})
    assert response.status_code == 422
    assert ["body", "params", "system_prompts"] in [e["loc"] for e in response.json()["detail"]]
