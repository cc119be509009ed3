"""Parameters of the training kinds: the demo model, supervised fine-tuning (full or LoRA, on
one device or several), preference pairs for DPO, and DPO itself."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from backend.errors import FieldError
from backend.jobs.params.base import JobParams, OrName, exactly_one
from backend.jobs.params.classifiers import classifier_name


class TrainDemoModelParams(JobParams):
    name: str = Field("demo", pattern=r"^[\w.\-]{1,100}$", description="Registered model name.")
    seed: int = Field(0, ge=0)
    n_layers: int = Field(4, ge=1, le=24)
    d_model: int = Field(128, ge=32, le=1024, multiple_of=32)
    steps: int | None = Field(None, ge=1, le=100_000, description="Default: fits the corpus.")


LORA = {"json_schema_extra": {"group": "LoRA"}}  # shown together in the submit form
DEVICE = r"^(cpu|cuda:\d+)$"


LoRARank = Annotated[
    int | None,
    Field(
        ge=1,
        le=1024,
        title="LoRA rank",
        description="Train a LoRA adapter of this rank (null: a full fine-tune; 8 is usual).",
        **LORA,
    ),
]
LoRAAlpha = Annotated[
    float, Field(gt=0, title="LoRA alpha", description="Scale alpha / rank.", **LORA)
]
LoRADropout = Annotated[float, Field(ge=0, lt=1, title="LoRA dropout", **LORA)]
LoRATargets = Annotated[
    list[str] | None,
    Field(
        min_length=1,
        title="LoRA target modules",
        description='Module names, e.g. ["q_proj", "v_proj"] (null: the attention projections '
        "of the architecture, docs/training.md).",
        **LORA,
    ),
]


def old_lora_shape(data):
    """The LoRA fields of finetune and dpo are ``lora_rank`` (null: full fine-tune), alpha,
    dropout and target modules. Stored fine-tunes have the old shape, ``lora: true|false``
    beside ``lora_rank``: false is a full fine-tune, true the rank given or 8."""
    if isinstance(data, dict) and "lora" in data:
        data = dict(data)
        on = data.pop("lora")
        if not isinstance(on, bool):
            raise FieldError("lora", "expected true or false (or give lora_rank alone)")
        data["lora_rank"] = (data.get("lora_rank") or 8) if on else None
    return data


# accelerate shards only on accelerators: on CPU ranks it drops the FSDP plugin and trains DDP
CPU_FSDP = "FSDP needs cuda devices (on cpu ranks accelerate would silently train DDP)"


class FinetuneParams(JobParams):
    """Supervised fine-tuning on a general + safety mix, optionally with VCL (DESIGN.md)."""

    base_model_id: int | None = Field(
        None, ge=1, title="Base model", description="Model to fine-tune."
    )
    base_model_name: OrName = None
    name: str | None = Field(None, pattern=r"^[\w.\-]{1,200}$", description="Name of the result.")
    general_dataset_id: int = Field(
        ge=1, title="General data", description="Instruction data with responses."
    )
    safety_dataset_id: int = Field(
        ge=1, title="Safety data", description="Unsafe prompts with refusals."
    )
    safety_fraction: float = Field(
        0.1, ge=0, le=1, title="Safety share p", description="Share of safety examples."
    )
    n_examples: int = Field(2000, ge=8, le=1_000_000, title="Examples in the mix")
    epochs: int = Field(1, ge=1, le=100)
    steps: int | None = Field(
        None, ge=1, le=1_000_000, title="Optimiser steps", description="Overrides epochs."
    )
    learning_rate: float = Field(1e-3, gt=0, le=1, description="Peak (AdamW), after warm-up.")
    schedule: Literal["constant", "linear", "cosine"] = "cosine"
    warmup_steps: int = Field(10, ge=0, title="Warm-up steps")
    batch_size: int = Field(32, ge=1, le=4096, description="Rows per micro-batch.")
    grad_accum: int = Field(
        1, ge=1, le=1024, title="Gradient accumulation", description="Micro-batches per step."
    )
    max_length: int = Field(128, ge=8, le=32768, title="Max length (tokens)")
    grad_clip: float = Field(1.0, gt=0, title="Gradient clip (max norm)")
    seed: int = Field(0, ge=0)
    checkpoint_every: int | None = Field(
        50, ge=1, description="Steps between checkpoints (a re-queued job resumes there)."
    )
    keep_checkpoint: bool = Field(
        False, description="Keep the last checkpoint after success (else removed with the rest)."
    )
    geometry_dataset_id: int | None = Field(
        None,
        ge=1,
        title="Geometry prompts",
        description="Capture spectra on this prompt set before training and at each checkpoint "
        "(runs linked to the fine-tune and step; none: off).",
    )
    geometry_prompts: int = Field(64, ge=3, le=10_000, description="Prompts of that set used.")
    vcl_lambda: float = Field(0.0, ge=0, le=1000, title="VCL weight lambda", description="0 = off.")
    vcl_k: int = Field(3, ge=1, le=64, title="VCL k", description="Top-k components concentrated.")
    vcl_window_a: float = Field(
        0.3, ge=0, le=1, title="VCL window start", description="Fraction of the depth."
    )
    vcl_window_b: float = Field(
        0.5, ge=0, le=1, title="VCL window end", description="Fraction of the depth."
    )
    vcl_position: Literal["last_prompt", "response"] = "last_prompt"
    vcl_sign: Literal["penalise", "encourage"] = "penalise"
    vcl_measure: Literal["topk", "inverse_participation_ratio"] = Field(
        "topk",
        description="Concentration: top-k variance share, or 1 / participation_ratio (no SVD).",
    )
    lora_rank: LoRARank = None
    lora_alpha: LoRAAlpha = 16
    lora_dropout: LoRADropout = 0.05
    lora_target_modules: LoRATargets = None
    gradient_checkpointing: bool = Field(
        False, description="Recompute activations in the backward pass (less memory, slower)."
    )
    dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="Weights and activations (auto: bfloat16 on CUDA, float32 on CPU)."
    )
    devices: list[str] | None = Field(
        None,
        min_length=1,
        max_length=64,
        description='Devices of its worker to train on, e.g. ["cuda:0", "cuda:1"] (one rank '
        "each; null: all the worker's devices).",
    )
    fsdp: bool = Field(
        False,
        title="FSDP",
        description="On several devices: shard weights, gradients and optimiser states over "
        "them (FSDP) instead of a full copy on each (DDP). Full fine-tunes only.",
    )

    @field_validator("devices")
    @classmethod
    def _device_names(cls, value):
        """``cpu`` (gloo ranks, for tests) or distinct ``cuda:N``, not both."""
        if value is None:
            return value
        bad = [d for d in value if not re.fullmatch(DEVICE, d)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a device (expected cpu or cuda:N)")
        cuda = [d for d in value if d != "cpu"]
        if cuda and len(cuda) < len(value):
            raise ValueError("give cpu devices or cuda devices, not both")
        if len(set(cuda)) < len(cuda):
            raise ValueError("a cuda device is listed twice")
        return value

    _old_lora_shape = model_validator(mode="before")(old_lora_shape)

    @field_validator("vcl_measure", mode="before")
    @classmethod
    def _measure_renamed(cls, value):
        """Accept the measure's old name, "participation", from jobs stored before the rename."""
        return "inverse_participation_ratio" if value == "participation" else value

    _one_base = exactly_one("base_model_id", "base_model_name")

    @model_validator(mode="after")
    def _consistent(self):
        if self.vcl_window_b <= self.vcl_window_a:
            raise FieldError("vcl_window_b", "must be greater than vcl_window_a")
        if self.fsdp and self.lora_rank:
            raise FieldError(
                "fsdp", "LoRA trains on DDP (each rank holds the frozen base): leave fsdp off"
            )
        if self.fsdp and self.devices and "cpu" in self.devices:
            raise FieldError("fsdp", CPU_FSDP)
        if self.fsdp and self.geometry_dataset_id is not None:
            raise FieldError(
                "fsdp", "geometry captures need the whole model on one rank: leave fsdp off"
            )
        if self.vcl_lambda > 0 and self.vcl_position == "last_prompt":
            if self.batch_size <= self.vcl_k + 1:
                raise FieldError(
                    "batch_size", f"VCL needs more than k + 1 = {self.vcl_k + 1} rows per batch"
                )
        return self


class PreferenceDataParams(JobParams):
    """Preference pairs for DPO: a teacher's sampled completions, judged by a refusal classifier
    (safe prompts prefer compliance, unsafe prompts refusal; docs/training.md, "DPO")."""

    teacher_model_id: int | None = Field(None, ge=1, description="Model that generates.")
    teacher_model_name: OrName = None
    prompt_dataset_ids: list[int] = Field(
        min_length=1, max_length=10, description="Prompt sets; each row's label says safe/unsafe."
    )
    max_prompts: int | None = Field(
        200, ge=1, le=100_000, description="Prompts drawn (seeded) from each set (null: all)."
    )
    n_samples: int = Field(4, ge=2, le=16, description="Sampled completions per prompt.")
    temperature: float = Field(1.0, gt=0, le=5)
    max_new_tokens: int = Field(40, ge=1, le=2048)
    batch_size: int = Field(32, ge=1, le=1024, description="Prompts per generation batch.")
    classifier: str = Field("rules", max_length=128, description="Refusal classifier.")
    seed: int = Field(0, ge=0)
    name: str = Field(pattern=r"^[\w.\-]{1,200}$", description="Name of the output dataset.")

    _one_teacher = exactly_one("teacher_model_id", "teacher_model_name")

    @model_validator(mode="after")
    def _known_classifier(self):
        classifier_name(self.classifier)
        return self


DPO_LOSSES = ("sigmoid", "hinge", "ipo", "robust", "sppo_hard", "nca_pair", "apo_zero", "apo_down")


class DPOParams(JobParams):
    """Direct preference optimisation on a ``preference`` dataset (TRL's DPOTrainer)."""

    base_model_id: int | None = Field(None, ge=1, description="Model to train.")
    base_model_name: OrName = None
    name: str | None = Field(None, pattern=r"^[\w.\-]{1,200}$", description="Name of the result.")
    dataset_id: int | None = Field(None, ge=1, description="Preference dataset.")
    dataset_name: OrName = None
    beta: float = Field(0.1, gt=0, le=100, description="Strength of the KL anchor.")
    loss_type: Literal[DPO_LOSSES] = "sigmoid"
    reference_model_name: str | None = Field(
        None,
        min_length=1,
        description="Reference policy (null: a frozen copy of the base; with LoRA the base "
        "with the adapter disabled).",
    )
    lora_rank: LoRARank = None
    lora_alpha: LoRAAlpha = 16
    lora_dropout: LoRADropout = 0.05
    lora_target_modules: LoRATargets = None
    learning_rate: float = Field(1e-4, gt=0, le=1)
    steps: int = Field(50, ge=1, le=1_000_000)
    batch_size: int = Field(8, ge=1, le=4096, description="Pairs per step.")
    warmup_steps: int = Field(0, ge=0)
    max_length: int = Field(160, ge=8, le=32768, description="Tokens of prompt + completion.")
    grad_clip: float = Field(1.0, gt=0)
    seed: int = Field(0, ge=0)
    checkpoint_every: int | None = Field(
        25, ge=1, description="Steps between checkpoints (a re-queued job resumes there)."
    )
    keep_checkpoint: bool = Field(
        False, description="Keep the last checkpoint after success (else removed with the rest)."
    )

    _one_base = exactly_one("base_model_id", "base_model_name")
    _one_dataset = exactly_one("dataset_id", "dataset_name")

    @model_validator(mode="after")
    def _reference(self):
        if self.reference_model_name is not None and self.lora_rank is not None:
            raise FieldError(
                "reference_model_name", "with LoRA the reference is the adapter-disabled base"
            )
        return self
