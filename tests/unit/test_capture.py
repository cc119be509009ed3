"""Residual capture: shapes, batch independence, early stop, streaming covariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_fixtures import PROMPTS, build_tiny_model_dir

from worker.models.loading import LoadedModel, load_model
from worker.science.capture import (
    capture_all_tokens_covariance,
    capture_last_prompt,
    chat_prompt_ids,
    hook_name,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    return load_model(str(build_tiny_model_dir(tmp_path_factory.mktemp("tiny"))))


def _all_token_acts(model: LoadedModel, prompts: list[str], hook: str) -> list[np.ndarray]:
    """Per layer, the (tokens, d) matrix of every prompt token, one prompt at a time."""
    ids = chat_prompt_ids(model.tokenizer, prompts, chat_template=True)
    names = [hook_name(layer, hook) for layer in range(model.n_layers)]
    rows: list[list[np.ndarray]] = [[] for _ in names]
    with torch.inference_mode():
        for seq in ids:
            _, cache = model.bridge.run_with_cache(torch.tensor([seq]), names_filter=names)
            for j, name in enumerate(names):
                rows[j].append(cache[name][0].double().numpy())
    return [np.concatenate(r) for r in rows]


def test_chat_prompt_ids_use_template(tiny: LoadedModel) -> None:
    chat = chat_prompt_ids(tiny.tokenizer, ["Hi"], chat_template=True)[0]
    plain = chat_prompt_ids(tiny.tokenizer, ["Hi"], chat_template=False)[0]
    assert tiny.tokenizer.decode(chat) == "<|bos|><|user|>Hi<|end|><|assistant|>"
    assert tiny.tokenizer.decode(plain) == "<|bos|>Hi"


@pytest.mark.parametrize("hook", ["resid_pre", "resid_mid", "resid_post"])
def test_last_prompt_shape_and_values(tiny: LoadedModel, hook: str) -> None:
    acts = capture_last_prompt(tiny, PROMPTS, hook=hook, batch_size=2)
    assert acts.shape == (len(PROMPTS), tiny.n_layers, tiny.d_model)
    assert acts.dtype == np.float32
    full = _all_token_acts(tiny, PROMPTS, hook)
    ends = np.cumsum([len(s) for s in chat_prompt_ids(tiny.tokenizer, PROMPTS, True)]) - 1
    for layer in range(tiny.n_layers):
        np.testing.assert_allclose(acts[:, layer], full[layer][ends], rtol=1e-4, atol=1e-5)


def test_last_prompt_does_not_depend_on_batch(tiny: LoadedModel) -> None:
    alone = np.stack([capture_last_prompt(tiny, [p], batch_size=1)[0] for p in PROMPTS])
    batched = capture_last_prompt(tiny, PROMPTS, batch_size=len(PROMPTS))
    rel = np.linalg.norm(batched - alone, axis=-1) / np.linalg.norm(alone, axis=-1)
    assert rel.max() < 1e-4


def test_layer_subset_and_early_stop(tiny: LoadedModel) -> None:
    everything = capture_last_prompt(tiny, PROMPTS)
    later: list[str] = []
    tiny.bridge.add_hook("blocks.1.hook_resid_pre", lambda t, hook: later.append(hook.name))
    try:
        first = capture_last_prompt(tiny, PROMPTS, layers=[0])
    finally:
        tiny.bridge.reset_hooks()
    np.testing.assert_array_equal(first[:, 0], everything[:, 0])
    assert later == []  # the forward pass stopped after block 0
    assert not any(hp._forward_hooks for hp in tiny.bridge.hook_dict.values())  # all removed


def test_progress_is_reported(tiny: LoadedModel) -> None:
    seen: list[float] = []
    capture_last_prompt(tiny, PROMPTS, batch_size=2, progress=lambda f, _msg: seen.append(f))
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_streaming_covariance_matches_explicit(tiny: LoadedModel) -> None:
    acc = capture_all_tokens_covariance(tiny, PROMPTS, hook="resid_mid", batch_size=2)
    covs, means = acc.covariance(), acc.mean
    full = _all_token_acts(tiny, PROMPTS, "resid_mid")
    assert acc.n == full[0].shape[0]
    assert covs.shape == (tiny.n_layers, tiny.d_model, tiny.d_model) and covs.dtype == np.float64
    for layer in range(tiny.n_layers):
        np.testing.assert_allclose(means[layer], full[layer].mean(0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(covs[layer], np.cov(full[layer].T), rtol=1e-4, atol=1e-6)
        norm = np.linalg.norm(full[layer], axis=1).mean()
        assert acc.mean_norm[layer] == pytest.approx(norm, rel=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"hook": "resid"}, "hook"), ({"layers": [5]}, "layers"), ({"batch_size": 0}, "batch_size")],
)
def test_bad_arguments_name_the_field(tiny: LoadedModel, kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        capture_last_prompt(tiny, PROMPTS, **kwargs)


def test_tokenizer_without_template_is_refused() -> None:
    class Plain:
        chat_template = None

    with pytest.raises(ValueError, match="^chat_template:"):
        chat_prompt_ids(Plain(), ["Hi"], chat_template=True)
