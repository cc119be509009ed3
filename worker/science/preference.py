"""Preference pairs for the DPO baseline (POROver): sampled completions of a teacher
(``generation.generate`` at a temperature), labelled by a refusal classifier, paired so that
a safe prompt prefers compliance and an unsafe prompt prefers refusal (docs/training.md,
"DPO").

Stored as a Dataset of format ``preference``: two rows per pair, idx ``2k`` (type ``chosen``)
and ``2k + 1`` (type ``rejected``), the same prompt and label, the completion as the response.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backend.dataset_import import Row  # a DatasetRow-shaped row, as add_dataset takes

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
