"""Interventions on the refusal direction through the bridge's hook points (tiny random Llama):
what each hook point sees under ablate and add, the KL cost worked by hand, and generation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from model_fixtures import PROMPTS, build_tiny_model_dir

from worker.models.loading import load_model
from worker.science.capture import hook_name
from worker.science.generation import first_response_logprobs, generate
from worker.science.interventions import (
    Intervention,
    applied,
    kl_cost,
    kl_of,
    refusal_direction,
)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return load_model(str(build_tiny_model_dir(tmp_path_factory.mktemp("tiny"))), device="cpu")


def _unit(d: int, seed: int = 1) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=d)
    return v / np.linalg.norm(v)


def _seen(model, names, intervention=None) -> dict[str, np.ndarray]:
    """What a reader hook registered after the intervention's sees at each of ``names``."""
    import torch

    seen = {}

    def reader(name):
        def keep(x, hook):
            seen[name] = x.detach().double().numpy().copy()
            return x

        return keep

    ids = torch.tensor([[1, 5, 9, 13, 2]])
    readers = [(name, reader(name)) for name in names]
    with applied(model, intervention), model.bridge.hooks(fwd_hooks=readers):
        model.bridge.original_model(input_ids=ids)
    return seen


def test_refusal_direction_by_hand():
    X = np.zeros((4, 1, 2))
    X[:, 0] = [[0, 0], [2, 0], [4, 4], [6, 4]]  # safe means (1, 0), unsafe (5, 4)
    r = refusal_direction(X, np.array([0, 0, 1, 1]), layer=0)
    assert r == pytest.approx([1 / math.sqrt(2), 1 / math.sqrt(2)])
    with pytest.raises(ValueError, match="both safe and unsafe"):
        refusal_direction(X, np.zeros(4), layer=0)


def test_ablation_leaves_no_component_at_any_layer(model):
    r = _unit(model.d_model)
    names = [hook_name(i, "resid_pre") for i in range(model.n_layers)]
    names.append(hook_name(model.n_layers - 1, "resid_post"))
    base = _seen(model, names)
    ablated = _seen(model, names, Intervention("ablate", r, layer=0))
    for name in names:
        assert np.abs(base[name] @ r).max() > 1e-2  # there was a component to remove
        assert np.abs(ablated[name] @ r).max() < 1e-5
    # the first hook point sees the embeddings minus their projection, exactly
    first = base[names[0]]
    assert ablated[names[0]] == pytest.approx(first - (first @ r)[..., None] * r, abs=1e-5)


def test_add_shifts_one_layer_by_alpha_mean_norm(model):
    r = _unit(model.d_model)
    names = [hook_name(0, "resid_post"), hook_name(1, "resid_pre"), hook_name(0, "resid_pre")]
    base = _seen(model, names)
    added = _seen(model, names, Intervention("add", r, layer=0, alpha=-2.0, mean_norm=3.0))
    for name in names[:2]:  # layer 0's output is layer 1's input
        shift = np.broadcast_to(-6.0 * r, base[name].shape)
        assert added[name] - base[name] == pytest.approx(shift, abs=1e-5)  # float32
    assert np.array_equal(added[names[2]], base[names[2]])  # before the layer: untouched


def test_kl_cost_by_hand():
    base = np.log([[0.5, 0.5], [0.2, 0.8]])
    other = np.log([[0.9, 0.1], [0.2, 0.8]])
    # row 1: 0.5 ln(0.5/0.9) + 0.5 ln(0.5/0.1) = 0.510826; row 2: 0
    assert kl_cost(base, other) == pytest.approx(0.510826 / 2, abs=1e-6)
    assert kl_cost(base, base) == 0.0


def test_kl_and_generation_under_interventions(model):
    r = _unit(model.d_model)
    none = Intervention("add", r, layer=1, alpha=0.0, mean_norm=5.0)
    assert kl_of(model, PROMPTS, none) == pytest.approx(0.0, abs=1e-12)
    strong = Intervention("add", r, layer=1, alpha=8.0, mean_norm=5.0)
    cost = kl_of(model, PROMPTS, strong)
    base = first_response_logprobs(model, PROMPTS)
    with applied(model, strong):
        shifted = first_response_logprobs(model, PROMPTS)
    assert cost > 0 and cost == pytest.approx(kl_cost(base, shifted))
    plain = generate(model, PROMPTS, max_new_tokens=6, batch_size=2)
    with applied(model, none):
        assert generate(model, PROMPTS, max_new_tokens=6, batch_size=2) == plain
    with applied(model, strong):
        steered = generate(model, PROMPTS, max_new_tokens=6, batch_size=2)
    assert steered != plain
    assert generate(model, PROMPTS, max_new_tokens=6, batch_size=2) == plain  # hooks removed
