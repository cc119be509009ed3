"""Memory a fine-tune needs, estimated before loading from config.json and the safetensors
header shapes (no torch): weights, gradients, AdamW states and activations (docs/training.md,
"Does it fit?").

- weights: every parameter at the training dtype's itemsize;
- gradients: the trainable parameters (all, or the LoRA adapter's) at the same itemsize;
- AdamW: two fp32 states (8 bytes) per trainable parameter;
- activations, per layer, Korthikanti et al. 2022 (eq. 2, no parallelism, 16-bit activations):
  ``s * b * h * (34 + 5 * a * s / h)`` bytes, scaled by itemsize / 2; with gradient
  checkpointing each layer keeps only its input (``s * b * h * itemsize``) and one layer's
  full activations are rebuilt at a time; plus the logits ``b * s * V`` at the itemsize, their
  fp32 copy for the cross-entropy and its gradient (``8`` bytes each).
With n devices under FSDP weights, gradients and optimizer states are split n ways
(``sharded_over``); under DDP each device holds a full copy.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace

GiB = 2**30


@dataclass(frozen=True)
class Shape:
    """What the estimate reads from a model: its parameters and its transformer dimensions."""

    n_params: int
    n_layers: int
    d_model: int
    n_heads: int
    vocab: int
    linear: dict[str, tuple[int, int]]  # weight name -> (out, in) of each 2-D weight


def model_shape(config: dict, weights: dict[str, list[int]]) -> Shape:
    """``Shape`` from a config.json dict and tensor name -> shape (safetensors headers)."""
    text = {**config, **config.get("text_config", {})}

    def first(*keys: str) -> int:
        return int(next(text[k] for k in keys if k in text))

    return Shape(
        n_params=sum(math.prod(s) for s in weights.values()),
        n_layers=first("num_hidden_layers", "n_layer"),
        d_model=first("hidden_size", "n_embd"),
        n_heads=first("num_attention_heads", "n_head"),
        vocab=first("vocab_size"),
        linear={n: (s[0], s[1]) for n, s in weights.items() if len(s) == 2},
    )


def sharded_over(params) -> int:
    """The ranks a job's weights, gradients and AdamW states are split over: torchrun's
    ``WORLD_SIZE`` with ``fsdp=true`` (each rank checks its own device), else 1."""
    return int(os.environ.get("WORLD_SIZE", "1")) if getattr(params, "fsdp", False) else 1


def lora_params(shape: Shape, targets: list[str], rank: int) -> int:
    """Adapter parameters: ``rank * (in + out)`` per weight of a target module."""
    total = 0
    for name, (rows, cols) in shape.linear.items():
        module = name.removesuffix(".weight")
        if module != name and any(module == t or module.endswith("." + t) for t in targets):
            total += rank * (rows + cols)
    return total


@dataclass(frozen=True)
class Plan:
    """The training options the estimate depends on."""

    batch: int
    seq: int
    itemsize: int  # bytes per weight and activation (4 float32, 2 bfloat16)
    lora_rank: int | None = None  # None: full fine-tune
    targets: tuple[str, ...] = ()
    checkpointing: bool = False
    devices: int = 1


@dataclass(frozen=True)
class Estimate:
    weights: int
    gradients: int
    optimizer: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations

    def describe(self) -> str:
        parts = (self.weights, self.gradients, self.optimizer, self.activations)
        w, g, o, a = (f"{p / GiB:.1f}" for p in parts)
        return (
            f"{self.total / GiB:.1f} GiB (weights {w}, gradients {g}, AdamW {o}, activations {a})"
        )


def activation_bytes(shape: Shape, plan: Plan) -> int:
    s, b, h, a = plan.seq, plan.batch, shape.d_model, shape.n_heads
    layer = s * b * h * (34 + 5 * a * s / h) * plan.itemsize / 2
    if plan.checkpointing:
        layers = shape.n_layers * s * b * h * plan.itemsize + layer
    else:
        layers = shape.n_layers * layer
    logits = b * s * shape.vocab * (plan.itemsize + 8)
    return int(layers + logits)


def estimate(shape: Shape, plan: Plan) -> Estimate:
    trainable = (
        shape.n_params
        if plan.lora_rank is None
        else lora_params(shape, list(plan.targets), plan.lora_rank)
    )
    split = plan.devices
    adapter = 0 if plan.lora_rank is None else trainable * plan.itemsize
    return Estimate(
        weights=(shape.n_params * plan.itemsize + adapter) // split,
        gradients=trainable * plan.itemsize // split,
        optimizer=trainable * 8 // split,
        activations=activation_bytes(shape, plan),
    )


def fitting_options(shape: Shape, plan: Plan, free: int, lora: Plan, multi_device: bool) -> list:
    """(option, estimate) pairs that would fit in ``free`` bytes: LoRA (``lora`` gives its
    rank and targets), gradient checkpointing, both, the largest smaller batch (gradient
    accumulation keeps the global batch) and, where ``multi_device``, the fewest devices."""
    candidates = []
    if plan.lora_rank is None:
        candidates.append((f"lora_rank={lora.lora_rank}", lora))
    if not plan.checkpointing:
        candidates.append(("gradient_checkpointing=true", replace(plan, checkpointing=True)))
        if plan.lora_rank is None:
            both = replace(lora, checkpointing=True)
            candidates.append((f"lora_rank={lora.lora_rank}, gradient_checkpointing=true", both))
    batch = plan.batch // 2
    while batch >= 1:
        smaller = replace(plan, batch=batch)
        if estimate(shape, smaller).total <= free:
            accum = math.ceil(plan.batch / batch)
            candidates.append((f"batch_size={batch} with grad_accum x{accum}", smaller))
            break
        batch //= 2
    if multi_device:
        for n in (2, 4, 8):
            if estimate(shape, replace(plan, devices=n)).total <= free:
                candidates.append((f"{n} devices with FSDP (per device)", replace(plan, devices=n)))
                break
    fits = [(option, estimate(shape, p)) for option, p in candidates]
    return [(option, e) for option, e in fits if e.total <= free]


def not_fitting_message(what: str, shape: Shape, plan: Plan, free: int, device: str, **kw) -> str:
    """The one-line reason a job fails: what it needs, what is free, what would fit."""
    need = estimate(shape, plan)
    options = fitting_options(shape, plan, free, **kw)
    fits = (
        "; would fit: " + ", ".join(f"{o} ({e.total / GiB:.1f} GiB)" for o, e in options)
        if options
        else "; nothing tried would fit (LoRA, gradient checkpointing, smaller batches, devices)"
    )
    return f"{what} needs {need.describe()} but {device} has {free / GiB:.1f} GiB free{fits}"
