"""Migrations are the only way tables are created: up, down, up again on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import MetaData, inspect

from backend import migrate
from backend.db import get_engine, session_scope
from backend.metrics import Scope, metrics_for
from backend.models import Base, Run, RunLayer, TrainMetric


def tables(url: str) -> set[str]:
    return set(inspect(get_engine(url)).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(database_url):
    assert tables(database_url) == set(Base.metadata.tables)
    migrate.downgrade(database_url, "base")
    assert tables(database_url) == set()
    migrate.upgrade(database_url)
    assert tables(database_url) == set(Base.metadata.tables)


def test_migrated_columns_match_the_models(database_url):
    inspector = inspect(get_engine(database_url))
    for name, table in Base.metadata.tables.items():
        columns = {c["name"] for c in inspector.get_columns(name)}
        assert columns == {c.name for c in table.columns}, name


OLD_LAYER = {
    "eigenvalues": [2.0, 1.0, 0.5],
    "total_variance": 3.5,
    "evr": [4 / 7, 2 / 7, 1 / 7],
    "concentration": {"1": 4 / 7, "2": 6 / 7, "3": 1.0, "5": 1.0, "10": 1.0},
    "effective_rank": 2.6,
    "participation_ratio": 2.33,
    "intrinsic_dim": 1.9,
    "mean_norm": 7.0,
    "ci": {"concentration@3": [0.9, 1.0], "effective_rank": [2.5, 2.7]},
    "flow_next": {"1": 0.8, "3": 0.7},
    "alignment": 0.95,
    "refusal": {"cos_top_pcs": [0.9, 0.1, 0.05, 0.02, 0.01], "variance_share": 0.4, "norm": 3.0},
}
OLD_BASIS = {
    "n": 30,
    "eigenvalues": [2.0, 1.0],
    "total_variance": 3.0,
    "evr": [2 / 3, 1 / 3],
    "concentration": {"1": 2 / 3, "2": 1.0, "3": 1.0, "5": 1.0, "10": 1.0},
    "effective_rank": 1.9,
    "participation_ratio": 1.8,
    "intrinsic_dim": None,
    "alignment": None,
}
OLD_STEP = {"loss": 2.5, "sft_loss": 2.0, "vcl_term": 0.5, "lr": 1e-3, "tokens_per_s": 900.0}


def _old_rows(url: str) -> None:
    """A job, model, dataset and run with one layer and one training step, as 0004 stored them."""
    meta = MetaData()
    meta.reflect(get_engine(url))
    now = datetime.now(UTC).replace(tzinfo=None)
    t = meta.tables
    with get_engine(url).begin() as conn:
        conn.execute(
            t["jobs"].insert(),
            {"id": 1, "kind": "capture_spectra", "params": {}, "status": "succeeded",
             "priority": 0, "attempts": 1, "max_attempts": 3, "progress": 1.0, "message": "",
             "log": "", "created_at": now},
        )  # fmt: skip
        conn.execute(
            t["models"].insert(),
            {"id": 1, "name": "m", "source": "demo", "uri": "u", "config": {}, "lineage": {},
             "created_at": now},
        )  # fmt: skip
        conn.execute(
            t["datasets"].insert(),
            {"id": 1, "name": "d", "source": "builtin", "format": "jsonl", "description": "",
             "n_rows": 0, "created_at": now},
        )  # fmt: skip
        conn.execute(
            t["runs"].insert(),
            {"id": 1, "job_id": 1, "model_id": 1, "dataset_id": 1, "hook": "resid_post",
             "position": "last_prompt", "n_prompts": 30, "n_layers": 1, "d_model": 3,
             "params": {}, "global_basis": OLD_BASIS, "created_at": now},
        )  # fmt: skip
        conn.execute(t["run_layers"].insert(), {"run_id": 1, "layer": 0, **OLD_LAYER})
        conn.execute(
            t["train_metrics"].insert(),
            {"job_id": 1, "step": 0, **OLD_STEP, "concentration": {"3": 0.6, "4": 0.7}},
        )


def _rows(url: str, table: str) -> list[dict]:
    meta = MetaData()
    meta.reflect(get_engine(url), only=[table])
    with get_engine(url).connect() as conn:
        return [dict(r) for r in conn.execute(meta.tables[table].select()).mappings()]


def test_flat_metrics_migration_converts_rows_both_ways(database_url):
    migrate.downgrade(database_url, "0004")
    _old_rows(database_url)
    migrate.upgrade(database_url)
    with session_scope(database_url) as session:
        layer = session.get(RunLayer, (1, 0))
        assert layer.values["concentration@3"] == 1.0 and layer.values["flow@3"] == 0.7
        assert layer.values["flow@2"] is None  # not stored before: present, None
        assert layer.values["refusal_direction_cos@1"] == 0.9
        assert layer.values["refusal_direction_variance"] == 0.4
        assert layer.values["refusal_direction_norm"] == 3.0
        assert layer.values["total_variance"] == 3.5 and layer.values["alignment"] == 0.95
        assert list(layer.values) == [m.name for m in metrics_for(Scope.LAYER)]
        assert layer.intervals == OLD_LAYER["ci"] and layer.evr == OLD_LAYER["evr"]
        step = session.get(TrainMetric, (1, 0))
        assert step.values == {
            "loss": 2.5, "sft_loss": 2.0, "vcl_term": 0.5, "learning_rate": 1e-3,
            "tokens_per_s": 900.0,
        }  # fmt: skip
        assert step.layer_values == {"window_concentration": {"3": 0.6, "4": 0.7}}
        basis = session.get(Run, 1).global_basis
        assert list(basis["values"]) == [m.name for m in metrics_for(Scope.RUN)]
        assert basis["values"]["concentration@1"] == 2 / 3 and basis["n"] == 30
    migrate.downgrade(database_url, "0004")
    (layer,) = _rows(database_url, "run_layers")
    assert {k: v for k, v in layer.items() if k not in ("run_id", "layer")} == OLD_LAYER
    (step,) = _rows(database_url, "train_metrics")
    assert step == {"job_id": 1, "step": 0, **OLD_STEP, "concentration": {"3": 0.6, "4": 0.7}}
    (run,) = _rows(database_url, "runs")
    assert run["global_basis"] == OLD_BASIS
    migrate.upgrade(database_url)


def test_verdicts_migration_keeps_each_completion_verdict_under_its_classifier(database_url):
    migrate.downgrade(database_url, "0005")
    meta = MetaData()
    meta.reflect(get_engine(database_url))
    t, now = meta.tables, datetime.now(UTC).replace(tzinfo=None)
    with get_engine(database_url).begin() as conn:
        conn.execute(
            t["jobs"].insert(),
            {"id": 7, "kind": "evaluate", "params": {}, "status": "succeeded", "priority": 0,
             "attempts": 1, "max_attempts": 3, "progress": 1.0, "message": "", "log": "",
             "created_at": now},
        )  # fmt: skip
        conn.execute(
            t["models"].insert(),
            {"id": 1, "name": "m", "source": "demo", "uri": "u", "config": {}, "lineage": {},
             "created_at": now},
        )  # fmt: skip
        conn.execute(
            t["datasets"].insert(),
            {"id": 1, "name": "d", "source": "builtin", "format": "jsonl", "description": "",
             "n_rows": 0, "created_at": now},
        )  # fmt: skip
        conn.execute(
            t["evaluations"].insert(),
            {"id": 3, "job_id": 7, "model_id": 1, "dataset_id": 1, "metrics": {},
             "per_type": {}, "params": {"classifier": "rules"}, "created_at": now},
        )  # fmt: skip
        conn.execute(
            t["completions"].insert(),
            {"id": 5, "evaluation_id": 3, "idx": 0, "prompt": "p", "type": "t", "label": "safe",
             "completion": "No.", "verdict": "full_refusal", "rule": "refusal_opening"},
        )  # fmt: skip
    migrate.upgrade(database_url)
    (verdict,) = _rows(database_url, "verdicts")
    assert (verdict["completion_id"], verdict["classifier"]) == (5, "rules")
    assert (verdict["verdict"], verdict["rule"]) == ("full_refusal", "refusal_opening")
    (evaluation,) = _rows(database_url, "evaluations")
    assert evaluation["source"] == "generated" and evaluation["classifier_metrics"] == {}
    migrate.downgrade(database_url, "0005")
    assert len(_rows(database_url, "completions")) == 1
    migrate.upgrade(database_url)
