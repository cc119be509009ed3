"""Parameters of every job kind: one Pydantic model each, validated at submit time and stored
with the job so that a result is reproducible from what the database holds."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.errors import FieldError


class JobParams(BaseModel):
    """Base of all parameter models: unknown fields and non-finite numbers (NaN, infinities)
    are errors, not silently ignored or stored."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class EchoParams(JobParams):
    message: str = Field("hello", max_length=10_000, description="Text returned in the result.")
    sleep_seconds: float = Field(
        0.0, ge=0, le=3600, description="Time to spend, in steps of 0.1 s."
    )
    crash: Literal["none", "exception", "segfault", "exit"] = Field(
        "none", description="Fail on purpose after sleeping (tests of crash handling)."
    )
    mark: str | None = Field(
        None,
        pattern=r"^[\w.\-]{1,100}$",
        description="Append one line per execution to diagnostics/<mark> in the artifact store "
        "(exactly-once checks); a file name, never a path.",
    )


class RegisterBuiltinParams(JobParams):
    seed: int = Field(0, ge=0, description="Seed of the template generators.")


class DatasetStatsParams(JobParams):
    dataset_id: int = Field(ge=1, description="Dataset to measure.")


class TrainDemoModelParams(JobParams):
    name: str = Field("demo", pattern=r"^[\w.\-]{1,100}$", description="Registered model name.")
    seed: int = Field(0, ge=0)
    n_layers: int = Field(4, ge=1, le=24)
    d_model: int = Field(128, ge=32, le=1024, multiple_of=32)
    steps: int | None = Field(None, ge=1, le=100_000, description="Default: fits the corpus.")


class ModelRef(JobParams):
    """A registered model, by id or by unique name (a sweep names models before they exist)."""

    model_id: int | None = Field(None, ge=1, description="Registered model id.")
    model_name: str | None = Field(None, min_length=1, description="Or its unique name.")

    @model_validator(mode="after")
    def _one_model(self):
        if (self.model_id is None) == (self.model_name is None):
            raise FieldError("model_id", "give exactly one of model_id and model_name")
        return self


class CaptureSpectraParams(ModelRef):
    dataset_id: int = Field(ge=1, title="Prompt set", description="Its rows' prompts are captured.")
    hook: Literal["resid_pre", "resid_mid", "resid_post"] = "resid_post"
    position: Literal["last_prompt", "all"] = Field(
        "last_prompt", description="Final prompt token, or a streaming covariance of all tokens."
    )
    chat_template: bool = True
    batch_size: int = Field(32, ge=1, le=1024)
    max_prompts: int | None = Field(None, ge=3, le=1_000_000)
    bootstrap: int = Field(
        200, ge=0, le=5000, title="Bootstrap resamples", description="For 95% intervals."
    )
    reference_run_id: int | None = Field(
        None, ge=1, title="Reference run", description="Run to align against (alignment)."
    )
    reference_job_id: int | None = Field(
        None, ge=1, description="Or the capture job whose run to align against."
    )
    seed: int = Field(0, ge=0)


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


def devices_owned(owned: list[str], wanted: list[str]) -> bool:
    """Whether a worker with devices ``owned`` has every one of ``wanted`` (``cpu`` ranks:
    as many as it lists)."""
    if all(d == "cpu" for d in wanted):
        return owned.count("cpu") >= len(wanted)
    return set(wanted) <= set(owned)


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
    base_model_name: str | None = Field(None, min_length=1, description="Or its unique name.")
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

    @model_validator(mode="after")
    def _consistent(self):
        if (self.base_model_id is None) == (self.base_model_name is None):
            raise FieldError(
                "base_model_id", "give exactly one of base_model_id and base_model_name"
            )
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


# The rule classifiers of worker.science.refusal_classifier.CLASSIFIERS (a unit test keeps the
# two equal) and the model classifiers "<kind>:<registered model name>" of worker.science.judges.
RULE_CLASSIFIERS = ("rules", "string_match")
MODEL_CLASSIFIERS = ("judge", "wildguard")


def classifier_model(name: str) -> str | None:
    """The model a model classifier's name names ("judge:demo" -> "demo"); None for the rules."""
    kind, sep, model = name.partition(":")
    return model if sep and kind in MODEL_CLASSIFIERS and model else None


def classifier_name(name: str) -> str:
    """``name`` if it names a refusal classifier, else FieldError("classifier", why)."""
    if name in RULE_CLASSIFIERS or classifier_model(name) is not None:
        return name
    if name.startswith("llamaguard:"):
        raise FieldError(
            "classifier", "Llama Guard judges harm, not refusal: it is not a refusal classifier"
        )
    known = ", ".join(RULE_CLASSIFIERS + tuple(f"{k}:<model name>" for k in MODEL_CLASSIFIERS))
    raise FieldError("classifier", f"unknown classifier {name!r} (known: {known})")


class InterventionParams(JobParams):
    """An intervention on a capture run's refusal direction (DESIGN.md "Interventions")."""

    kind: Literal["ablate", "add"] = Field(
        title="Intervention",
        description="ablate: project the direction out at every layer and position; add: add "
        "alpha x the layer's mean norm x the unit direction at that layer.",
    )
    run_id: int | None = Field(
        None, ge=1, title="Direction's run", description="Capture run with safe and unsafe prompts."
    )
    capture_job_id: int | None = Field(None, ge=1, description="Or the capture job that makes it.")
    layer: int = Field(ge=0, description="Layer of the direction (and where add applies).")
    alpha: float = Field(
        0.0, ge=-100, le=100, description="add: multiples of the layer's mean residual norm."
    )

    @model_validator(mode="after")
    def _one_run(self):
        if (self.run_id is None) == (self.capture_job_id is None):
            raise FieldError("run_id", "give exactly one of run_id and capture_job_id")
        return self


class SelectDirectionParams(ModelRef):
    """Score every layer's refusal direction of a capture run by ablating it (Arditi et al.'s
    selection): refusal-score drop on the unsafe prompts, KL on the safe ones."""

    run_id: int | None = Field(None, ge=1, title="Capture run", description="Run whose directions.")
    capture_job_id: int | None = Field(None, ge=1, description="Or the capture job that makes it.")
    probe_dataset_id: int = Field(ge=1, title="Probe set", description="Safe and unsafe prompts.")
    max_prompts: int | None = Field(None, ge=1, le=100_000, description="Of each label.")
    batch_size: int = Field(32, ge=1, le=1024)
    chat_template: bool = True
    kl_max: float = Field(
        0.1, gt=0, le=100, title="KL limit", description="Layers costing more KL are not proposed."
    )
    max_layer_fraction: float = Field(
        0.8, gt=0, le=1, description="Only layers below this share of the depth are proposed."
    )

    @model_validator(mode="after")
    def _one_run(self):
        if (self.run_id is None) == (self.capture_job_id is None):
            raise FieldError("run_id", "give exactly one of run_id and capture_job_id")
        return self


class EvaluateParams(ModelRef):
    """False refusal, safety and capability of a model (DESIGN.md, refusal evaluation)."""

    probe_dataset_id: int = Field(
        ge=1, title="Probe set", description="Prompts labelled safe/unsafe with a type."
    )
    heldout_dataset_id: int | None = Field(
        None, ge=1, title="Held-out data", description="General data for the loss."
    )
    max_new_tokens: int = Field(40, ge=1, le=2048)
    batch_size: int = Field(64, ge=1, le=1024)
    max_prompts: int | None = Field(None, ge=1, le=100_000)
    classifier: str = Field(
        "rules",
        max_length=128,
        description="Refusal classifier: rules, string_match, judge:<model name> (a registered "
        "chat model as judge) or wildguard:<model name> (docs/classifier.md).",
    )
    chat_template: bool = True
    system_prompt: str | None = Field(
        None,
        max_length=10_000,
        description="System turn before each prompt (prepended to the prompt where the chat "
        "template has no system role).",
    )
    intervention: InterventionParams | None = Field(
        None, description="Evaluate under an intervention on a refusal direction (none: as is)."
    )

    @model_validator(mode="after")
    def _known_classifier(self):
        classifier_name(self.classifier)
        return self


class InterventionSweepParams(ModelRef):
    """Evaluations of one model under interventions on its refusal direction, one evaluate job
    per cell: ablate each layer's direction, add alpha at each layer, and the model as is (the
    curve of false refusal against unsafe refusal; DESIGN.md "Interventions")."""

    probe_dataset_id: int = Field(
        ge=1, title="Probe set", description="Safe and unsafe prompts evaluated (and captured)."
    )
    heldout_dataset_id: int | None = Field(
        None, ge=1, title="Held-out data", description="General data for the loss."
    )
    run_id: int | None = Field(
        None,
        ge=1,
        title="Direction's run",
        description="Capture run with safe and unsafe prompts (none: captured here, probe set).",
    )
    capture_job_id: int | None = Field(None, ge=1, description="Or the capture job that makes it.")
    layers: list[int] = Field(
        min_length=1, max_length=64, description="Layers of the directions (add applies there)."
    )
    alphas: list[float] = Field(
        [-1.0, 1.0],
        max_length=20,
        description="add: multiples of the layer's mean residual norm ([]: no steering cells).",
    )
    ablate: bool = Field(True, description="A cell ablating each layer's direction everywhere.")
    baseline: bool = Field(True, description="A cell evaluating the model as is.")
    evaluate: dict = Field(
        default_factory=dict, title="Other evaluate parameters", description="As JSON."
    )
    bootstrap: int = Field(
        0, ge=0, le=5000, title="Bootstrap resamples", description="Of the capture made here."
    )

    @model_validator(mode="after")
    def _cells(self):
        if self.run_id is not None and self.capture_job_id is not None:
            raise FieldError("run_id", "give at most one of run_id and capture_job_id")
        if any(layer < 0 for layer in self.layers) or len(set(self.layers)) < len(self.layers):
            raise FieldError("layers", "layers must be distinct and >= 0")
        if any(not -100 <= a <= 100 for a in self.alphas) or len(set(self.alphas)) < len(
            self.alphas
        ):
            raise FieldError("alphas", "alphas must be distinct and in [-100, 100]")
        if not self.ablate and not self.alphas:
            raise FieldError("alphas", "no intervention: give alphas or ablate")
        reserved = {"model_id", "model_name", "probe_dataset_id", "heldout_dataset_id"}
        clash = sorted((reserved | {"intervention"}) & set(self.evaluate))
        if clash:
            raise FieldError("evaluate", f"{clash} are set by the sweep")
        EvaluateParams.model_validate({**self.evaluate, "model_id": 1, "probe_dataset_id": 1})
        return self


class ReclassifyParams(JobParams):
    """Another refusal classifier over an evaluation's stored completions (no regeneration)."""

    evaluation_id: int = Field(ge=1, description="Evaluation whose completions to judge.")
    classifier: str = Field(
        max_length=128,
        description="rules, string_match, judge:<model name> or wildguard:<model name>.",
    )
    batch_size: int = Field(16, ge=1, le=1024, description="Judge model batch size.")

    @model_validator(mode="after")
    def _known_classifier(self):
        classifier_name(self.classifier)
        return self


class ProbeParams(JobParams):
    """Linear probes of unsafe vs safe per layer on a capture run's last-prompt residuals."""

    run_id: int | None = Field(None, ge=1, title="Capture run", description="Run to probe.")
    capture_job_id: int | None = Field(
        None, ge=1, description="Or the capture job that makes the run (a job it depends on)."
    )
    folds: int = Field(5, ge=2, le=20, title="Folds", description="Stratified k-fold splits.")
    C: float = Field(
        1.0, gt=0, le=1e6, title="Inverse regularisation", description="LogisticRegression's C."
    )
    seed: int = Field(0, ge=0, description="Seed of the fold split.")

    @model_validator(mode="after")
    def _one_run(self):
        if (self.run_id is None) == (self.capture_job_id is None):
            raise FieldError("run_id", "give exactly one of run_id and capture_job_id")
        return self


class PreferenceDataParams(JobParams):
    """Preference pairs for DPO: a teacher's sampled completions, judged by a refusal classifier
    (safe prompts prefer compliance, unsafe prompts refusal; docs/training.md, "DPO")."""

    teacher_model_id: int | None = Field(None, ge=1, description="Model that generates.")
    teacher_model_name: str | None = Field(None, min_length=1, description="Or its unique name.")
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

    @model_validator(mode="after")
    def _consistent(self):
        if (self.teacher_model_id is None) == (self.teacher_model_name is None):
            raise FieldError(
                "teacher_model_id", "give exactly one of teacher_model_id and teacher_model_name"
            )
        classifier_name(self.classifier)
        return self


DPO_LOSSES = ("sigmoid", "hinge", "ipo", "robust", "sppo_hard", "nca_pair", "apo_zero", "apo_down")


class DPOParams(JobParams):
    """Direct preference optimisation on a ``preference`` dataset (TRL's DPOTrainer)."""

    base_model_id: int | None = Field(None, ge=1, description="Model to train.")
    base_model_name: str | None = Field(None, min_length=1, description="Or its unique name.")
    name: str | None = Field(None, pattern=r"^[\w.\-]{1,200}$", description="Name of the result.")
    dataset_id: int | None = Field(None, ge=1, description="Preference dataset.")
    dataset_name: str | None = Field(None, min_length=1, description="Or its unique name.")
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

    @model_validator(mode="after")
    def _consistent(self):
        if (self.base_model_id is None) == (self.base_model_name is None):
            raise FieldError(
                "base_model_id", "give exactly one of base_model_id and base_model_name"
            )
        if (self.dataset_id is None) == (self.dataset_name is None):
            raise FieldError("dataset_id", "give exactly one of dataset_id and dataset_name")
        if self.reference_model_name is not None and self.lora_rank is not None:
            raise FieldError(
                "reference_model_name", "with LoRA the reference is the adapter-disabled base"
            )
        return self


class SweepParams(JobParams):
    """A grid of fine-tunes; each cell is finetune -> capture_spectra -> evaluate."""

    base_model_id: int | None = Field(None, ge=1)
    base_model_name: str | None = Field(None, min_length=1)
    general_dataset: str = Field("general", title="General data", description="By name.")
    safety_dataset: str = Field("safety", title="Safety data", description="By name.")
    probe_dataset: str = Field("probe", title="Probe set", description="By name.")
    heldout_dataset: str | None = Field(
        "general_heldout", title="Held-out data", description="By name."
    )
    safety_fractions: list[float] = Field(
        [0.0, 0.1, 0.4],
        min_length=1,
        max_length=50,
        title="Safety shares p",
        description="Each 0 to 1; 0 (the reference cell) included.",
    )
    vcl_lambdas: list[float] = Field([0.0], min_length=1, max_length=20, title="VCL weights lambda")
    vcl_signs: list[Literal["penalise", "encourage"]] = Field(
        ["penalise"], min_length=1, title="VCL signs"
    )
    vcl_ks: list[int] = Field([3], min_length=1, max_length=10, title="VCL k values")
    seeds: list[int] = Field([0], min_length=1, max_length=20)
    finetune: dict = Field(
        default_factory=dict, title="Other fine-tune parameters", description="As JSON."
    )
    bootstrap: int = Field(
        100, ge=0, le=5000, title="Bootstrap resamples", description="Of each capture."
    )
    max_new_tokens: int = Field(40, ge=1, le=2048)
    system_prompts: list[str | None] = Field(
        [None],
        min_length=1,
        max_length=10,
        description="One evaluate job per system prompt per cell (null: none).",
    )
    geometry: bool = Field(
        False, description="Each fine-tune captures spectra on the probe set at its checkpoints."
    )
    dpo: bool = Field(
        False, description="Add a DPO cell on top of every SFT cell with p > 0 and lambda 0."
    )
    dpo_teacher: str | None = Field(
        None,
        min_length=1,
        description="Model that generates the preference pairs, once for the sweep (null: each "
        "DPO cell's own SFT model, on-policy).",
    )
    dpo_params: dict = Field(default_factory=dict, description="Other dpo parameters.")
    preference_params: dict = Field(
        default_factory=dict, description="Other preference_data parameters."
    )

    @model_validator(mode="after")
    def _dpo_options(self):
        if not self.dpo:
            return self
        set_by_sweep = {
            "dpo_params": {"base_model_id", "base_model_name", "dataset_id", "dataset_name"},
            "preference_params": {"teacher_model_id", "teacher_model_name", "prompt_dataset_ids"},
        }
        for field, reserved in set_by_sweep.items():
            clash = sorted((reserved | {"seed", "name"}) & set(getattr(self, field)))
            if clash:
                raise FieldError(field, f"{clash} are set by the sweep")
        DPOParams.model_validate({**self.dpo_params, "base_model_name": "m", "dataset_name": "d"})
        PreferenceDataParams.model_validate(
            {**self.preference_params, "teacher_model_name": "t", "prompt_dataset_ids": [1]}
            | {"name": "n"}
        )
        return self

    @model_validator(mode="after")
    def _consistent(self):
        if (self.base_model_id is None) == (self.base_model_name is None):
            raise FieldError(
                "base_model_id", "give exactly one of base_model_id and base_model_name"
            )
        if len(set(self.system_prompts)) < len(self.system_prompts):
            raise FieldError("system_prompts", "every system prompt must be different")
        if any(s is not None and len(s) > 10_000 for s in self.system_prompts):
            raise FieldError("system_prompts", "a system prompt has over 10000 characters")
        if any(not 0 <= p <= 1 for p in self.safety_fractions):
            raise FieldError("safety_fractions", "every value must be in [0, 1]")
        if 0.0 not in self.safety_fractions:
            raise FieldError("safety_fractions", "must include 0 (the reference cell)")
        cells = len(self.safety_fractions) * len(self.vcl_lambdas) * len(self.vcl_ks)
        if cells * len(self.vcl_signs) * len(self.seeds) > 500:
            raise FieldError("safety_fractions", "the grid has more than 500 cells")
        reserved = {
            "base_model_id",
            "base_model_name",
            "safety_fraction",
            "vcl_lambda",
            "vcl_sign",
            "vcl_k",
            "seed",
            "general_dataset_id",
            "safety_dataset_id",
            "name",
        }
        clash = sorted(reserved & set(self.finetune))
        if clash:
            raise FieldError("finetune", f"{clash} are set by the sweep grid")
        FinetuneParams.model_validate(
            {
                **self.finetune,
                "base_model_id": 1,
                "general_dataset_id": 1,
                "safety_dataset_id": 1,
                "vcl_lambda": max(self.vcl_lambdas),
                "vcl_k": max(self.vcl_ks),
            }
        )
        return self


class ImportHubDatasetParams(JobParams):
    """A Hugging Face dataset by hub name (where the hub is reachable) or a local dataset folder."""

    repo: str = Field(
        min_length=1, max_length=300, description="Hub name, e.g. natolambert/xstest-v2-copy."
    )
    split: str = Field("train", min_length=1, max_length=100)
    name: str = Field(pattern=r"^[\w.\-]{1,100}$", description="Name to register it under.")
    prompt_field: str = Field("prompt", min_length=1)
    response_field: str | None = None
    label_field: str | None = Field(None, description="Column holding safe/unsafe.")
    type_field: str | None = None
    label: Literal["safe", "unsafe"] | None = Field(None, description="Label of rows without one.")
    max_rows: int = Field(100_000, ge=1, le=1_000_000)


class DataSimilarityParams(JobParams):
    """Similarity of two prompt sets: word n-gram overlap, and with a model (or two capture runs
    of one model) the overlap of their top-k residual subspaces per layer (DESIGN.md)."""

    dataset_id: int = Field(ge=1, title="Dataset A")
    other_dataset_id: int = Field(ge=1, title="Dataset B")
    model_id: int | None = Field(
        None, ge=1, description="Model whose residuals are compared (none: n-gram overlap only)."
    )
    model_name: str | None = Field(None, min_length=1, description="Or its unique name.")
    run_id: int | None = Field(
        None, ge=1, title="Run on A", description="Or last_prompt capture runs of one model..."
    )
    other_run_id: int | None = Field(None, ge=1, title="Run on B", description="...on A and B.")
    k: int = Field(10, ge=1, le=1024, description="Dimension of each principal subspace.")
    max_prompts: int = Field(
        500, ge=3, le=100_000, description="Prompts drawn (seeded) from a set captured here."
    )
    seed: int = Field(0, ge=0, description="Seed of that draw.")

    @model_validator(mode="after")
    def _one_source(self):
        if (self.run_id is None) != (self.other_run_id is None):
            raise FieldError("other_run_id", "give both run_id and other_run_id, or neither")
        if self.model_id is not None and self.model_name is not None:
            raise FieldError("model_id", "give at most one of model_id and model_name")
        if self.run_id is not None and (self.model_id or self.model_name) is not None:
            raise FieldError("model_id", "give a model or two runs, not both")
        return self
