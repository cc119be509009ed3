"""What a dataset is for, read from its rows: the role that says which job fields it fits.

- ``general``: rows with responses, none unsafe (instruction data; held-out loss);
- ``safety``: rows with responses, some unsafe (refusal training data);
- ``probe``: prompts without responses (a probe suite or prompt set: capture, evaluation);
- ``preference``: DPO pairs (its format).

A dataset's rows never change after it is created, so a role is kept per (id, created_at).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from backend.errors import FieldError
from backend.models import Dataset, DatasetRow

ROLES = ("general", "safety", "probe", "preference")
ABOUT = {
    "general": "instruction data with responses",
    "safety": "refusal data (responses, unsafe prompts)",
    "probe": "a prompt set without responses",
    "preference": "DPO preference pairs",
}
_known: dict[tuple[int, datetime], str] = {}


def role_of(fmt: str, with_response: int, unsafe: int) -> str:
    if fmt == "preference":
        return "preference"
    if not with_response:
        return "probe"
    return "safety" if unsafe else "general"


def roles(session: Session, datasets: list[Dataset]) -> dict[int, str]:
    """The role of each of ``datasets`` (one grouped query for those not known yet)."""
    missing = [d for d in datasets if (d.id, d.created_at) not in _known]
    if missing:
        counts = dict.fromkeys((d.id for d in missing), (0, 0))
        rows = session.execute(
            select(
                DatasetRow.dataset_id,
                func.sum(case((DatasetRow.response != "", 1), else_=0)),
                func.sum(case((DatasetRow.label == "unsafe", 1), else_=0)),
            )
            .where(DatasetRow.dataset_id.in_(list(counts)))
            .group_by(DatasetRow.dataset_id)
        )
        counts |= {
            dataset_id: (answered or 0, unsafe or 0) for dataset_id, answered, unsafe in rows
        }
        for d in missing:
            _known[(d.id, d.created_at)] = role_of(d.format, *counts[d.id])
    return {d.id: _known[(d.id, d.created_at)] for d in datasets}


def require(session: Session, field: str, dataset: Dataset, *allowed: str) -> None:
    """FieldError(field) unless ``dataset``'s role is one of ``allowed``."""
    role = roles(session, [dataset])[dataset.id]
    if role not in allowed:
        wanted = " or ".join(f"{r} ({ABOUT[r]})" for r in allowed)
        raise FieldError(
            field, f"dataset {dataset.name!r} is {ABOUT[role]} ({role}); expected {wanted}"
        )
