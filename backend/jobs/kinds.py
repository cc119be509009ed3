"""The one place job kinds are registered: kind -> parameters model -> function.

Light (pydantic only): the API validates parameters with it at submit time. The function is
named by a dotted path ("module:function") that the worker imports in its child process; the
backend never imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from backend.jobs import checks
from backend.jobs.params.datasets import (
    DatasetStatsParams,
    ImportHubDatasetParams,
    RegisterBuiltinParams,
)
from backend.jobs.params.diagnostic import EchoParams
from backend.jobs.params.evaluation import (
    EvaluateParams,
    InterventionSweepParams,
    ReclassifyParams,
    SweepParams,
)
from backend.jobs.params.geometry import (
    CaptureSpectraParams,
    DataSimilarityParams,
    ProbeParams,
    SelectDirectionParams,
)
from backend.jobs.params.training import (
    DPOParams,
    FinetuneParams,
    PreferenceDataParams,
    TrainDemoModelParams,
)


@dataclass(frozen=True)
class JobKind:
    name: str
    params: type[BaseModel]
    function: str  # "module:function", called as function(ctx, params) -> dict | None
    description: str
    check: Callable[[Session, Any], None] = checks.nothing  # submit-time, against the database
    internal: bool = False  # plumbing (diagnostics, set-up): accepted, but not offered to users


KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        JobKind(
            "echo",
            EchoParams,
            "worker.jobs.diagnostic:echo",
            "Diagnostic: sleeps, reports progress and echoes a message (tests, health checks).",
            internal=True,
        ),
        JobKind(
            "register_builtin",
            RegisterBuiltinParams,
            "worker.jobs.datasets:register_builtin",
            "Register the built-in datasets (general, general_heldout, safety, probe).",
            internal=True,
        ),
        JobKind(
            "dataset_stats",
            DatasetStatsParams,
            "worker.jobs.datasets:dataset_stats",
            "Diversity of a dataset: H1-H3, distinct-1/2, MSTTR_50, lengths.",
            checks.dataset_stats,
        ),
        JobKind(
            "import_hub_dataset",
            ImportHubDatasetParams,
            "worker.jobs.datasets:import_hub_dataset",
            "Import a Hugging Face dataset by hub name (where the hub is reachable), or a local "
            "folder an operator allows (FLOWLENS_LOCAL_DATASET_DIRS).",
            checks.import_hub_dataset,
        ),
        JobKind(
            "train_demo_model",
            TrainDemoModelParams,
            "worker.jobs.demo_model:train_demo_model",
            "Train the tiny Llama-style demo chat model and its tokenizer; register it.",
        ),
        JobKind(
            "capture_spectra",
            CaptureSpectraParams,
            "worker.jobs.capture:capture_spectra",
            "Capture residual streams of a model on a prompt set and compute FlowLens spectra.",
            checks.capture_spectra,
        ),
        JobKind(
            "finetune",
            FinetuneParams,
            "worker.jobs.finetune:finetune",
            "Fine-tune on a general + safety mix, with or without the VCL regulariser.",
            checks.finetune,
        ),
        JobKind(
            "preference_data",
            PreferenceDataParams,
            "worker.jobs.preference_data:preference_data",
            "DPO pairs: a teacher's sampled completions judged by a refusal classifier.",
            checks.preference_data,
        ),
        JobKind(
            "dpo",
            DPOParams,
            "worker.jobs.dpo:dpo",
            "Direct preference optimisation on a preference dataset (TRL's DPOTrainer).",
            checks.dpo,
        ),
        JobKind(
            "evaluate",
            EvaluateParams,
            "worker.jobs.evaluate:evaluate",
            "False refusal, safety, f1 and held-out loss of a model on a probe suite.",
            checks.evaluate,
        ),
        JobKind(
            "reclassify",
            ReclassifyParams,
            "worker.jobs.reclassify:reclassify",
            "Judge an evaluation's stored completions with another classifier (no regeneration).",
            checks.reclassify,
        ),
        JobKind(
            "probe",
            ProbeParams,
            "worker.jobs.probe:probe",
            "Linear probes of unsafe vs safe per layer of a capture run (scikit-learn, k-fold).",
            checks.probe,
        ),
        JobKind(
            "data_similarity",
            DataSimilarityParams,
            "worker.jobs.similarity:data_similarity",
            "Similarity of two prompt sets: word n-gram overlap and, on a model, the overlap of "
            "their top-k residual subspaces per layer (principal angles).",
            checks.data_similarity,
        ),
        JobKind(
            "select_direction",
            SelectDirectionParams,
            "worker.jobs.direction:select_direction",
            "Score each layer's refusal direction by ablation (refusal-score drop on unsafe "
            "prompts, KL on safe ones) and propose the best (Arditi et al.).",
            checks.select_direction,
        ),
        JobKind(
            "intervention_sweep",
            InterventionSweepParams,
            "worker.jobs.intervention_sweep:intervention_sweep",
            "One model under interventions on its refusal direction (ablate, add alpha per layer, "
            "as is): one evaluate per cell (after a capture on the probe set if no run is given).",
            checks.intervention_sweep,
        ),
        JobKind(
            "sweep",
            SweepParams,
            "worker.jobs.sweep:sweep",
            "A grid over safety fraction x VCL settings: finetune -> capture -> evaluate per cell.",
            checks.sweep,
        ),
    )
}


def get_kind(name: str) -> JobKind:
    try:
        return KINDS[name]
    except KeyError:
        known = ", ".join(sorted(KINDS))
        raise ValueError(f"unknown job kind {name!r}; known kinds: {known}") from None
