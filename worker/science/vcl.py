"""Variance Concentration Loss (VCL): a differentiable penalty on how much of the variance of a
window of middle-layer residuals lies in its top-k principal directions (see DESIGN.md, "VCL").

In a training step::

    layers = vcl_window(model.n_layers)
    with capture_residuals(model.bridge, layers, position="last_prompt", index=last) as resid:
        logits = model.bridge(ids, attention_mask=mask)
    term, per_layer = vcl_term(resid, k=4)
    loss = sft_loss(logits, labels) + lam * term

Residuals are taken from the bridge's ``blocks.{l}.hook_resid_post`` hook points inside the
normal (grad-enabled) forward pass: the hook returns the activation unchanged, so the graph
through it is the model's own and gradients of the VCL term flow into every earlier parameter.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge

MEASURES = ("topk", "inverse_participation_ratio")
SIGNS = {"penalise": 1.0, "encourage": -1.0}
POSITIONS = ("last_prompt", "response")


def vcl_window(n_layers: int, a: float = 0.3, b: float = 0.5) -> list[int]:
    """Layers floor(a*L) .. ceil(b*L)-1 (inclusive); ValueError naming "window" if empty."""
    if n_layers < 1:
        raise ValueError(f"window: n_layers must be >= 1, got {n_layers}")
    if not (0.0 <= a <= 1.0 and 0.0 <= b <= 1.0):
        raise ValueError(f"window: depths a={a}, b={b} must lie in [0, 1]")
    layers = list(range(math.floor(a * n_layers), math.ceil(b * n_layers)))
    if not layers:
        raise ValueError(f"window: depths a={a}, b={b} select no layer of {n_layers}")
    return layers


def _validate(R: torch.Tensor, k: int, measure: str) -> None:
    if measure not in MEASURES:
        raise ValueError(f"measure: unknown measure {measure!r}, expected one of {MEASURES}")
    if k < 1:
        raise ValueError(f"k: must be >= 1, got {k}")
    if R.ndim != 2:
        raise ValueError(f"residuals: expected a (rows, d) matrix, got shape {tuple(R.shape)}")
    if R.shape[0] <= k + 1:
        raise ValueError(f"batch rows: need more than k + 1 = {k + 1} rows, got {R.shape[0]}")


def concentration(R: torch.Tensor, k: int, measure: str = "topk") -> torch.Tensor:
    """Differentiable variance concentration of the rows of ``R`` (B x d), centred inside.

    ``topk``: sum_{j<=k} sigma_j^2 / sum_j sigma_j^2 (singular values of the centred R).
    ``inverse_participation_ratio``: ||R^T R||_F^2 / tr(R^T R)^2 = sum lambda^2 / (sum
    lambda)^2 = 1 / participation_ratio, without SVD (through the B x B Gram R R^T when
    B < d: it has the same Frobenius norm and trace); 1 for rank one, 1/d for isotropic.
    ``k`` is only used by ``topk`` but the row validation (rows > k + 1) applies to both.
    Computed in float32 at least (bfloat16 inputs are upcast).
    """
    _validate(R, k, measure)
    if R.dtype not in (torch.float32, torch.float64):
        R = R.float()
    R = R - R.mean(dim=0, keepdim=True)
    if measure == "topk":
        s2 = torch.linalg.svdvals(R).square()
        return s2[:k].sum() / s2.sum().clamp_min(torch.finfo(s2.dtype).tiny)
    gram = R @ R.T if R.shape[0] < R.shape[1] else R.T @ R
    trace = torch.diagonal(gram).sum()
    return gram.square().sum() / trace.square().clamp_min(torch.finfo(gram.dtype).tiny)


def vcl_term(
    residuals: Mapping[int, torch.Tensor],
    k: int,
    measure: str = "topk",
    sign: str = "penalise",
) -> tuple[torch.Tensor, dict[int, float]]:
    """``s * mean_l concentration(R_l)``, s = +1 ("penalise") or -1 ("encourage").

    Returns the (differentiable) term and the per-layer concentrations as detached floats.
    """
    if sign not in SIGNS:
        raise ValueError(f"sign: unknown sign {sign!r}, expected one of {tuple(SIGNS)}")
    if not residuals:
        raise ValueError("window: no residuals captured")
    concs = {int(layer): concentration(R, k, measure) for layer, R in residuals.items()}
    term = SIGNS[sign] * torch.stack(list(concs.values())).mean()
    return term, {layer: float(c.detach()) for layer, c in concs.items()}


@contextmanager
def capture_residuals(
    bridge: TransformerBridge,
    layers: Sequence[int],
    *,
    position: str = "last_prompt",
    index: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
) -> Iterator[dict[int, torch.Tensor]]:
    """Collect ``blocks.{l}.hook_resid_post`` rows, with gradients, during forwards inside.

    ``position="last_prompt"``: ``index`` (B,) holds each example's last prompt token index,
    one row per example. ``position="response"``: ``mask`` (B, T) bool marks the response
    tokens; all of them are kept, in row-major order. Yields a dict layer -> (rows, d)
    filled during the forward pass; the hooks are removed on exit.
    """
    if position not in POSITIONS:
        raise ValueError(f"position: unknown position {position!r}, expected one of {POSITIONS}")
    if position == "last_prompt" and index is None:
        raise ValueError("position: 'last_prompt' needs the last prompt token index per example")
    if position == "response" and mask is None:
        raise ValueError("position: 'response' needs a mask of the response tokens")
    n_layers = int(bridge.cfg.n_layers)
    if not layers or min(layers) < 0 or max(layers) >= n_layers:
        raise ValueError(f"window: layers must lie in 0..{n_layers - 1}, got {list(layers)}")
    store: dict[int, torch.Tensor] = {}

    def make(layer: int) -> Any:
        def fn(acts: torch.Tensor, hook: Any) -> torch.Tensor:
            if position == "last_prompt":
                idx = index.to(acts.device)  # type: ignore[union-attr]
                store[layer] = acts[torch.arange(acts.shape[0], device=acts.device), idx]
            else:
                store[layer] = acts[mask.to(acts.device).bool()]  # type: ignore[union-attr]
            return acts

        return fn

    hooks = [(f"blocks.{layer}.hook_resid_post", make(layer)) for layer in layers]
    with bridge.hooks(fwd_hooks=hooks):
        yield store


def sft_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over labelled tokens (labels -100 are ignored).

    ``labels[b, t]`` is the token at position t (as Hugging Face ``labels``): position t-1
    predicts it. Computed in float32.
    """
    shift_logits = logits[:, :-1].float().reshape(-1, logits.shape[-1])
    shift_labels = labels[:, 1:].reshape(-1).to(shift_logits.device)
    if not bool((shift_labels != -100).any()):
        raise ValueError("labels: no response tokens to train on")
    return torch.nn.functional.cross_entropy(shift_logits, shift_labels, ignore_index=-100)
