"""Batches of token-id sequences: cutting into batches, left and right padding with an
attention mask, and the one supervised fine-tuning collate (demo training, fine-tuning,
held-out loss).

Left padding serves generation (every row's next token sits in the last column); right
padding serves capture and training (causal attention keeps real tokens independent of the
padding after them, and default positions stay right).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import torch

T = TypeVar("T")
IGNORE = -100  # label of tokens without loss (prompt and padding), as Hugging Face


def batches(items: Sequence[T], size: int) -> list[list[T]]:
    """``items`` cut in order into batches of ``size`` (the last one may be shorter)."""
    if size < 1:
        raise ValueError(f"batch_size: must be >= 1, got {size}")
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def by_length(seqs: Sequence[Sequence[int]], size: int) -> list[list[int]]:
    """Indices of ``seqs`` sorted by length (ties in order), in batches of ``size``: similar
    lengths share a batch, so little padding."""
    return batches(sorted(range(len(seqs)), key=lambda i: len(seqs[i])), size)


def pad_id(tokenizer: Any) -> int:
    """The tokenizer's pad id, else its EOS id, else 0 (padding is masked either way)."""
    if tokenizer.pad_token_id is not None:
        return int(tokenizer.pad_token_id)
    if tokenizer.eos_token_id is not None:
        return int(tokenizer.eos_token_id)
    return 0


def _pad(
    seqs: Sequence[Sequence[int]], pad: int, left: bool, device: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        cols = slice(width - len(seq), width) if left else slice(0, len(seq))
        ids[row, cols] = torch.tensor(seq, dtype=torch.long)
        mask[row, cols] = 1
    return ids.to(device), mask.to(device)


def pad_left(
    seqs: Sequence[Sequence[int]], pad: int, device: Any = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded ids (B, T) and attention mask (1 on real tokens), both long."""
    return _pad(seqs, pad, True, device)


def pad_right(
    seqs: Sequence[Sequence[int]], pad: int, device: Any = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids (B, T) and attention mask (1 on real tokens), both long."""
    return _pad(seqs, pad, False, device)


def collate_sft(examples: Sequence[tuple[list[int], int]], pad: int) -> dict[str, torch.Tensor]:
    """Right-padded batch of ``(ids, n_prompt)`` examples (as ``encode_example`` returns).

    ``input_ids`` and ``attention_mask`` (B, T); ``labels`` (B, T) are the ids on response
    tokens and -100 on prompt and padding; ``last_prompt_index`` (B,) is each example's last
    prompt token (where VCL reads its "last_prompt" residual).
    """
    import torch

    ids, mask = pad_right([seq for seq, _ in examples], pad)
    labels = torch.full_like(ids, IGNORE)
    for row, (seq, n_prompt) in enumerate(examples):
        labels[row, n_prompt : len(seq)] = ids[row, n_prompt : len(seq)]
    last = torch.tensor([n_prompt - 1 for _, n_prompt in examples])
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "labels": labels,
        "last_prompt_index": last,
    }
