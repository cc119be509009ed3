"""Submit-time checks of job parameters against the database (light: no torch).

Each raises ``FieldError(field, problem)``; the API answers 422 naming that field. What
cannot be known before the job runs (a model a sweep has not trained yet) is checked by the job.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import dataset_roles
from backend.errors import FieldError
from backend.jobs.lora_targets import lora_targets
from backend.jobs.params.base import devices_owned
from backend.jobs.params.classifiers import classifier_model
from backend.model_dirs import check_safetensors_file
from backend.models import Dataset, Evaluation, Job, JobStatus, Model, Run, Worker, utcnow


def nothing(_session: Session, _params) -> None:
    """Kinds whose parameters need no database check."""


def import_hub_dataset(_session: Session, params) -> None:
    from backend.config import get_settings

    problem = get_settings().local_dataset_dir_error(params.repo)
    if problem:
        raise FieldError("repo", problem)


def _dataset(session: Session, field: str, dataset_id: int | None, *fits: str) -> None:
    """The dataset exists and, with ``fits``, has one of those roles (backend/dataset_roles)."""
    if dataset_id is None:
        return
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise FieldError(field, f"dataset {dataset_id} not found")
    if fits:
        dataset_roles.require(session, field, dataset, *fits)


# the kinds that register a model: under their parameter "name", else (fine-tunes) under
# "<base model>-<suffix><job id>" (worker/jobs/finetune.py, dpo.py)
MODEL_MAKERS = {"train_demo_model": None, "finetune": "ft", "dpo": "dpo"}


def _being_made(session: Session, name: str) -> bool:
    """Whether a queued or running job will register a model named ``name``."""
    unfinished = select(Job.id, Job.kind, Job.params).where(
        Job.kind.in_(list(MODEL_MAKERS)), Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING))
    )
    for job_id, kind, params in session.execute(unfinished):
        params = params or {}
        if params.get("name") == name:
            return True
        suffix = MODEL_MAKERS[kind]
        if params.get("name") or suffix is None or not name.endswith(f"-{suffix}{job_id}"):
            continue
        base = params.get("base_model_name")
        if base is None and params.get("base_model_id") is not None:
            base = session.scalar(select(Model.name).where(Model.id == params["base_model_id"]))
        if name == f"{base}-{suffix}{job_id}":
            return True
    return False


def _model(session: Session, field: str, model_id: int | None, name: str | None) -> Model | None:
    """The model of ``field`` (an id) or its ``*_name`` twin: a name must be registered or be
    the name a queued or running job will register (None then)."""
    if model_id is not None:
        model = session.get(Model, model_id)
        if model is None:
            raise FieldError(field, f"model {model_id} not found")
        return model
    model = session.scalar(select(Model).where(Model.name == name))
    if model is None and name is not None and not _being_made(session, name):
        known = session.scalars(select(Model.name).order_by(Model.id.desc()).limit(5)).all()
        raise FieldError(
            field.removesuffix("_id") + "_name",
            f"no model named {name!r}" + (f" (latest: {', '.join(known)})" if known else ""),
        )
    return model


def dataset_stats(session: Session, params) -> None:
    _dataset(session, "dataset_id", params.dataset_id)


def capture_spectra(session: Session, params) -> None:
    _model(session, "model_id", params.model_id, params.model_name)
    _dataset(session, "dataset_id", params.dataset_id, "probe", "general", "safety")
    if params.reference_run_id is not None and session.get(Run, params.reference_run_id) is None:
        raise FieldError("reference_run_id", f"run {params.reference_run_id} not found")


def _lora_targets(model: Model | None, params) -> None:
    """With LoRA, each target names a module of the model where its weights are in a local
    directory (a 2-D weight ``<module>.weight`` whose module name ends with the target); with
    no targets given, its architecture has defaults (backend/jobs/lora_targets.py)."""
    if params.lora_rank is None or model is None:
        return
    root = Path(model.uri.removeprefix("file://")).expanduser()
    if not root.is_dir():
        return
    targets = params.lora_target_modules
    if targets is None:
        model_type = json.loads((root / "config.json").read_text()).get("model_type", "")
        lora_targets(model_type, None)  # a FieldError where the architecture has no defaults
        return
    modules = [
        name.removesuffix(".weight")
        for file in sorted(root.glob("*.safetensors"))
        for name, tensor in check_safetensors_file(file).items()
        if name.endswith(".weight") and len(tensor["shape"]) == 2
    ]
    for target in targets:
        if not any(m == target or m.endswith("." + target) for m in modules):
            has = ", ".join(dict.fromkeys(m.rsplit(".", 1)[-1] for m in modules))
            raise FieldError(
                "lora_target_modules", f"no module named {target!r} in {model.name} (has: {has})"
            )


def _devices(session: Session, kind: str, devices: list[str] | None) -> None:
    """Some running worker of ``kind`` owns ``devices`` (names are checked by the params model;
    with no worker running nothing can be said, and the job checks on the worker it gets)."""
    from backend.config import get_settings

    if not devices:
        return
    since = utcnow() - timedelta(seconds=3 * get_settings().heartbeat_seconds + 5)
    running = session.scalars(
        select(Worker).where(Worker.stopped_at.is_(None), Worker.heartbeat_at >= since)
    ).all()
    running = [w for w in running if w.kinds is None or kind in w.kinds]
    owned = [[d.strip() for d in w.device.split(",")] for w in running]
    if running and not any(devices_owned(o, devices) for o in owned):
        has = "; ".join(sorted({w.device for w in running}))
        raise FieldError(
            "devices", f"no running {kind} worker owns {','.join(devices)} (they have: {has})"
        )


def finetune(session: Session, params) -> None:
    base = _model(session, "base_model_id", params.base_model_id, params.base_model_name)
    _lora_targets(base, params)
    _devices(session, "finetune", params.devices)
    _dataset(session, "general_dataset_id", params.general_dataset_id, "general")
    _dataset(session, "safety_dataset_id", params.safety_dataset_id, "safety")
    _dataset(session, "geometry_dataset_id", params.geometry_dataset_id)


def preference_data(session: Session, params) -> None:
    _model(session, "teacher_model_id", params.teacher_model_id, params.teacher_model_name)
    for dataset_id in params.prompt_dataset_ids:
        _dataset(session, "prompt_dataset_ids", dataset_id, "probe")
    _classifier(session, params.classifier)
    if session.scalar(select(Dataset.id).where(Dataset.name == params.name)) is not None:
        raise FieldError("name", f"a dataset named {params.name!r} already exists")


def dpo(session: Session, params) -> None:
    base = _model(session, "base_model_id", params.base_model_id, params.base_model_name)
    _lora_targets(base, params)
    if params.dataset_id is not None:
        dataset = session.get(Dataset, params.dataset_id)
        if dataset is None:
            raise FieldError("dataset_id", f"dataset {params.dataset_id} not found")
        if dataset.format != "preference":
            raise FieldError("dataset_id", f"dataset {dataset.name!r} is not a preference dataset")


def _classifier(session: Session, name: str) -> None:
    """A model classifier ("judge:<model>") needs that model registered (names are checked by
    the params model)."""
    model = classifier_model(name)
    if model is not None and session.scalar(select(Model.id).where(Model.name == model)) is None:
        raise FieldError("classifier", f"no registered model named {model!r} to judge with")


def _residuals_run(
    session: Session, run_id: int | None, capture_job_id: int | None, prefix: str
) -> Run | None:
    """A capture run (or the capture job making it) that kept its last-prompt residuals, for a
    direction or a probe; the run once it exists."""
    if capture_job_id is not None:
        job = session.get(Job, capture_job_id)
        if job is None or job.kind != "capture_spectra":
            raise FieldError(f"{prefix}capture_job_id", f"capture job {capture_job_id} not found")
        return None
    run = session.get(Run, run_id)
    if run is None:
        raise FieldError(f"{prefix}run_id", f"run {run_id} not found")
    if run.activations_uri is None:
        raise FieldError(
            f"{prefix}run_id", f"run {run.id} kept no residuals (position {run.position!r})"
        )
    return run


def _intervention(session: Session, spec) -> None:
    """The direction's run exists, kept its residuals and has the layer."""
    if spec is None:
        return
    run = _residuals_run(session, spec.run_id, spec.capture_job_id, "intervention.")
    if run is not None and spec.layer >= run.n_layers:
        raise FieldError(
            "intervention.layer", f"run {run.id} has layers 0..{run.n_layers - 1}, got {spec.layer}"
        )


def evaluate(session: Session, params) -> None:
    _model(session, "model_id", params.model_id, params.model_name)
    _dataset(session, "probe_dataset_id", params.probe_dataset_id, "probe")
    _dataset(session, "heldout_dataset_id", params.heldout_dataset_id, "general")
    _classifier(session, params.classifier)
    _intervention(session, params.intervention)


def intervention_sweep(session: Session, params) -> None:
    """The model, datasets and evaluate options check as evaluate's; a given run kept its
    residuals and has every layer."""
    _model(session, "model_id", params.model_id, params.model_name)
    _dataset(session, "probe_dataset_id", params.probe_dataset_id)
    _dataset(session, "heldout_dataset_id", params.heldout_dataset_id)
    _classifier(session, params.evaluate.get("classifier", "rules"))
    if params.run_id is None and params.capture_job_id is None:
        return
    run = _residuals_run(session, params.run_id, params.capture_job_id, "")
    if run is not None and max(params.layers) >= run.n_layers:
        raise FieldError(
            "layers", f"run {run.id} has layers 0..{run.n_layers - 1}, got {max(params.layers)}"
        )


def reclassify(session: Session, params) -> None:
    if session.get(Evaluation, params.evaluation_id) is None:
        raise FieldError("evaluation_id", f"evaluation {params.evaluation_id} not found")
    _classifier(session, params.classifier)


def sweep(session: Session, params) -> None:
    _model(session, "base_model_id", params.base_model_id, params.base_model_name)
    fits = {
        "general_dataset": "general",
        "safety_dataset": "safety",
        "probe_dataset": "probe",
        "heldout_dataset": "general",
    }
    for field, role in fits.items():
        name = getattr(params, field)
        dataset = name and session.scalar(select(Dataset).where(Dataset.name == name))
        if dataset:
            dataset_roles.require(session, field, dataset, role)
        # the built-in sets may still be registering (the demo queues both at once)
        elif name and name not in ("general", "general_heldout", "safety", "probe"):
            raise FieldError(field, f"dataset {name!r} not found")


def probe(session: Session, params) -> None:
    _residuals_run(session, params.run_id, params.capture_job_id, "")


def data_similarity(session: Session, params) -> None:
    """Both datasets exist; the model exists, or both runs kept residuals, are of one model and
    were captured on datasets A and B."""
    _dataset(session, "dataset_id", params.dataset_id)
    _dataset(session, "other_dataset_id", params.other_dataset_id)
    if params.model_id is not None or params.model_name is not None:
        model = _model(session, "model_id", params.model_id, params.model_name)
        d_model = (model.config or {}).get("d_model") if model else None
        if d_model and params.k > d_model:
            raise FieldError("k", f"k must be at most d_model = {d_model}, got {params.k}")
    if params.run_id is None:
        return
    runs = []
    for field, dataset_id in (
        ("run_id", params.dataset_id),
        ("other_run_id", params.other_dataset_id),
    ):
        run = session.get(Run, getattr(params, field))
        if run is None:
            raise FieldError(field, f"run {getattr(params, field)} not found")
        if run.activations_uri is None:
            raise FieldError(field, f"run {run.id} kept no residuals (position {run.position!r})")
        if run.dataset_id != dataset_id:
            raise FieldError(
                field, f"run {run.id} is on dataset {run.dataset_id}, not {dataset_id}"
            )
        runs.append(run)
    if runs[0].model_id != runs[1].model_id or runs[0].hook != runs[1].hook:
        raise FieldError("other_run_id", "the two runs must be of one model at one hook")
    if params.k > runs[0].d_model:
        raise FieldError("k", f"k must be at most d_model = {runs[0].d_model}, got {params.k}")


def select_direction(session: Session, params) -> None:
    _model(session, "model_id", params.model_id, params.model_name)
    _residuals_run(session, params.run_id, params.capture_job_id, "")
    _dataset(session, "probe_dataset_id", params.probe_dataset_id)
