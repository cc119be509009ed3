"""Batching and padding: batches in order, length-sorted batches, left/right padding with the
attention mask, and the supervised fine-tuning collate (values worked out by hand)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from worker.science.batching import batches, by_length, collate_sft, pad_id, pad_left, pad_right

SEQS = [[5, 6, 7], [8], [9, 10]]


def test_batches_keep_order_and_cut_the_last_short() -> None:
    assert batches(list("abcde"), 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert batches(list("ab"), 5) == [["a", "b"]]
    assert batches([], 3) == []
    with pytest.raises(ValueError, match="batch_size"):
        batches([1], 0)


def test_by_length_sorts_indices_by_length_ties_in_order() -> None:
    # lengths 3, 1, 2, 1 -> order 1, 3 (both length 1, in order), 2, 0
    assert by_length([[1, 2, 3], [4], [5, 6], [7]], 2) == [[1, 3], [2, 0]]


def test_pad_left_and_right() -> None:
    ids, mask = pad_left(SEQS, 0)
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8], [0, 9, 10]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1], [0, 1, 1]]
    ids, mask = pad_right(SEQS, 2)
    assert ids.tolist() == [[5, 6, 7], [8, 2, 2], [9, 10, 2]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    assert ids.dtype == mask.dtype == torch.long and ids.device.type == "cpu"


def test_pad_id_falls_back_to_eos_then_zero() -> None:
    assert pad_id(SimpleNamespace(pad_token_id=3, eos_token_id=4)) == 3
    assert pad_id(SimpleNamespace(pad_token_id=None, eos_token_id=4)) == 4
    assert pad_id(SimpleNamespace(pad_token_id=None, eos_token_id=None)) == 0


def test_collate_sft_labels_only_the_response() -> None:
    # (ids, n_prompt): prompt [5, 6] then response [7, 8]; prompt [9] then response [10]
    batch = collate_sft([([5, 6, 7, 8], 2), ([9, 10], 1)], pad=0)
    assert set(batch) == {"input_ids", "attention_mask", "labels", "last_prompt_index"}
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8], [9, 10, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert batch["labels"].tolist() == [[-100, -100, 7, 8], [-100, 10, -100, -100]]
    assert batch["last_prompt_index"].tolist() == [1, 0]  # n_prompt - 1
