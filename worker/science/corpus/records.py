"""The record every built-in dataset is made of, and the seeded random source they share."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    prompt: str
    response: str  # "" for probe prompts (they are only prompted)
    label: str  # "safe" | "unsafe"
    type: str  # "general", "harmful", a probe type, "contrast_<type>", "control_<type>"


def seeded_rng(seed: int, part: str) -> random.Random:
    """The random source of one part of the corpus (``"general"``, ``"safety"``, ...) for
    ``seed``; seeded with a string, so independent of PYTHONHASHSEED."""
    return random.Random(f"flowlens-corpus:{seed}:{part}")
