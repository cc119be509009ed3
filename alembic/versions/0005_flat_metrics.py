"""flat metrics: run_layers and train_metrics hold the catalogue's metrics by name

run_layers: the columns total_variance, concentration {k}, effective_rank, participation_ratio,
intrinsic_dim, mean_norm, ci, flow_next {k}, alignment and refusal {cos_top_pcs, variance_share,
norm} become ``values`` {name: value} and ``intervals`` {name: [lo, hi]} (names of
backend/metrics.py as of this revision: concentration@k, flow@k, refusal_direction_cos@k, ...).
train_metrics: loss, sft_loss, vcl_term, lr, tokens_per_s become ``values`` (lr is named
learning_rate), concentration {layer} becomes ``layer_values`` {"window_concentration": {layer}}.
runs.global_basis keeps its place with the same names. Existing rows are converted both ways.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

KS = ("1", "2", "3", "5", "10")
LAYER_NAMES = (
    *(f"concentration@{k}" for k in KS),
    "effective_rank",
    "participation_ratio",
    "intrinsic_dim",
    "total_variance",
    "mean_norm",
    "alignment",
    *(f"flow@{k}" for k in KS),
    *(f"refusal_direction_cos@{k}" for k in range(1, 6)),
    "refusal_direction_variance",
    "refusal_direction_norm",
)
RUN_NAMES = (
    *(f"concentration@{k}" for k in KS),
    "effective_rank",
    "participation_ratio",
    "intrinsic_dim",
    "total_variance",
    "alignment",
)
SCALARS = ("effective_rank", "participation_ratio", "intrinsic_dim", "total_variance")
TRAIN_COLUMNS = {  # old column -> catalogue name
    "loss": "loss",
    "sft_loss": "sft_loss",
    "vcl_term": "vcl_term",
    "lr": "learning_rate",
    "tokens_per_s": "tokens_per_s",
}
WINDOW = "window_concentration"


def _flat(old: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Old nested fields (concentration, flow_next, refusal and scalars) -> {name: value}."""
    values = {f"concentration@{k}": v for k, v in (old.get("concentration") or {}).items()}
    values |= {f"flow@{k}": v for k, v in (old.get("flow_next") or {}).items()}
    refusal = old.get("refusal") or {}
    for i, cos in enumerate(refusal.get("cos_top_pcs") or [], start=1):
        values[f"refusal_direction_cos@{i}"] = cos
    values["refusal_direction_variance"] = refusal.get("variance_share")
    values["refusal_direction_norm"] = refusal.get("norm")
    values |= {key: old.get(key) for key in (*SCALARS, "mean_norm", "alignment")}
    kept = {key: value for key, value in values.items() if key in names or value is not None}
    return {name: kept.get(name) for name in names} | kept


def _nested(values: dict[str, Any], refusal: bool) -> dict[str, Any]:
    """{name: value} -> the old nested fields (the reverse of ``_flat``)."""
    old = {key: values.get(key) for key in (*SCALARS, "mean_norm", "alignment")}
    old["concentration"] = {
        k: values[f"concentration@{k}"] for k in KS if values.get(f"concentration@{k}") is not None
    }
    flows = {k: values[f"flow@{k}"] for k in KS if values.get(f"flow@{k}") is not None}
    old["flow_next"] = flows or None
    cos = [values.get(f"refusal_direction_cos@{i}") for i in range(1, 6)]
    has_refusal = values.get("refusal_direction_norm") is not None
    if refusal:
        old["refusal"] = (
            {
                "cos_top_pcs": [c for c in cos if c is not None],
                "variance_share": values.get("refusal_direction_variance"),
                "norm": values.get("refusal_direction_norm"),
            }
            if has_refusal
            else None
        )
    return old


RUNS = sa.table("runs", sa.column("id", sa.Integer), sa.column("global_basis", sa.JSON))
OLD_LAYER = {
    "total_variance": sa.Float(),
    "concentration": sa.JSON(),
    "effective_rank": sa.Float(),
    "participation_ratio": sa.Float(),
    "intrinsic_dim": sa.Float(),
    "mean_norm": sa.Float(),
    "ci": sa.JSON(),
    "flow_next": sa.JSON(),
    "alignment": sa.Float(),
    "refusal": sa.JSON(),
}
OLD_STEP = {**{column: sa.Float() for column in TRAIN_COLUMNS}, "concentration": sa.JSON()}


def _update(table: sa.Table | sa.TableClause, keys: tuple[str, ...], rows: list[dict]) -> None:
    """UPDATE ``table`` row by row (``keys`` identify a row, the other fields are set)."""
    if not rows:
        return
    where = sa.and_(*(table.c[k] == sa.bindparam(f"key_{k}") for k in keys))
    fields = [c for c in rows[0] if c not in keys]
    statement = table.update().where(where).values({c: sa.bindparam(f"new_{c}") for c in fields})
    op.get_bind().execute(
        statement,
        [{f"key_{k}": r[k] for k in keys} | {f"new_{c}": r[c] for c in fields} for r in rows],
    )


def _reshape(
    name: str,
    keys: tuple[str, ...],
    added: dict[str, sa.types.TypeEngine],
    dropped: tuple[str, ...],
    not_null: tuple[str, ...],
    convert,
) -> None:
    """Add the ``added`` columns, fill them with ``convert(row)`` for every row, drop the
    ``dropped`` columns, then make the ``not_null`` ones NOT NULL."""
    with op.batch_alter_table(name) as batch_op:
        for column, kind in added.items():
            batch_op.add_column(sa.Column(column, kind, nullable=True))
    table = sa.Table(name, sa.MetaData(), autoload_with=op.get_bind())
    rows = op.get_bind().execute(sa.select(table)).mappings().all()
    _update(table, keys, [{k: r[k] for k in keys} | convert(r) for r in rows])
    with op.batch_alter_table(name) as batch_op:
        for column in dropped:
            batch_op.drop_column(column)
        for column in not_null:
            batch_op.alter_column(column, existing_type=added[column], nullable=False)


def _convert_global_bases(convert) -> None:
    rows = op.get_bind().execute(sa.select(RUNS)).mappings().all()
    converted = [{"id": r["id"], "global_basis": convert(r["global_basis"])} for r in rows]
    _update(RUNS, ("id",), [r for r in converted if r["global_basis"] is not None])


def _basis_up(old: dict[str, Any] | None) -> dict[str, Any] | None:
    if not old:
        return None
    keep = {k: old[k] for k in ("n", "eigenvalues", "evr") if k in old}
    return keep | {"values": _flat(old, RUN_NAMES), "intervals": {}}


def _basis_down(new: dict[str, Any] | None) -> dict[str, Any] | None:
    if not new:
        return None
    keep = {k: new[k] for k in ("n", "eigenvalues", "evr") if k in new}
    old = _nested(new.get("values") or {}, refusal=False)
    old.pop("mean_norm")
    old.pop("flow_next")
    return keep | old


def _layer_down(row) -> dict[str, Any]:
    old = _nested(row["values"] or {}, refusal=True)
    if old["total_variance"] is None:
        old["total_variance"] = float(sum(row["eigenvalues"] or []))
    return old | {"ci": row["intervals"]}


def upgrade() -> None:
    flat = {"values": sa.JSON(), "intervals": sa.JSON()}
    _reshape(
        "run_layers",
        ("run_id", "layer"),
        flat,
        tuple(OLD_LAYER),
        tuple(flat),
        lambda r: {"values": _flat(dict(r), LAYER_NAMES), "intervals": r["ci"] or {}},
    )
    flat = {"values": sa.JSON(), "layer_values": sa.JSON()}
    _reshape(
        "train_metrics",
        ("job_id", "step"),
        flat,
        tuple(OLD_STEP),
        tuple(flat),
        lambda r: {
            "values": {name: r[column] for column, name in TRAIN_COLUMNS.items()},
            "layer_values": {WINDOW: r["concentration"] or {}},
        },
    )
    _convert_global_bases(_basis_up)


def downgrade() -> None:
    """The reverse conversion; a missing NOT NULL value becomes 0 (total_variance: the sum of
    the stored eigenvalues), names the old columns had no place for are dropped."""
    _reshape(
        "run_layers",
        ("run_id", "layer"),
        OLD_LAYER,
        ("values", "intervals"),
        ("total_variance", "concentration", "ci"),
        _layer_down,
    )
    _reshape(
        "train_metrics",
        ("job_id", "step"),
        OLD_STEP,
        ("values", "layer_values"),
        tuple(OLD_STEP),
        lambda r: {
            **{c: (r["values"] or {}).get(name) or 0.0 for c, name in TRAIN_COLUMNS.items()},
            "concentration": (r["layer_values"] or {}).get(WINDOW) or {},
        },
    )
    _convert_global_bases(_basis_down)
