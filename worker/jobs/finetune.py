"""``finetune``: supervised fine-tuning on a general + safety mix, with or without VCL.

Built on transformers' ``Trainer`` (worker/science/trainer.py, docs/training.md): loss on
response tokens only, the VCL term from the window layers' residuals (DESIGN.md). Per-step
metrics go to SQL while it runs; the Trainer's own checkpoints (weights, optimiser, scheduler,
RNG, data position) let a re-queued job resume at the same step and end with the same weights.
"""

from __future__ import annotations

import math
import os
import random
import shutil
from pathlib import Path

from sqlalchemy import delete, select

from backend.jobs.lora_targets import lora_targets
from backend.jobs.params.training import CPU_FSDP, FinetuneParams
from backend.models import Model, TrainMetric
from worker.context import JobContext, JobError, JobLost
from worker.distributed import is_main_process
from worker.jobs.common import (
    CACHE,
    check_training_memory,
    dataset_rows,
    load_registered_model,
    registered_model,
    store,
)
from worker.models.demo import encode_example
from worker.models.saving import save_hf
from worker.science.batching import collate_sft, pad_id
from worker.science.lora import add_lora, save_adapter
from worker.science.vcl import vcl_window
from worker.space import check_space

METRICS_EVERY = 5  # steps between metric writes (one transaction each)
SCHEDULES = {"constant": "constant_with_warmup", "linear": "linear", "cosine": "cosine"}
# FSDP2 over the ranks, one shard unit per decoder block (the model's ``_no_split_modules``);
# checkpoints and the final model gathered whole on rank 0
FSDP = {
    "fsdp": True,
    "fsdp_config": {
        "version": 2,
        "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
        "reshard_after_forward": True,
        "state_dict_type": "FULL_STATE_DICT",
    },
}


def mix(general: list, safety: list, params: FinetuneParams) -> list[tuple[str, str]]:
    """``n_examples`` pairs: round(p * n) from the safety set, the rest general (seeded)."""
    rng = random.Random(params.seed)
    n_safety = round(params.safety_fraction * params.n_examples)
    if n_safety and not safety:
        raise JobError("safety_dataset_id: the safety dataset has no rows")

    def draw(rows: list, n: int) -> list:
        return rng.sample(rows, n) if n <= len(rows) else [rng.choice(rows) for _ in range(n)]

    chosen = draw(general, params.n_examples - n_safety) + draw(safety, n_safety)
    rng.shuffle(chosen)
    return [(r.prompt, r.response) for r in chosen]


def training_arguments(params: FinetuneParams, out_dir: str, total: int, device: str, dtype: str):
    """The Trainer's settings for ``params`` (worker/science/trainer.py), with DDP or FSDP over
    torchrun's ranks (worker/distributed.py)."""
    from worker.science.trainer import job_arguments

    ranks = int(os.environ.get("WORLD_SIZE", "1"))
    if params.fsdp and ranks > 1 and not device.startswith("cuda"):
        raise JobError(f"fsdp: {CPU_FSDP}")
    return job_arguments(
        params,
        out_dir,
        device,
        steps=total,
        bf16=dtype == "bfloat16",
        gradient_accumulation_steps=params.grad_accum,
        lr_scheduler_type=SCHEDULES[params.schedule],
        dataloader_drop_last=True,
        activation_checkpointing=params.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False},  # works with frozen inputs
        remove_unused_columns=False,
        ddp_backend=("nccl" if device.startswith("cuda") else "gloo") if ranks > 1 else None,
        **(FSDP if params.fsdp and ranks > 1 else {}),
    )


def resume_point(ctx: JobContext, checkpoints: Path, writes: bool = True) -> Path | None:
    """The newest complete checkpoint of the job's earlier attempts (None: from the start);
    where this process ``writes``, the metric rows past it are deleted (the re-run replaces
    them, so no step is stored twice)."""
    from worker.science.trainer import last_checkpoint

    resume = last_checkpoint(checkpoints) if checkpoints.is_dir() else None
    start = int(resume.name.split("-")[1]) if resume else 0
    if resume:
        ctx.log(f"resuming from the checkpoint at step {start}")
    if writes:
        with ctx.transaction() as session:
            session.execute(
                delete(TrainMetric).where(
                    TrainMetric.job_id == ctx.job_id, TrainMetric.step >= start
                )
            )
    return resume


class MetricWriter:
    """``JobCallback``'s ``write``: a step's metrics to SQL, ``METRICS_EVERY`` rows per
    transaction, and every pending row on a flush (before a checkpoint and at the end)."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx, self.pending = ctx, []

    def __call__(self, values: dict, layer_values: dict, step: int, flush: bool) -> None:
        row = TrainMetric(
            job_id=self.ctx.job_id, step=step, values=values, layer_values=layer_values
        )
        self.pending.append(row)
        if flush or len(self.pending) >= METRICS_EVERY:
            with self.ctx.transaction() as session:
                session.add_all(self.pending)
            self.pending.clear()


def _nothing(*_args) -> None:
    """What the other ranks write and report: nothing (rank 0 does)."""


def with_lora(model, params: FinetuneParams, base_name: str) -> tuple:
    """Inject the LoRA adapter of ``params`` into the model the Trainer trains; returns the
    ``PeftModel`` and the adapter's description (rank, alpha, dropout, target modules)."""
    from transformers import set_seed

    model_type = model.bridge.original_model.config.model_type
    set_seed(params.seed)  # the adapter's initial weights are the seed's, in any process
    try:
        targets = lora_targets(model_type, params.lora_target_modules)
        peft_model = add_lora(
            model.bridge.original_model,
            targets,
            params.lora_rank,
            params.lora_alpha,
            params.lora_dropout,
            repr(base_name),
        )
    except ValueError as exc:
        raise JobError(str(exc)) from None
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    return peft_model, {
        "rank": params.lora_rank,
        "alpha": params.lora_alpha,
        "dropout": params.lora_dropout,
        "target_modules": targets,
        "trainable_params": trainable,
        "merged": True,
    }


def finetune(ctx: JobContext, params: FinetuneParams) -> dict:
    from worker.jobs.train_geometry import GeometryCallback
    from worker.science.trainer import JobCallback, StepTotals, VCLConfig, VCLTrainer

    base_row = registered_model(ctx, params.base_model_id, params.base_model_name)
    check_training_memory(ctx, base_row, params, "finetune")
    check_space(ctx, "finetune", params)  # after: a model that cannot train is told so first
    base_row, model = load_registered_model(ctx, base_row.id, dtype=params.dtype)
    adapter = with_lora(model, params, base_row.name) if params.lora_rank else None
    model_name = params.name or f"{base_row.name}-ft{ctx.job_id}"
    with ctx.transaction() as session:
        taken = session.scalar(select(Model.job_id).where(Model.name == model_name))
    if taken is not None and taken != ctx.job_id:
        raise JobError(f"name: a model named {model_name!r} already exists")
    try:
        window = vcl_window(model.n_layers, params.vcl_window_a, params.vcl_window_b)
    except ValueError as exc:
        raise JobError(f"vcl_window_a: {exc}") from None
    _, general = dataset_rows(ctx, params.general_dataset_id)
    _, safety = dataset_rows(ctx, params.safety_dataset_id)
    tokenizer = model.tokenizer
    encoded = [
        encode_example(tokenizer, p, r, max_length=params.max_length)
        for p, r in mix(general, safety, params)
    ]
    rows_per_step = params.batch_size * params.grad_accum
    total = params.steps or math.ceil(params.epochs * len(encoded) / rows_per_step)
    encoded *= math.ceil(params.batch_size / len(encoded))  # at least one full batch

    artifacts = store(ctx)
    key = f"finetunes/job-{ctx.job_id}"
    checkpoints = artifacts.staging_dir(f"{key}/checkpoints", CACHE)
    main = is_main_process()  # with several ranks only rank 0 writes (worker/distributed.py)
    resume = resume_point(ctx, checkpoints, writes=main)
    totals = StepTotals()
    callback = JobCallback(
        totals, MetricWriter(ctx) if main else _nothing, ctx.progress if main else _nothing, JobLost
    )
    callbacks = [callback]
    if params.geometry_dataset_id is not None and main:
        geometry = GeometryCallback(
            ctx, model, base_row.id, params.geometry_dataset_id, params.geometry_prompts
        )
        if resume is None:  # on a resume the weights are the checkpoint's, not the base's
            geometry.capture(0)
        callbacks.append(geometry)
    pad = pad_id(tokenizer)
    trainer = VCLTrainer(
        model,
        VCLConfig(
            params.vcl_lambda,
            window,
            params.vcl_k,
            params.vcl_position,
            params.vcl_sign,
            params.vcl_measure,
        ),
        totals,
        args=training_arguments(params, str(checkpoints), total, model.device, model.dtype),
        train_dataset=encoded,
        data_collator=lambda examples: collate_sft(examples, pad),
        callbacks=callbacks,
    )
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    if callback.stopped is not None:
        raise callback.stopped
    # under FSDP each rank holds a shard: every rank takes part in gathering the whole
    whole = trainer.accelerator.get_state_dict(trainer.model) if trainer.is_fsdp_enabled else None
    if not main:
        return {"steps": total}

    model.bridge.eval()
    final = artifacts.staging_dir(f"{key}/model", CACHE)
    shutil.rmtree(final, ignore_errors=True)
    if adapter is not None:  # the adapter as such, then merged into the registered model
        peft_model, lora = adapter
        save_adapter(peft_model, lora["target_modules"], final.with_name("adapter"))
        lora["adapter_uri"] = artifacts.put(final.with_name("adapter"), f"{key}/adapter")
        peft_model.merge_and_unload()
    save_hf(model, final, whole)
    uri = artifacts.put(final, f"{key}/model")
    lora = adapter[1] if adapter is not None else None
    n_safety = round(params.safety_fraction * params.n_examples)
    with ctx.transaction() as session:
        session.execute(delete(Model).where(Model.job_id == ctx.job_id))  # a re-run replaces
        row = Model(
            name=model_name,
            source="finetune",
            uri=uri,
            parent_id=base_row.id,
            job_id=ctx.job_id,
            config={
                "n_layers": model.n_layers,
                "d_model": model.d_model,
                "steps": total,
                "dtype": model.dtype,
                "lora": lora,
            },
            lineage={
                "kind": "finetune",
                "parent": base_row.name,
                "adapter": lora,
                "params": params.model_dump(),
                "data_mix": {"safety": n_safety, "general": params.n_examples - n_safety},
            },
        )
        session.add(row)
        session.flush()
        model_id = row.id
    kept = ctx.finish_checkpoints(checkpoints, params.keep_checkpoint)
    return {"model_id": model_id, "steps": total, "final_loss": callback.last_loss, **kept}
