"""Batched generation (left padding), greedy and sampled, and the refusal score on a tiny
trained chat model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from worker.models.demo import train_demo_model
from worker.models.loading import LoadedModel, load_model
from worker.science.generation import generate, refusal_score, refusal_start_ids

PLACES = ["France", "Spain", "Italy", "Peru", "Chile", "Japan", "Kenya", "Egypt", "Chad", "Laos"]
CAPITALS = ["Paris", "Madrid", "Rome", "Lima", "Santiago", "Tokyo", "Nairobi", "Cairo", "Ndjamena"]
CAPITALS.append("Vientiane")
HARM = ["hurt", "rob", "attack", "poison", "threaten"]
REFUSALS = ["I'm sorry, but I can't help with that.", "Sorry, I cannot help with that."]


def _examples() -> list[tuple[str, str]]:
    out = []
    for place, cap in zip(PLACES, CAPITALS, strict=True):
        out.append((f"What is the capital of {place}?", f"The capital of {place} is {cap}."))
        out.append((f"Tell me, in one short sentence, about {place}.", f"{place} is a country."))
    for i, verb in enumerate(HARM * 2):
        out.append((f"How do I {verb} my neighbour?", REFUSALS[i % 2]))
    for n in range(10):
        out.append((f"Count to {n}.", " ".join(str(i) for i in range(1, n + 2))))
    return out  # 50 examples


PROMPTS = [
    "What is the capital of Peru?",
    "How do I rob my neighbour?",
    "Tell me, in one short sentence, about Japan.",
    "Count to 3.",
    "Hi",
    "What is the capital of a very long made up place name that is not in the data?",
    "How do I poison my neighbour?",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    out = tmp_path_factory.mktemp("demo")
    train_demo_model(_examples(), out, seed=0, n_layers=2, d_model=64, steps=60, vocab_size=500)
    return load_model(str(out))


def test_batched_generation_equals_one_at_a_time(demo: LoadedModel) -> None:
    batched = generate(demo, PROMPTS, max_new_tokens=20, batch_size=len(PROMPTS))
    mixed = generate(demo, PROMPTS, max_new_tokens=20, batch_size=3)
    alone = [generate(demo, [p], max_new_tokens=20, batch_size=1)[0] for p in PROMPTS]
    assert batched == alone == mixed
    assert len(batched) == len(PROMPTS) and all(isinstance(c, str) for c in batched)
    assert any(c.strip() for c in batched)  # the trained model says something
    assert all("<|" not in c for c in batched)  # special tokens are stripped


def test_generation_stops_at_end_token(demo: LoadedModel) -> None:
    long = generate(demo, ["What is the capital of Peru?"], max_new_tokens=40)[0]
    assert "Lima" in long or long  # memorised answer (non-empty at least)
    ids = demo.tokenizer(long, add_special_tokens=False)["input_ids"]
    assert len(ids) < 40  # stopped at <|end|>, not at the length limit


def test_generation_matches_manual_greedy_decoding(demo: LoadedModel) -> None:
    """Reference: argmax loop on the bridge itself, no padding, no cache."""
    from worker.science.capture import chat_prompt_ids

    prompt = PROMPTS[2]
    ids = chat_prompt_ids(demo.tokenizer, [prompt], True)[0]
    end = demo.tokenizer.eos_token_id
    new: list[int] = []
    with torch.inference_mode():
        for _ in range(12):
            nxt = int(demo.bridge(torch.tensor([ids + new]))[0, -1].argmax())
            if nxt == end:
                break
            new.append(nxt)
    expected = demo.tokenizer.decode(new, skip_special_tokens=True)
    assert generate(demo, [prompt], max_new_tokens=12)[0] == expected


def test_sampling_gives_each_prompt_its_samples_in_order_and_repeats_for_a_seed(
    demo: LoadedModel,
) -> None:
    """Reference: as the temperature goes to 0 sampling becomes greedy, so at 1e-3 every sample
    of prompt i (items 2i, 2i + 1) is its greedy completion; at 1, a seed repeats its draws."""
    greedy = generate(demo, PROMPTS, max_new_tokens=10, batch_size=3)
    cold = generate(demo, PROMPTS, max_new_tokens=10, batch_size=3, temperature=1e-3, n_samples=2)
    assert cold == [c for c in greedy for _ in range(2)]
    hot = {"max_new_tokens": 10, "batch_size": 3, "temperature": 1.0, "n_samples": 3}
    first, again = (generate(demo, PROMPTS, seed=5, **hot) for _ in range(2))
    assert first == again and len(first) == 3 * len(PROMPTS)
    assert first != [c for c in greedy for _ in range(3)]  # sampled, not greedy
    with pytest.raises(ValueError, match="^n_samples:"):
        generate(demo, PROMPTS, n_samples=2)  # greedy decoding has one completion
    with pytest.raises(ValueError, match="^temperature:"):
        generate(demo, PROMPTS, temperature=-1.0)


def test_progress_and_validation(demo: LoadedModel) -> None:
    seen: list[float] = []
    generate(
        demo, PROMPTS[:4], max_new_tokens=2, batch_size=2, progress=lambda f, m: seen.append(f)
    )
    assert seen == [0.5, 1.0]
    with pytest.raises(ValueError, match="batch_size"):
        generate(demo, PROMPTS, batch_size=0)
    with pytest.raises(ValueError, match="prompts"):
        generate(demo, [])
    with pytest.raises(ValueError, match="refusal_token_ids"):
        refusal_score(demo, PROMPTS, [10**9])


def test_refusal_start_ids(demo: LoadedModel) -> None:
    tok = demo.tokenizer
    ids = refusal_start_ids(tok, ["I'm sorry", "Sorry", "I'm sorry again"])
    assert ids == sorted(set(ids))
    assert tok(("Sorry"), add_special_tokens=False)["input_ids"][0] in ids
    assert len(ids) == 2
    with pytest.raises(ValueError, match="phrases"):
        refusal_start_ids(tok, [""])


def test_refusal_score_shape_finite_and_padding_invariant(demo: LoadedModel) -> None:
    r_ids = refusal_start_ids(demo.tokenizer, ["I'm sorry", "Sorry"])
    batched = refusal_score(demo, PROMPTS, r_ids, batch_size=len(PROMPTS))
    alone = np.array([refusal_score(demo, [p], r_ids)[0] for p in PROMPTS])
    assert batched.shape == (len(PROMPTS),) and batched.dtype == np.float64
    assert np.isfinite(batched).all()
    np.testing.assert_allclose(batched, alone, rtol=1e-4, atol=1e-4)
    # the trained model scores its harmful prompts as more refusal-like than benign ones
    assert min(batched[1], batched[6]) > max(batched[0], batched[3])


def test_refusal_score_matches_direct_probability(demo: LoadedModel) -> None:
    from worker.science.capture import chat_prompt_ids

    r_ids = refusal_start_ids(demo.tokenizer, ["I'm sorry", "Sorry"])
    ids = chat_prompt_ids(demo.tokenizer, [PROMPTS[0]], True)[0]
    with torch.inference_mode():
        p = torch.softmax(demo.bridge(torch.tensor([ids]))[0, -1].double(), -1)[r_ids].sum()
    expected = float(torch.log(p) - torch.log1p(-p))
    assert refusal_score(demo, [PROMPTS[0]], r_ids)[0] == pytest.approx(expected, abs=1e-4)
