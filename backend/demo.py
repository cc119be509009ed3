"""The demo study queued on the first start of the embedded default (``flowlens up``).

With an empty database: register the built-in datasets, train the demo model, then sweep the
safety fraction p in {0, 0.01, 0.05, 0.1, 0.2, 0.4} x VCL lambda in {0, DEMO_VCL_LAMBDA}.
The numbers this produces are discussed in docs/results.md.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend import queue
from backend.models import Job

DEMO_MODEL = "demo"
DEMO_SAFETY_FRACTIONS = [0.0, 0.01, 0.05, 0.1, 0.2, 0.4]
DEMO_VCL_LAMBDA = 1.0
DEMO_FINETUNE = {"n_examples": 1600, "steps": 80, "learning_rate": 1e-3, "batch_size": 32}


def seed_demo(session: Session) -> list[int] | None:
    """Queue the demo study if the database has no jobs yet; return the queued job ids."""
    if session.scalar(select(func.count()).select_from(Job)):
        return None
    datasets = queue.enqueue(session, "register_builtin", {"seed": 0}, priority=10)
    model = queue.enqueue(
        session,
        "train_demo_model",
        {"name": DEMO_MODEL, "seed": 0},
        priority=5,
    )
    sweep = queue.enqueue(
        session,
        "sweep",
        {
            "base_model_name": DEMO_MODEL,
            "safety_fractions": DEMO_SAFETY_FRACTIONS,
            "vcl_lambdas": [0.0, DEMO_VCL_LAMBDA],
            "finetune": DEMO_FINETUNE,
            "bootstrap": 20,
            "max_new_tokens": 24,
            "geometry": True,
        },
        depends_on=[datasets.id, model.id],
    )
    return [datasets.id, model.id, sweep.id]
