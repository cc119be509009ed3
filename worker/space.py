"""Does a job's output fit where it writes? Estimated from its parameters and the size of its
model's weights before the long work starts, so a full artifact store fails the job at once
with the numbers instead of after all training."""

from __future__ import annotations

from pathlib import Path

from backend.artifacts import ArtifactPathError
from worker.context import JobContext, JobError
from worker.jobs.common import CACHE, registered_model, store

GIB = 1024**3
CHECKPOINT_COPIES = 2  # the Trainer writes a new checkpoint before it removes the last one
OPTIMISER_STATES = 2  # AdamW's two moments, each the size of the weights


def weight_bytes(ctx: JobContext, model) -> int | None:
    """Bytes of a registered model's weight files (None where they are not on disk: hub)."""
    artifacts = store(ctx)
    try:
        return artifacts.size(artifacts.key_of(model.uri)) or None
    except ArtifactPathError:
        folder = Path(model.uri).expanduser()
        if not folder.is_dir():
            return None
        return sum(f.stat().st_size for f in folder.glob("*.safetensors")) or None


def training_output_bytes(weights: int, params) -> tuple[int, str]:
    """The final model plus, for a full fine-tune, checkpoints of weights and optimiser."""
    every = params.checkpoint_every
    steps = params.steps
    if params.lora_rank is not None or not every or (steps is not None and steps <= every):
        return weights, f"the model {weights / GIB:.2f} GiB"
    copies = CHECKPOINT_COPIES if steps is None or steps > 2 * every else 1
    checkpoint = weights * (1 + OPTIMISER_STATES)
    total = weights + copies * checkpoint
    return total, (
        f"the model {weights / GIB:.2f} GiB + {copies} checkpoint(s) of weights and AdamW "
        f"state {checkpoint / GIB:.2f} GiB each"
    )


def check_space(ctx: JobContext, kind: str, params) -> None:
    """JobError naming the numbers when a training job's outputs would not fit."""
    if kind not in ("finetune", "dpo"):
        return
    base = registered_model(ctx, params.base_model_id, params.base_model_name)
    weights = weight_bytes(ctx, base)
    free = store(ctx).free_bytes(CACHE)
    if weights is None or free is None:
        return
    needed, parts = training_output_bytes(weights, params)
    if needed > free:
        raise JobError(
            f"artifact store {ctx.artifact_root}: {free / GIB:.2f} GiB free, this {kind} "
            f"writes about {needed / GIB:.2f} GiB ({parts}); free space (flowlens gc --delete) "
            "or set checkpoint_every to null or larger"
        )
