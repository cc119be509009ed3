"""``dpo``: direct preference optimisation on a ``preference`` dataset, on TRL's DPOTrainer.

The same live metrics as ``finetune`` (``JobCallback``: loss, DPO reward margin and accuracy,
learning rate, tokens/s, gradient norm), the Trainer's own checkpoints and resume, and a Model
row with the base as parent and the dataset and parameters in its lineage (docs/training.md).
The model trained is the plain Hugging Face model (no bridge: DPO reads no residuals).
"""

from __future__ import annotations

from sqlalchemy import delete, select

from backend.artifacts import replacing
from backend.jobs.lora_targets import lora_targets
from backend.jobs.params.training import DPOParams
from backend.models import Dataset, Model
from worker.context import JobContext, JobError, JobLost
from worker.jobs.common import CACHE, dataset_rows, model_source, registered_model, store
from worker.jobs.finetune import MetricWriter, resume_point
from worker.science.lora import adapted_modules
from worker.science.preference import FORMAT, rows_to_pairs
from worker.space import check_space


def _load(path: str, device: str):
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        return AutoModelForCausalLM.from_pretrained(
            path, dtype=dtype, use_safetensors=True, attn_implementation="eager"
        )
    except (OSError, ValueError) as exc:
        raise JobError(f"cannot load the model at {path}: {str(exc).splitlines()[0]}") from None


def _preference_dataset(ctx: JobContext, params: DPOParams) -> tuple[Dataset, list]:
    dataset_id = params.dataset_id
    if dataset_id is None:
        with ctx.transaction() as session:
            dataset_id = session.scalar(
                select(Dataset.id).where(Dataset.name == params.dataset_name)
            )
        if dataset_id is None:
            raise JobError(f"dataset_name: no dataset named {params.dataset_name!r}")
    dataset, rows = dataset_rows(ctx, dataset_id)
    if dataset.format != FORMAT:
        raise JobError(f"dataset_id: dataset {dataset.name!r} is not a preference dataset")
    try:
        return dataset, rows_to_pairs(rows)
    except ValueError as exc:
        raise JobError(f"dataset_id: {exc}") from None


def dpo_config(params: DPOParams, out_dir: str, device: str):
    """The shared Trainer settings (worker/science/trainer.py) with DPO's on top."""
    from trl import DPOConfig

    from worker.science.trainer import job_arguments

    return job_arguments(
        params,
        out_dir,
        device,
        steps=params.steps,
        bf16=device.startswith("cuda"),
        arguments_class=DPOConfig,
        beta=params.beta,
        loss_type=[params.loss_type],
        max_length=params.max_length,
        lr_scheduler_type="constant_with_warmup",
    )


def dpo(ctx: JobContext, params: DPOParams) -> dict:
    from datasets import Dataset as HFDataset
    from datasets.utils.logging import disable_progress_bar
    from transformers import AutoTokenizer, set_seed
    from transformers.trainer_callback import PrinterCallback
    from trl import DPOTrainer

    from worker.science.trainer import JobCallback, StepTotals

    class MeteredDPOTrainer(DPOTrainer):
        """DPOTrainer that hands each micro-batch's loss and rewards to ``totals``."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            logged = self._metrics["train"]
            totals.add(
                int(inputs["attention_mask"].sum()),
                loss=float((loss[0] if return_outputs else loss).item()),
                dpo_reward_margin=logged["rewards/margins"][-1],
                dpo_reward_accuracy=logged["rewards/accuracies"][-1],
            )
            return loss

    base_row = registered_model(ctx, params.base_model_id, params.base_model_name)
    check_space(ctx, "dpo", params)
    model_name = params.name or f"{base_row.name}-dpo{ctx.job_id}"
    with ctx.transaction() as session:
        taken = session.scalar(select(Model.job_id).where(Model.name == model_name))
    if taken is not None and taken != ctx.job_id:
        raise JobError(f"name: a model named {model_name!r} already exists")
    dataset, pairs = _preference_dataset(ctx, params)
    path = model_source(ctx, base_row)
    ctx.log(f"loading model {base_row.name!r} from {base_row.uri}")
    model, tokenizer = _load(path, ctx.device), AutoTokenizer.from_pretrained(path)
    reference = None
    if params.reference_model_name is not None:
        ref_row = registered_model(ctx, None, params.reference_model_name)
        reference = _load(model_source(ctx, ref_row), ctx.device)
    elif params.lora_rank is None:
        reference = _load(path, ctx.device)  # a frozen copy of the base
    peft_config = None
    if params.lora_rank is not None:
        from peft import LoraConfig

        try:
            targets = lora_targets(model.config.model_type, params.lora_target_modules)
            modules = adapted_modules(model, targets, repr(base_row.name))
        except ValueError as exc:
            raise JobError(str(exc)) from None
        peft_config = LoraConfig(
            r=params.lora_rank,
            lora_alpha=params.lora_alpha,
            lora_dropout=params.lora_dropout,
            target_modules=modules,
            task_type="CAUSAL_LM",
        )
    disable_progress_bar()
    train = HFDataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": p.prompt}],
                "chosen": [{"role": "assistant", "content": p.chosen}],
                "rejected": [{"role": "assistant", "content": p.rejected}],
            }
            for p in pairs
        ]
    )

    artifacts = store(ctx)
    key = f"dpo/job-{ctx.job_id}"
    checkpoints = artifacts.staging_dir(f"{key}/checkpoints", CACHE)
    resume = resume_point(ctx, checkpoints)
    totals = StepTotals()
    callback = JobCallback(totals, MetricWriter(ctx), ctx.progress, JobLost)
    set_seed(params.seed)  # a LoRA adapter is initialised inside, before the Trainer seeds
    trainer = MeteredDPOTrainer(
        model,
        ref_model=reference,
        args=dpo_config(params, str(checkpoints), ctx.device),
        train_dataset=train,
        processing_class=tokenizer,
        callbacks=[callback],
        peft_config=peft_config,
    )
    trainer.remove_callback(PrinterCallback)
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    if callback.stopped is not None:
        raise callback.stopped

    trained = trainer.model.merge_and_unload() if peft_config is not None else trainer.model
    final = artifacts.staging_dir(f"{key}/model", CACHE)
    with replacing(final) as temp:  # renamed into place: a killed save leaves no partial model
        trained.save_pretrained(temp)
        tokenizer.save_pretrained(temp)
    uri = artifacts.put(final, f"{key}/model")
    with ctx.transaction() as session:
        session.execute(delete(Model).where(Model.job_id == ctx.job_id))  # a re-run replaces
        row = Model(
            name=model_name,
            source="finetune",  # trained here: loaded from the artifact store like a fine-tune
            uri=uri,
            parent_id=base_row.id,
            job_id=ctx.job_id,
            config={
                **{
                    k: v for k, v in (base_row.config or {}).items() if k in ("n_layers", "d_model")
                },
                "steps": params.steps,
            },
            lineage={
                "kind": "dpo",
                "parent": base_row.name,
                "dataset": {"id": dataset.id, "name": dataset.name, "pairs": len(pairs)},
                "params": params.model_dump(),
                "adapter": "merged" if peft_config is not None else None,
            },
        )
        session.add(row)
        session.flush()
        model_id = row.id
    kept = ctx.finish_checkpoints(checkpoints, params.keep_checkpoint)
    return {
        **kept,
        "model_id": model_id,
        "steps": params.steps,
        "final_loss": callback.last_loss,
        "pairs": len(pairs),
    }
