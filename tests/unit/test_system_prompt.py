"""System prompts through the chat template: a system turn where the template has a system role,
prepended to the user turn (blank line between) where it raises on one or drops it."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from tests.unit.model_fixtures import TEXTS, build_tiny_model_dir
from worker.models.demo import train_tokenizer
from worker.science.capture import chat_prompt_ids, system_prompt_mode

SYSTEM = "You are a careful assistant."
# Gemma's rule, written out: no system role, and an error if one is given
RAISES_ON_SYSTEM = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
# a template that silently drops what it does not know
DROPS_SYSTEM = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] != 'system' %}"
    "<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS * 3, vocab_size=300)


def _with_template(tokenizer, template: str):
    other = copy.deepcopy(tokenizer)
    other.chat_template = template
    return other


def _decode(tokenizer, ids: list[int]) -> str:
    return tokenizer.decode(ids, skip_special_tokens=False)


def test_demo_template_renders_a_system_turn(tokenizer) -> None:
    assert system_prompt_mode(tokenizer, SYSTEM, True) == "system_role"
    (ids,) = chat_prompt_ids(tokenizer, ["Hi"], True, SYSTEM)
    expected = f"<|bos|><|system|>{SYSTEM}<|end|><|user|>Hi<|end|><|assistant|>"
    assert _decode(tokenizer, ids) == expected


@pytest.mark.parametrize("template", [RAISES_ON_SYSTEM, DROPS_SYSTEM], ids=["raises", "drops"])
def test_template_without_system_role_gets_it_prepended(tokenizer, template) -> None:
    tok = _with_template(tokenizer, template)
    assert system_prompt_mode(tok, SYSTEM, True) == "prepended"
    (ids,) = chat_prompt_ids(tok, ["Hi"], True, SYSTEM)
    assert _decode(tok, ids) == f"<|bos|><|user|>{SYSTEM}\n\nHi<|end|><|assistant|>"


def test_without_system_prompt_nothing_changes(tokenizer) -> None:
    assert system_prompt_mode(tokenizer, None, True) is None
    (ids,) = chat_prompt_ids(tokenizer, ["Hi"], True, None)
    assert _decode(tokenizer, ids) == "<|bos|><|user|>Hi<|end|><|assistant|>"


def test_plain_text_gets_it_prepended(tokenizer) -> None:
    assert system_prompt_mode(tokenizer, SYSTEM, False) == "prepended"
    (ids,) = chat_prompt_ids(tokenizer, ["Hi"], False, SYSTEM)
    assert _decode(tokenizer, ids) == f"<|bos|>{SYSTEM}\n\nHi"


def test_generation_and_refusal_score_use_the_system_prompt(tmp_path) -> None:
    """Both equal their runs on the prompt written out by hand in the Gemma-style fallback,
    and the system prompt changes the demo model's refusal score."""
    from worker.models.loading import load_model
    from worker.science.generation import generate, refusal_score

    model = load_model(str(build_tiny_model_dir(tmp_path / "m")))
    prompts = ["Hi", "What is the capital of France?"]
    r_ids = [5, 9]
    with_system = refusal_score(model, prompts, r_ids, system_prompt=SYSTEM)
    without = refusal_score(model, prompts, r_ids)
    assert not np.allclose(with_system, without)

    model.tokenizer.chat_template = RAISES_ON_SYSTEM
    written_out = [f"{SYSTEM}\n\n{p}" for p in prompts]
    np.testing.assert_allclose(
        refusal_score(model, prompts, r_ids, system_prompt=SYSTEM),
        refusal_score(model, written_out, r_ids),
        rtol=1e-9,
    )
    assert generate(model, prompts, max_new_tokens=5, system_prompt=SYSTEM) == generate(
        model, written_out, max_new_tokens=5
    )
