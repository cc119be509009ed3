"""Parameters of the evaluation kinds: evaluate a model's refusals, reclassify stored
completions, and the sweeps that expand into grids of jobs (fine-tunes, interventions)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from backend.errors import FieldError
from backend.jobs.params.base import JobParams, ModelRef, exactly_one
from backend.jobs.params.classifiers import classifier_name
from backend.jobs.params.geometry import InterventionParams
from backend.jobs.params.training import DPOParams, FinetuneParams, PreferenceDataParams


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

    _one_base = exactly_one("base_model_id", "base_model_name")

    @model_validator(mode="after")
    def _consistent(self):
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
