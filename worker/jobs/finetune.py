"""``finetune``: supervised fine-tuning on a general + safety mix, with or without VCL.

Loss on response tokens only; the VCL term comes from the window layers' residuals captured
through the bridge's hook points with gradients (DESIGN.md). Per-step metrics go to SQL while it
runs; checkpoints (HF format + optimiser state, safetensors) let a re-queued job resume.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from contextlib import nullcontext
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from sqlalchemy import delete, select

from backend.jobs.params import FinetuneParams
from backend.models import Model, TrainMetric
from worker.context import JobContext, JobError
from worker.jobs.common import CACHE, dataset_rows, load_registered_model, store
from worker.models.demo import encode_example
from worker.models.saving import hf_state_dict, save_hf
from worker.science.batching import collate_sft, pad_id
from worker.science.vcl import capture_residuals, sft_loss, vcl_term, vcl_window

METRICS_EVERY = 5  # steps between metric writes (one transaction each)


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


def lr_factor(step: int, params: FinetuneParams, total: int) -> float:
    warm = min(1.0, (step + 1) / params.warmup_steps) if params.warmup_steps else 1.0
    progress = step / max(1, total)
    decay = {
        "constant": 1.0,
        "linear": 1.0 - progress,
        "cosine": 0.5 * (1 + math.cos(math.pi * progress)),
    }[params.schedule]
    return warm * decay


def _save_checkpoint(model, optimizer, step: int, out: Path) -> None:
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    save_hf(model, tmp)
    state = {}
    for i, s in enumerate(optimizer.state_dict()["state"].values()):
        state |= {f"{i}.{name}": t.detach().cpu().contiguous() for name, t in s.items()}
    save_file(state, str(tmp / "optimizer.safetensors"))
    (tmp / "trainer_state.json").write_text(json.dumps({"step": step}))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)  # a checkpoint is complete or absent, never half-written


def _resume(optimizer, ckpt: Path) -> int:
    """Load the optimiser state saved by ``_save_checkpoint``; return the step to go on from."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, tensor in load_file(str(ckpt / "optimizer.safetensors")).items():
        index, _, field = name.partition(".")
        state.setdefault(int(index), {})[field] = tensor
    optimizer.load_state_dict({**optimizer.state_dict(), "state": state})
    return json.loads((ckpt / "trainer_state.json").read_text())["step"]


def finetune(ctx: JobContext, params: FinetuneParams) -> dict:
    base_row, model = load_registered_model(ctx, params.base_model_id, params.base_model_name)
    name = params.name or f"{base_row.name}-ft{ctx.job_id}"
    with ctx.transaction() as session:
        taken = session.scalar(select(Model.job_id).where(Model.name == name))
    if taken is not None and taken != ctx.job_id:
        raise JobError(f"name: a model named {name!r} already exists")
    torch.manual_seed(params.seed)
    try:
        window = vcl_window(model.n_layers, params.vcl_window_a, params.vcl_window_b)
    except ValueError as exc:
        raise JobError(f"vcl_window_a: {exc}") from None
    _, general = dataset_rows(ctx, params.general_dataset_id)
    _, safety = dataset_rows(ctx, params.safety_dataset_id)
    pairs = mix(general, safety, params)
    tokenizer = model.tokenizer
    encoded = [encode_example(tokenizer, p, r, max_length=params.max_length) for p, r in pairs]
    rows_per_step = params.batch_size * params.grad_accum
    total = params.steps or math.ceil(params.epochs * len(encoded) / rows_per_step)

    hf_model = model.bridge.original_model
    model.bridge.train()
    optimizer = torch.optim.AdamW(hf_model.parameters(), lr=params.learning_rate, weight_decay=0.0)
    artifacts = store(ctx)
    key = f"finetunes/job-{ctx.job_id}"
    ckpt = artifacts.staging_dir(f"{key}/checkpoint", CACHE)
    start = 0
    if (ckpt / "trainer_state.json").exists():
        from transformers import AutoModelForCausalLM

        saved = AutoModelForCausalLM.from_pretrained(ckpt, dtype=hf_model.dtype).state_dict()
        with torch.no_grad():
            for name, tensor in hf_state_dict(model).items():
                if name in saved:
                    tensor.copy_(saved[name])
        start = _resume(optimizer, ckpt)
        ctx.log(f"resuming from the checkpoint at step {start}")
    with ctx.transaction() as session:  # a re-run replaces metrics past the checkpoint
        session.execute(
            delete(TrainMetric).where(TrainMetric.job_id == ctx.job_id, TrainMetric.step >= start)
        )

    order = random.Random(params.seed)
    schedule = [
        i
        for _ in range(math.ceil(total * rows_per_step / len(encoded)) + 1)
        for i in order.sample(range(len(encoded)), len(encoded))
    ]
    device = model.device
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16) if device.startswith("cuda") else nullcontext()
    )
    pending: list[TrainMetric] = []
    clock = time.perf_counter()
    for step in range(start, total):
        for group in optimizer.param_groups:
            group["lr"] = params.learning_rate * lr_factor(step, params, total)
        sums = {"loss": 0.0, "sft": 0.0, "vcl": 0.0, "tokens": 0}
        concs: dict[str, float] = {}
        for micro in range(params.grad_accum):
            first = (step * params.grad_accum + micro) * params.batch_size
            batch = collate_sft(
                [encoded[i] for i in schedule[first : first + params.batch_size]],
                pad_id(tokenizer),
            )
            batch = {k: v.to(device) for k, v in batch.items()}
            position = (
                {"index": batch["last_prompt_index"]}
                if params.vcl_position == "last_prompt"
                else {"mask": batch["labels"] != -100}
            )
            with (
                autocast,
                capture_residuals(
                    model.bridge, window, position=params.vcl_position, **position
                ) as resid,
            ):
                logits = model.bridge(batch["input_ids"], attention_mask=batch["attention_mask"])
                sft = sft_loss(logits, batch["labels"])
                if params.vcl_lambda > 0:
                    term, layer_conc = vcl_term(
                        resid, params.vcl_k, params.vcl_measure, params.vcl_sign
                    )
                else:
                    with torch.no_grad():
                        term, layer_conc = vcl_term(resid, params.vcl_k, params.vcl_measure)
                        term = term * 0
                loss = sft + params.vcl_lambda * term
            (loss / params.grad_accum).backward()
            sums["loss"] += loss.item() / params.grad_accum
            sums["sft"] += sft.item() / params.grad_accum
            sums["vcl"] += term.item() / params.grad_accum
            sums["tokens"] += int(batch["attention_mask"].sum())
            concs = {str(k): v for k, v in layer_conc.items()}
        torch.nn.utils.clip_grad_norm_(hf_model.parameters(), params.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        elapsed, clock = time.perf_counter() - clock, time.perf_counter()
        pending.append(
            TrainMetric(
                job_id=ctx.job_id,
                step=step,
                values={
                    "loss": sums["loss"],
                    "sft_loss": sums["sft"],
                    "vcl_term": sums["vcl"],
                    "learning_rate": optimizer.param_groups[0]["lr"],
                    "tokens_per_s": sums["tokens"] / max(elapsed, 1e-9),
                },
                layer_values={"window_concentration": concs},
            )
        )
        if len(pending) >= METRICS_EVERY or step == total - 1:
            with ctx.transaction() as session:
                session.add_all(pending)
            pending = []
        ctx.progress((step + 1) / total, f"step {step + 1}/{total} loss {sums['loss']:.3f}")
        done = step + 1
        if params.checkpoint_every and done % params.checkpoint_every == 0 and done < total:
            _save_checkpoint(model, optimizer, done, ckpt)

    model.bridge.eval()
    final = artifacts.staging_dir(f"{key}/model", CACHE)
    shutil.rmtree(final, ignore_errors=True)
    save_hf(model, final)
    uri = artifacts.put(final, f"{key}/model")
    n_safety = round(params.safety_fraction * params.n_examples)
    with ctx.transaction() as session:
        session.execute(delete(Model).where(Model.job_id == ctx.job_id))  # a re-run replaces
        row = Model(
            name=name,
            source="finetune",
            uri=uri,
            parent_id=base_row.id,
            job_id=ctx.job_id,
            config={"n_layers": model.n_layers, "d_model": model.d_model, "steps": total},
            lineage={
                "kind": "finetune",
                "parent": base_row.name,
                "params": params.model_dump(),
                "data_mix": {"safety": n_safety, "general": params.n_examples - n_safety},
            },
        )
        session.add(row)
        session.flush()
        return {"model_id": row.id, "steps": total, "final_loss": sums["loss"]}
