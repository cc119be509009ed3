"""Do a job's outputs fit where it writes? Estimated from its parameters and its model's size
before the long work starts, so a full artifact store fails the job at once with the numbers
instead of after all training or capture."""

from __future__ import annotations

from pathlib import Path

from backend.models import Dataset
from worker.context import JobContext, JobError
from worker.jobs.common import CACHE, model_source, registered_model, store
from worker.models.loading import read_model_dir

GIB = 1024**3
CHECKPOINT_COPIES = 2  # the Trainer writes a new checkpoint before it removes the last one
OPTIMISER_STATES = 2  # AdamW's two moments, each the size of the weights
FLOAT32 = 4


def _model_dir(ctx: JobContext, model_id: int | None, model_name: str | None) -> Path | None:
    """The registered model's local folder (None for a hub model: nothing to measure)."""
    root = Path(model_source(ctx, registered_model(ctx, model_id, model_name))).expanduser()
    return root if (root / "config.json").is_file() else None


def training_outputs(weights: int, params) -> tuple[int, str]:
    """The final model plus, for a full fine-tune, checkpoints of weights and optimiser."""
    every, steps = params.checkpoint_every, params.steps
    if params.lora_rank is not None or not every or (steps is not None and steps <= every):
        return weights, f"the model {weights / GIB:.2f} GiB"
    copies = CHECKPOINT_COPIES if steps is None or steps > 2 * every else 1
    checkpoint = weights * (1 + OPTIMISER_STATES)
    return weights + copies * checkpoint, (
        f"the model {weights / GIB:.2f} GiB + {copies} checkpoint(s) of weights and AdamW "
        f"state {checkpoint / GIB:.2f} GiB each; or set checkpoint_every to null or larger"
    )


def _training(ctx: JobContext, params) -> tuple[int, str] | None:
    root = _model_dir(ctx, params.base_model_id, params.base_model_name)
    weights = sum(f.stat().st_size for f in root.glob("*.safetensors")) if root else 0
    return training_outputs(weights, params) if weights else None


def _capture(ctx: JobContext, params) -> tuple[int, str] | None:
    root = _model_dir(ctx, params.model_id, params.model_name)
    if root is None or params.position != "last_prompt":  # all tokens: a covariance, small
        return None
    try:
        _, shape = read_model_dir(root)
    except (OSError, ValueError, KeyError, StopIteration):
        return None  # loading the model says what is wrong with it
    with ctx.transaction() as session:
        dataset = session.get(Dataset, params.dataset_id)
    if dataset is None:
        return None  # the job says so itself
    n = min(dataset.n_rows, params.max_prompts or dataset.n_rows)
    total = n * shape.n_layers * shape.d_model * FLOAT32
    return total, f"activations of {n} prompts x {shape.n_layers} layers x {shape.d_model}"


ESTIMATES = {"finetune": _training, "dpo": _training, "capture_spectra": _capture}


def check_space(ctx: JobContext, kind: str, params) -> None:
    """JobError when a job's outputs cannot be written: a read-only store, or one whose free
    space is less than they need (naming the numbers)."""
    estimate = ESTIMATES.get(kind)
    if estimate is None:
        return
    try:
        store(ctx).check_writable(CACHE)
    except OSError as exc:
        raise JobError(f"artifact store {ctx.artifact_root} is not writable: {exc}") from None
    needed = estimate(ctx, params)
    free = store(ctx).free_bytes(CACHE) if needed else None
    if needed is None or free is None or needed[0] <= free:
        return
    raise JobError(
        f"artifact store {ctx.artifact_root}: {free / GIB:.2f} GiB free, this {kind} writes "
        f"about {needed[0] / GIB:.2f} GiB ({needed[1]}); free space: flowlens gc --delete"
    )
