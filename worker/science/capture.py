"""Residual-stream capture from a loaded TransformerBridge.

Batches are right-padded with an attention mask: causal attention keeps every real token
independent of the padding after it, and the bridge keeps default positions for right-padded
rows, so a prompt's residuals do not depend on its batch (measured: < 1e-6 relative).
Only the requested hook points are hooked, and the forward pass is cut off by an exception
right after the last needed hook has fired (the unembedding never runs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import numpy as np

from worker.science.batching import by_length, pad_right

if TYPE_CHECKING:
    import torch

    from worker.models.loading import LoadedModel
    from worker.science.covariance import StreamingCovariance

HOOKS = ("resid_pre", "resid_mid", "resid_post")
Progress = Callable[[float, str], None]
BatchFn = Callable[[int, "torch.Tensor", "torch.Tensor", "torch.Tensor"], None]


class _StopForward(Exception):
    """Raised from the last needed hook to end the forward pass early."""


def validate_hook(hook: str) -> str:
    """Normalise ``hook`` ("resid_post" or "hook_resid_post") or raise ValueError naming it."""
    name = hook.removeprefix("hook_")
    if name not in HOOKS:
        raise ValueError(f"hook: unknown hook point {hook!r}, expected one of {', '.join(HOOKS)}")
    return name


def hook_name(layer: int, hook: str) -> str:
    """Full TransformerLens hook name, e.g. ``blocks.3.hook_resid_post``."""
    return f"blocks.{layer}.hook_{validate_hook(hook)}"


def _validate_layers(layers: Sequence[int] | None, n_layers: int) -> list[int]:
    if layers is None:
        return list(range(n_layers))
    out = sorted(set(layers))
    if not out or out[0] < 0 or out[-1] >= n_layers:
        raise ValueError(f"layers: expected indices in 0..{n_layers - 1}, got {list(layers)}")
    return out


def system_prompt_mode(
    tokenizer: Any, system_prompt: str | None, chat_template: bool
) -> str | None:
    """How ``system_prompt`` reaches the model: "system_role" where the chat template renders a
    system message with it, "prepended" to each prompt (a blank line between) where the
    template raises on one (Gemma's) or drops it, or without a chat template; None without one."""
    if system_prompt is None:
        return None
    if not chat_template:
        return "prepended"
    messages = [{"role": "system", "content": system_prompt}, {"role": "user", "content": "x"}]
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception:  # jinja's raise_exception, or a template error on an unknown role
        return "prepended"
    return "system_role" if system_prompt in text else "prepended"


def chat_prompt_ids(
    tokenizer: Any,
    prompts: Sequence[str],
    chat_template: bool,
    system_prompt: str | None = None,
) -> list[list[int]]:
    """Token ids of each prompt: as a user turn plus generation prompt, or as plain text; with
    ``system_prompt`` as a system turn or prepended, as :func:`system_prompt_mode` says.

    Plain text uses the tokenizer's own special tokens (BOS where it adds one); the chat
    template supplies its own, so it is tokenized without adding more.
    """
    if chat_template and not getattr(tokenizer, "chat_template", None):
        raise ValueError("chat_template: the model's tokenizer has no chat template")
    mode = system_prompt_mode(tokenizer, system_prompt, chat_template)
    ids: list[list[int]] = []
    for prompt in prompts:
        text = f"{system_prompt}\n\n{prompt}" if mode == "prepended" else prompt
        if chat_template:
            messages = [{"role": "user", "content": text}]
            if mode == "system_role":
                messages.insert(0, {"role": "system", "content": system_prompt})
            text = tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
            ids.append(list(tokenizer(text, add_special_tokens=False)["input_ids"]))
        else:
            ids.append(list(tokenizer(text, add_special_tokens=True)["input_ids"]))
        if not ids[-1]:
            raise ValueError(f"prompts: prompt {len(ids) - 1} has no tokens")
    return ids


def _batch_hooks(
    on_batch: BatchFn, n_hooks: int, mask: torch.Tensor, rows: torch.Tensor
) -> list[Callable[..., None]]:
    """Hook functions for one batch, one per layer; the last one stops the forward pass."""

    def make(j: int) -> Callable[..., None]:
        def fn(acts: torch.Tensor, hook: Any) -> None:
            on_batch(j, acts, mask, rows)
            if j == n_hooks - 1:
                raise _StopForward

        return fn

    return [make(j) for j in range(n_hooks)]


class CaptureOptions(TypedDict, total=False):
    """The options of every capture, each with its default in :func:`_run_batches`."""

    hook: str  # "resid_post" (or "resid_pre", "resid_mid"; "hook_" prefix allowed)
    chat_template: bool  # True: prompts as user turns with the generation prompt
    batch_size: int  # 32
    layers: Sequence[int] | None  # None: all
    progress: Progress | None


def _run_batches(
    model: LoadedModel,
    prompts: Sequence[str],
    on_batch: BatchFn,
    *,
    hook: str = "resid_post",
    chat_template: bool = True,
    batch_size: int = 32,
    layers: Sequence[int] | None = None,
    progress: Progress | None = None,
) -> None:
    """Forward prompts in length-sorted batches; call ``on_batch(j, acts, mask, rows)``.

    ``j`` indexes the (sorted) layers; ``acts`` is (B, T, d); ``rows`` are the prompts' indices.
    """
    import torch

    names = [hook_name(layer, hook) for layer in _validate_layers(layers, model.n_layers)]
    if batch_size < 1:
        raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
    if not prompts:
        raise ValueError("prompts: no prompts given")
    seqs = chat_prompt_ids(model.tokenizer, prompts, chat_template)
    groups = by_length(seqs, batch_size)
    for b, group in enumerate(groups):
        rows = torch.tensor(group)
        # pad id 0: real tokens never attend to the padding after them
        ids, mask = pad_right([seqs[i] for i in group], 0, model.device)
        fns = _batch_hooks(on_batch, len(names), mask, rows)
        with torch.inference_mode():
            try:
                model.bridge.run_with_hooks(
                    ids,
                    fwd_hooks=list(zip(names, fns, strict=True)),
                    attention_mask=mask,
                    return_type=None,
                )
            except _StopForward:
                pass
        if progress is not None:
            progress((b + 1) / len(groups), f"batch {b + 1}/{len(groups)}")


def _n_layers(model: LoadedModel, options: CaptureOptions) -> int:
    return len(_validate_layers(options.get("layers"), model.n_layers))


def capture_last_prompt(
    model: LoadedModel, prompts: list[str], **options: Unpack[CaptureOptions]
) -> np.ndarray:
    """Residual at the last prompt token: float32 array (N prompts, len(layers), d_model)."""
    import torch

    out = np.zeros((len(prompts), _n_layers(model, options), model.d_model), dtype=np.float32)

    def keep_last(j: int, acts: torch.Tensor, mask: torch.Tensor, rows: torch.Tensor) -> None:
        last = mask.sum(dim=1) - 1
        picked = acts[torch.arange(acts.shape[0], device=acts.device), last]
        out[rows.numpy(), j] = picked.float().cpu().numpy()

    _run_batches(model, prompts, keep_last, **options)
    return out


def capture_all_tokens_covariance(
    model: LoadedModel, prompts: list[str], **options: Unpack[CaptureOptions]
) -> StreamingCovariance:
    """Streaming float64 covariance per layer over all (non-pad) prompt tokens, kept on the
    model's device: only its sums are held, never the activations themselves."""
    from worker.science.covariance import StreamingCovariance

    acc = StreamingCovariance(model.d_model, _n_layers(model, options), device=model.device)

    def accumulate(j: int, acts: torch.Tensor, mask: torch.Tensor, rows: torch.Tensor) -> None:
        acc.update(acts[mask.bool()], layer=j)

    _run_batches(model, prompts, accumulate, **options)
    if acc.n < 2:
        raise ValueError("prompts: need at least 2 tokens for a covariance")
    return acc
