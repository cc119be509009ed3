"""The metric catalogue (backend/metrics.py): every name the API serves metrics under."""

from __future__ import annotations

from fastapi import APIRouter

from backend.metrics import CATALOGUE, Scope
from backend.schemas import MetricPublic

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_model=list[MetricPublic])
def list_metrics() -> list[MetricPublic]:
    """Name, label, scopes, description, format and whether an interval is stored, for each
    metric in catalogue order."""
    return [
        MetricPublic(
            name=m.name,
            label=m.label,
            scopes=[scope.value for scope in Scope if scope in m.scopes],
            description=m.description,
            fmt=m.fmt,
            interval=m.interval,
        )
        for m in CATALOGUE.values()
    ]
