"""VCL: concentration measures against numpy, gradients through the bridge's hooks, sign,
validation, and the direction of a few optimisation steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_fixtures import PROMPTS, build_tiny_model_dir
from pydantic import ValidationError

from backend.jobs.params.evaluation import SweepParams
from backend.jobs.params.training import FinetuneParams
from worker.models.demo import encode_example
from worker.models.loading import LoadedModel, load_model
from worker.science.batching import collate_sft
from worker.science.vcl import (
    MEASURES,
    capture_residuals,
    concentration,
    sft_loss,
    vcl_term,
    vcl_window,
)

RESPONSES = ["Use kill -9 with the pid.", "I'm sorry, but I can't help with that."]
EXAMPLES = [(p, RESPONSES[i % 2]) for i, p in enumerate(PROMPTS * 2)]  # 10 examples


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory):
    return build_tiny_model_dir(tmp_path_factory.mktemp("tiny"))


@pytest.fixture()
def tiny(tiny_dir) -> LoadedModel:
    """A fresh model per test (tests train it)."""
    model = load_model(str(tiny_dir))
    model.bridge.train()
    return model


def _batch(model: LoadedModel) -> dict[str, torch.Tensor]:
    encoded = [encode_example(model.tokenizer, p, r) for p, r in EXAMPLES]
    batch = collate_sft(encoded, model.tokenizer.pad_token_id)
    batch["response"] = batch["labels"] != -100
    return batch


def _numpy_topk(R: np.ndarray, k: int) -> float:
    Rc = R - R.mean(axis=0)
    ev = np.linalg.eigvalsh(np.cov(Rc.T))[::-1]
    return float(ev[:k].sum() / ev.sum())


def _numpy_inverse_participation_ratio(R: np.ndarray) -> float:
    Rc = R - R.mean(axis=0)
    C = Rc.T @ Rc
    return float((C**2).sum() / np.trace(C) ** 2)


@pytest.mark.parametrize("shape", [(12, 40), (60, 16)])
@pytest.mark.parametrize("k", [1, 3])
def test_concentration_matches_numpy(shape: tuple[int, int], k: int) -> None:
    rng = np.random.default_rng(0)
    R = rng.standard_normal(shape) * np.linspace(3, 0.1, shape[1]) + 5.0
    t = torch.tensor(R, dtype=torch.float64)
    assert concentration(t, k, "topk").item() == pytest.approx(_numpy_topk(R, k), rel=1e-9)
    got = concentration(t, k, "inverse_participation_ratio").item()
    assert got == pytest.approx(_numpy_inverse_participation_ratio(R), rel=1e-9)
    ev = np.linalg.eigvalsh(np.cov(R.T))  # participation_ratio = (sum ev)^2 / sum ev^2
    assert got == pytest.approx(1 / (ev.sum() ** 2 / (ev**2).sum()), rel=1e-9)
    # float32 is close too
    assert concentration(t.float(), k).item() == pytest.approx(_numpy_topk(R, k), rel=1e-4)


def test_inverse_participation_ratio_is_one_for_rank_one_and_one_over_d_for_isotropic() -> None:
    u = torch.randn(1, 8, dtype=torch.float64)
    R = torch.randn(20, 1, dtype=torch.float64) @ u
    assert concentration(R, 1, "inverse_participation_ratio").item() == pytest.approx(1.0)
    assert concentration(R, 1, "topk").item() == pytest.approx(1.0)
    iso = torch.eye(8, dtype=torch.float64).repeat(2, 1)
    iso = torch.cat([iso, -iso])  # centred, equal variance on every axis
    assert concentration(iso, 1, "inverse_participation_ratio").item() == pytest.approx(1 / 8)
    assert concentration(iso, 2, "topk").item() == pytest.approx(2 / 8)


def test_params_offer_the_vcl_measures_and_accept_the_old_name() -> None:
    ref = {"base_model_id": 1, "general_dataset_id": 1, "safety_dataset_id": 1}
    offered = FinetuneParams.model_json_schema()["properties"]["vcl_measure"]["enum"]
    assert tuple(offered) == MEASURES
    # jobs stored before the rename say "participation": they still validate, renamed
    old = FinetuneParams.model_validate({**ref, "vcl_measure": "participation"})
    assert old.vcl_measure == "inverse_participation_ratio"
    assert old.model_dump()["vcl_measure"] == "inverse_participation_ratio"
    SweepParams.model_validate({"base_model_id": 1, "finetune": {"vcl_measure": "participation"}})
    with pytest.raises(ValidationError, match="vcl_measure"):
        FinetuneParams.model_validate({**ref, "vcl_measure": "entropy"})


def test_window() -> None:
    assert vcl_window(4) == [1]
    assert vcl_window(16) == [4, 5, 6, 7]
    assert vcl_window(2) == [0]
    assert vcl_window(10, 0.0, 1.0) == list(range(10))
    with pytest.raises(ValueError, match="window"):
        vcl_window(4, 0.5, 0.5)
    with pytest.raises(ValueError, match="window"):
        vcl_window(4, 0.6, 0.3)


def test_rows_and_options_validation() -> None:
    R = torch.randn(4, 8)
    with pytest.raises(ValueError, match="batch rows"):
        concentration(R, 3)
    with pytest.raises(ValueError, match="batch rows"):
        concentration(R, 3, "inverse_participation_ratio")
    concentration(R, 2)  # 4 > 3
    with pytest.raises(ValueError, match="measure"):
        concentration(R, 1, "entropy")
    with pytest.raises(ValueError, match="sign"):
        vcl_term({0: R}, 1, sign="up")


def test_sign_flips_the_term() -> None:
    R = {0: torch.randn(16, 8), 1: torch.randn(16, 8) * torch.linspace(2, 0.1, 8)}
    for measure in ("topk", "inverse_participation_ratio"):
        pen, per = vcl_term(R, 2, measure, "penalise")
        enc, per2 = vcl_term(R, 2, measure, "encourage")
        assert pen.item() == pytest.approx(-enc.item())
        assert pen.item() == pytest.approx(np.mean(list(per.values())))
        assert (
            per == per2 and set(per) == {0, 1} and all(isinstance(v, float) for v in per.values())
        )


def test_sft_loss_matches_hf_loss(tiny: LoadedModel) -> None:
    batch = _batch(tiny)
    hf = tiny.bridge.original_model
    with torch.no_grad():
        ref = hf(batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])
        logits = tiny.bridge(batch["input_ids"], attention_mask=batch["attention_mask"])
    assert sft_loss(logits, batch["labels"]).item() == pytest.approx(ref.loss.item(), rel=1e-5)


@pytest.mark.parametrize("position", ["last_prompt", "response"])
@pytest.mark.parametrize("measure", ["topk", "inverse_participation_ratio"])
def test_gradient_flows_from_vcl_term_alone(tiny: LoadedModel, position: str, measure: str) -> None:
    batch = _batch(tiny)
    bridge = tiny.bridge
    with capture_residuals(
        bridge, [0, 1], position=position, index=batch["last_prompt_index"], mask=batch["response"]
    ) as resid:
        bridge(batch["input_ids"], attention_mask=batch["attention_mask"])
    rows = len(EXAMPLES) if position == "last_prompt" else int(batch["response"].sum())
    assert resid[0].shape == (rows, tiny.d_model) and resid[0].requires_grad
    term, per_layer = vcl_term(resid, 2, measure)
    bridge.zero_grad(set_to_none=True)
    term.backward()
    grads = [p.grad for p in bridge.original_model.model.layers[0].parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0
    emb = bridge.original_model.model.embed_tokens.weight.grad
    assert emb is not None and float(emb.abs().sum()) > 0
    # hooks are gone after the context: a later forward records nothing
    resid.clear()
    with torch.no_grad():
        bridge(batch["input_ids"], attention_mask=batch["attention_mask"])
    assert resid == {}


def test_last_prompt_rows_are_the_last_prompt_residuals(tiny: LoadedModel) -> None:
    batch = _batch(tiny)
    with torch.no_grad():
        with capture_residuals(tiny.bridge, [0], index=batch["last_prompt_index"]) as resid:
            tiny.bridge(batch["input_ids"], attention_mask=batch["attention_mask"])
        out = tiny.bridge.original_model(
            batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True
        )
    # hidden_states[l + 1] is block l's output (the last one is after the final norm)
    expected = out.hidden_states[1][torch.arange(len(EXAMPLES)), batch["last_prompt_index"]]
    torch.testing.assert_close(resid[0], expected, rtol=1e-5, atol=1e-5)


def _train_conc(model: LoadedModel, sign: str, measure: str, steps: int = 20) -> float:
    torch.manual_seed(0)
    batch = _batch(model)
    bridge = model.bridge
    opt = torch.optim.Adam(bridge.original_model.parameters(), lr=3e-3)
    for _ in range(steps):
        with capture_residuals(bridge, [0, 1], index=batch["last_prompt_index"]) as resid:
            logits = bridge(batch["input_ids"], attention_mask=batch["attention_mask"])
        term, _ = vcl_term(resid, 2, measure, sign)
        loss = sft_loss(logits, batch["labels"]) + 1.0 * term
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with (
        torch.no_grad(),
        capture_residuals(bridge, [0, 1], index=batch["last_prompt_index"]) as resid,
    ):
        bridge(batch["input_ids"], attention_mask=batch["attention_mask"])
    return vcl_term(resid, 2, measure)[0].item()


@pytest.fixture(scope="module")
def shared(tiny_dir) -> LoadedModel:
    return load_model(str(tiny_dir))


@pytest.mark.parametrize("measure", ["topk", "inverse_participation_ratio"])
def test_optimisation_moves_concentration_in_the_signed_direction(
    shared: LoadedModel, measure: str
) -> None:
    hf = shared.bridge.original_model
    initial = {k: v.clone() for k, v in hf.state_dict().items()}
    batch = _batch(shared)
    with (
        torch.no_grad(),
        capture_residuals(shared.bridge, [0, 1], index=batch["last_prompt_index"]) as r,
    ):
        shared.bridge(batch["input_ids"], attention_mask=batch["attention_mask"])
    start = vcl_term(r, 2, measure)[0].item()
    ends = {}
    for sign in ("penalise", "encourage"):
        hf.load_state_dict(initial)
        shared.bridge.train()
        ends[sign] = _train_conc(shared, sign, measure)
    hf.load_state_dict(initial)
    assert ends["penalise"] < start < ends["encourage"]
