"""Preference pairs for the DPO baseline (POROver): sampled completions of a teacher, labelled
by a refusal classifier, paired so that a safe prompt prefers compliance and an unsafe prompt
prefers refusal (docs/training.md, "DPO").

Stored as a Dataset of format ``preference``: two rows per pair, idx ``2k`` (type ``chosen``)
and ``2k + 1`` (type ``rejected``), the same prompt and label, the completion as the response.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backend.dataset_import import Row  # a DatasetRow-shaped row, as add_dataset takes
from worker.science.batching import by_length, pad_id, pad_left
from worker.science.capture import chat_prompt_ids

if TYPE_CHECKING:
    from worker.models.loading import LoadedModel

FORMAT = "preference"
# The verdicts a pair may use on each side, per prompt label. A partial refusal counts as a
# refusal of a safe prompt (it is one in the false refusal rate) but is never a chosen refusal
# of an unsafe prompt (it carries the content); ``unparsed`` verdicts are never used.
CHOSEN = {"safe": ("full_compliance",), "unsafe": ("full_refusal",)}
REJECTED = {
    "safe": ("full_refusal", "partial_refusal"),
    "unsafe": ("full_compliance", "partial_refusal"),
}


@dataclass(frozen=True)
class Pair:
    prompt: str
    label: str  # safe | unsafe
    chosen: str
    rejected: str


def build_pairs(
    prompts: Sequence[str],
    labels: Sequence[str],
    samples: Sequence[Sequence[str]],
    verdicts: Sequence[Sequence[str]],
) -> tuple[list[Pair], dict[str, int]]:
    """One pair per prompt that has both kinds among its samples: the first sample of the
    preferred kind over the first of the other; the counts of pairs and of skipped prompts."""
    pairs: list[Pair] = []
    counts = {"n_prompts": len(prompts), "pairs_safe": 0, "pairs_unsafe": 0}
    counts |= {"skipped_safe": 0, "skipped_unsafe": 0}
    for prompt, label, texts, marks in zip(prompts, labels, samples, verdicts, strict=True):
        if label not in CHOSEN:
            raise ValueError(f"label: expected safe or unsafe, got {label!r} for {prompt!r}")
        chosen = next((t for t, v in zip(texts, marks, strict=True) if v in CHOSEN[label]), None)
        rejected = next(
            (t for t, v in zip(texts, marks, strict=True) if v in REJECTED[label]), None
        )
        if chosen is None or rejected is None:
            counts[f"skipped_{label}"] += 1
            continue
        pairs.append(Pair(prompt, label, chosen, rejected))
        counts[f"pairs_{label}"] += 1
    counts["n_pairs"] = len(pairs)
    return pairs, counts


def pair_rows(pairs: Sequence[Pair]) -> list[Row]:
    """The dataset rows of ``pairs``: chosen at idx 2k, rejected at 2k + 1."""
    return [
        row
        for p in pairs
        for row in (
            Row(p.prompt, p.chosen, p.label, "chosen"),
            Row(p.prompt, p.rejected, p.label, "rejected"),
        )
    ]


def rows_to_pairs(rows: Sequence[Any]) -> list[Pair]:
    """The pairs of a ``preference`` dataset's rows (in idx order); ValueError if the rows do
    not alternate chosen/rejected over the same prompt."""
    if len(rows) % 2:
        raise ValueError(f"an odd number of rows ({len(rows)}): not a preference dataset")
    pairs = []
    for chosen, rejected in zip(rows[::2], rows[1::2], strict=True):
        if (chosen.type, rejected.type) != (
            "chosen",
            "rejected",
        ) or chosen.prompt != rejected.prompt:
            raise ValueError(f"rows {chosen.idx} and {rejected.idx} are not a chosen/rejected pair")
        pairs.append(Pair(chosen.prompt, chosen.label, chosen.response, rejected.response))
    return pairs


def sample_completions(
    model: LoadedModel,
    prompts: Sequence[str],
    *,
    n_samples: int,
    temperature: float,
    max_new_tokens: int,
    batch_size: int,
    seed: int,
    progress=None,
) -> list[list[str]]:
    """``n_samples`` sampled completions per prompt (chat template, the same stopping and
    decoding as ``generation.generate``), reproducible for a seed and batch size."""
    import torch

    from worker.science.generation import _stop_ids

    tok, hf = model.tokenizer, model.bridge.original_model
    seqs = chat_prompt_ids(tok, prompts, True, None)
    pad, stop = pad_id(tok), _stop_ids(tok, hf)
    out: list[list[str]] = [[] for _ in seqs]
    groups = by_length(seqs, batch_size)
    torch.manual_seed(seed)
    was_training = hf.training
    hf.eval()
    try:
        for b, rows in enumerate(groups):
            ids, mask = pad_left([seqs[i] for i in rows], pad, model.device)
            with torch.inference_mode():
                gen = hf.generate(
                    input_ids=ids,
                    attention_mask=mask,
                    max_new_tokens=max_new_tokens,
                    do_sample=True,
                    temperature=temperature,
                    top_p=None,
                    top_k=None,
                    num_return_sequences=n_samples,
                    eos_token_id=stop or None,
                    pad_token_id=pad,
                )
            for j, sequence in enumerate(gen.tolist()):
                new = sequence[ids.shape[1] :]
                cut = next((k for k, t in enumerate(new) if t in stop), len(new))
                out[rows[j // n_samples]].append(tok.decode(new[:cut], skip_special_tokens=True))
            if progress is not None:
                progress((b + 1) / len(groups), f"batch {b + 1}/{len(groups)}")
    finally:
        hf.train(was_training)
    return out
