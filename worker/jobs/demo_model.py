"""``train_demo_model``: a tiny Llama-style chat model and tokenizer from the built-in corpus."""

from __future__ import annotations

from sqlalchemy import select

from backend.artifacts import replacing
from backend.jobs.params.training import TrainDemoModelParams
from backend.models import Model
from worker.context import JobContext, JobError
from worker.jobs.common import CACHE, store
from worker.models.demo import train_demo_model as train
from worker.science.corpus import REFUSAL_TEXTS, builtin_dataset


def train_demo_model(ctx: JobContext, params: TrainDemoModelParams) -> dict:
    """Train on the ``general`` corpus (the tokenizer also sees the safety set's texts, so a
    later safety fine-tune has its words), save in HF format, register the model."""
    with ctx.transaction() as session:
        if session.scalar(select(Model.id).where(Model.name == params.name)) is not None:
            raise JobError(f"name: a model named {params.name!r} already exists")
    general = builtin_dataset("general", seed=params.seed)
    safety = builtin_dataset("safety", seed=params.seed)
    key = f"models/{params.name}-job{ctx.job_id}"
    artifacts = store(ctx)
    out_dir = artifacts.staging_dir(key, CACHE)
    with replacing(out_dir) as temp:  # renamed into place: a killed job leaves no partial model
        metrics = train(
            [(e.prompt, e.response) for e in general],
            temp,
            seed=params.seed,
            n_layers=params.n_layers,
            d_model=params.d_model,
            steps=params.steps,
            tokenizer_texts=[e.prompt for e in safety] + list(REFUSAL_TEXTS),
            progress=lambda fraction, message: ctx.progress(0.98 * fraction, message),
        )
    uri = artifacts.put(out_dir, key)
    with ctx.transaction() as session:
        model = Model(
            name=params.name,
            source="demo",
            uri=uri,
            job_id=ctx.job_id,
            config={"n_layers": params.n_layers, "d_model": params.d_model, **metrics},
            lineage={"kind": "train_demo_model", "params": params.model_dump(), "data": "general"},
        )
        session.add(model)
        session.flush()
        return {"model_id": model.id, **metrics}
