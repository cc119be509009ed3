"""Interventions on the refusal direction (DESIGN.md "Interventions", after Arditi et al. 2024,
"Refusal in language models is mediated by a single direction"), through the bridge's hook
points, which fire inside the wrapped Hugging Face model's forward: generation and
``refusal_score`` run under them unchanged.

- ``ablate``: x <- x - (x . r) r for the residual at every layer (each block's resid_pre and the
  last block's resid_post) and every position;
- ``add``: x <- x + alpha * mean_norm_l * r at layer l only (the run's hook point, where the
  direction was measured);
with r = r_l / ||r_l||, r_l = mean(unsafe) - mean(safe) of a capture run's residuals at layer l.
Cost: mean KL(p_base || p_intervened) of the next-token distribution at the first response
position over the harmless prompts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from worker.science.capture import hook_name

if TYPE_CHECKING:
    from worker.models.loading import LoadedModel

Kind = Literal["ablate", "add"]


@dataclass(frozen=True)
class Intervention:
    kind: Kind
    direction: np.ndarray  # (d,), unit norm
    layer: int  # the direction's layer; where ``add`` applies
    hook: str = "resid_post"  # where ``add`` applies (the capture run's hook)
    alpha: float = 0.0  # ``add``: multiples of mean_norm
    mean_norm: float = 1.0  # ``add``: the layer's mean residual norm

    def describe(self) -> str:
        if self.kind == "ablate":
            return f"ablate the layer-{self.layer} refusal direction at every layer"
        return f"add {self.alpha:+g} x mean norm x the refusal direction at layer {self.layer}"


def refusal_direction(X: np.ndarray, labels: np.ndarray, layer: int) -> np.ndarray:
    """The unit difference of means, unsafe minus safe, of ``X`` (N x L x d) at ``layer``."""
    labels = np.asarray(labels).astype(bool)
    if labels.all() or not labels.any():
        raise ValueError("the run's prompts need both safe and unsafe labels for a direction")
    X_l = X[:, layer].astype(np.float64)
    diff = X_l[labels].mean(axis=0) - X_l[~labels].mean(axis=0)
    norm = float(np.linalg.norm(diff))
    if norm == 0.0:
        raise ValueError(f"layer {layer}: the safe and unsafe means coincide")
    return diff / norm


def hook_points(model: LoadedModel, intervention: Intervention) -> list[str]:
    """The hook points the intervention edits."""
    if intervention.kind == "add":
        return [hook_name(intervention.layer, intervention.hook)]
    last = model.n_layers - 1
    return [hook_name(layer, "resid_pre") for layer in range(model.n_layers)] + [
        hook_name(last, "resid_post")
    ]


@contextmanager
def applied(model: LoadedModel, intervention: Intervention | None) -> Iterator[None]:
    """Everything run on ``model`` inside the block runs with ``intervention`` (None: as is)."""
    if intervention is None:
        yield
        return
    import torch

    r = torch.as_tensor(intervention.direction, dtype=torch.float32, device=model.device)

    def ablate(x: torch.Tensor, hook=None) -> torch.Tensor:
        u = r.to(x.dtype)
        return x - (x @ u).unsqueeze(-1) * u

    shift = intervention.alpha * intervention.mean_norm

    def add(x: torch.Tensor, hook=None) -> torch.Tensor:
        return x + shift * r.to(x.dtype)

    fn = ablate if intervention.kind == "ablate" else add
    with model.bridge.hooks(fwd_hooks=[(name, fn) for name in hook_points(model, intervention)]):
        yield


def kl_cost(base_logprobs: np.ndarray, intervened_logprobs: np.ndarray) -> float:
    """Mean over prompts of KL(p_base || p_intervened), from next-token log-probabilities
    (N x vocab, natural log)."""
    p = np.exp(base_logprobs)
    return float(np.mean(np.sum(p * (base_logprobs - intervened_logprobs), axis=-1)))


def kl_of(
    model: LoadedModel,
    prompts: Sequence[str],
    intervention: Intervention,
    **options,
) -> float:
    """The intervention's cost on ``prompts`` (the harmless ones): mean KL at the first response
    position, base against intervened (``options`` as for ``first_response_logprobs``)."""
    from worker.science.generation import first_response_logprobs

    base = first_response_logprobs(model, prompts, **options)
    with applied(model, intervention):
        intervened = first_response_logprobs(model, prompts, **options)
    return kl_cost(base, intervened)
