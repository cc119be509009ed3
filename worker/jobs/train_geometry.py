"""Geometry during training: a fine-tune's spectra on a fixed prompt subset before its first step
and at each checkpoint, stored as runs linked to the fine-tune and step (``Run.train_job_id``,
``Run.train_step``; ``model_id`` is the base model, ``job_id`` none). Alignment is measured
against the step-0 run, the base model's own geometry, so the job page can plot concentration,
effective rank and alignment with the base against the step, beside the loss.

Captures run in eval mode under inference mode and draw no random numbers of torch's, so a
resumed fine-tune trains to the same weights with or without them; a step already captured (a
resume) is not captured again.
"""

from __future__ import annotations

import numpy as np
from safetensors.numpy import load_file, save_file
from sqlalchemy import select
from transformers import TrainerCallback

from backend.models import Run
from worker.context import JobContext
from worker.jobs.capture import add_run
from worker.jobs.common import CACHE, dataset_rows, store
from worker.models.loading import LoadedModel
from worker.science.capture import capture_last_prompt
from worker.science.spectra import ReferenceBasis, compute_spectra

HOOK = "resid_post"


class GeometryCallback(TrainerCallback):
    """Captures after every checkpoint save and at the last step (rank 0 only); the fine-tune
    calls ``capture(0)`` itself before training starts (not on a resume: the weights are the
    checkpoint's then)."""

    def __init__(
        self, ctx: JobContext, model: LoadedModel, base_model_id: int, dataset_id: int, n: int
    ) -> None:
        self.ctx, self.model, self.base_model_id = ctx, model, base_model_id
        self.dataset, rows = dataset_rows(ctx, dataset_id, n)
        self.prompts = [r.prompt for r in rows]
        self.labels = np.array([r.label == "unsafe" for r in rows], dtype=np.int64)

    def _captured(self) -> dict[int, str | None]:
        """Steps already captured by this job, with their basis uri."""
        with self.ctx.transaction() as session:
            query = select(Run.train_step, Run.basis_uri).where(Run.train_job_id == self.ctx.job_id)
            return dict(session.execute(query).all())

    def capture(self, step: int) -> None:
        captured = self._captured()
        if step in captured:
            return
        reference = None
        if 0 in captured:
            uri = captured[0]
            reference = ReferenceBasis.from_tensors(
                load_file(str(store(self.ctx).local_path(uri, CACHE)))
            )
        hf = self.model.bridge.original_model
        was_training = hf.training
        hf.eval()
        try:
            X = capture_last_prompt(self.model, self.prompts, hook=HOOK, batch_size=32)
        finally:
            hf.train(was_training)
        has_both = 0 < self.labels.sum() < len(self.labels)
        result = compute_spectra(
            X, n_bootstrap=0, labels=self.labels if has_both else None, reference=reference
        )
        artifacts = store(self.ctx)
        key = f"finetunes/job-{self.ctx.job_id}/geometry/step-{step}.safetensors"
        with artifacts.writing(key, CACHE) as path:
            save_file(result.reference_basis().to_tensors(), str(path))
        with self.ctx.transaction() as session:
            add_run(
                session,
                result,
                train_job_id=self.ctx.job_id,
                train_step=step,
                model_id=self.base_model_id,
                dataset_id=self.dataset.id,
                hook=HOOK,
                position="last_prompt",
                n_prompts=len(self.prompts),
                n_layers=self.model.n_layers,
                d_model=self.model.d_model,
                params={"train_step": step, "n_prompts": len(self.prompts)},
                basis_uri=artifacts.uri(key),
            )
        self.ctx.log(f"geometry captured at step {step} on {len(self.prompts)} prompts")

    def on_save(self, args, state, control, **kwargs):
        self.capture(state.global_step)

    def on_train_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:  # not when cancelled
            self.capture(state.global_step)
