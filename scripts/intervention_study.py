"""Ablation and steering of the refusal direction on the demo's p = 0.4 cell (docs/results.md,
"Interventions"): capture the model on the probe set, score every layer's direction
(select_direction), then an intervention_sweep at the proposed layer: the model as is, the
direction ablated at every layer, and alpha x mean norm x the direction added at that layer for
each alpha; one evaluate per cell. Prints the sweep's rows as a Markdown table.

Every job runs in this process through the worker child's entry point (tests/support.py
``run_inline``), on a temporary SQLite database: a copy of a ``scripts/dpo_study.py`` database
(``--from DIR``, which holds the demo model and its p = 0.4 SFT cells: nothing retrained), or a
fresh one where the demo model and the p = 0.4 seed-0 cell are trained first (as dpo_study does).

    python scripts/intervention_study.py [--from /tmp/dpo-study-XXXX] [--alphas -1 1]
    python scripts/intervention_study.py --report /tmp/intervention-study-XXXX  # tables again
    python scripts/intervention_study.py --more /tmp/intervention-study-XXXX --alphas -0.25 0.25
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "scripts")]

from dpo_study import MAX_NEW_TOKENS, SAFETY_FRACTION, run, shares  # noqa: E402
from support import run_inline  # noqa: E402  (tests/support.py: one job, in-process)

from backend import migrate  # noqa: E402
from backend.api.routes.sweeps import read_sweep  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.db import session_scope  # noqa: E402
from backend.demo import DEMO_FINETUNE  # noqa: E402
from backend.models import Dataset, Job  # noqa: E402

MODEL = "sft-p0.4-s0"  # dpo_study's name of the p = 0.4, seed 0 SFT cell


def database(source: Path | None, root: Path) -> str:
    """The study's database URL: a copy of ``source``'s study.db with its artifacts (their URIs
    moved to the copy), or a new one."""
    url = f"sqlite:///{root / 'study.db'}"
    if source is not None:
        shutil.copytree(source / "artifacts", root / "artifacts")
        with sqlite3.connect(source / "study.db") as src, sqlite3.connect(root / "study.db") as dst:
            src.backup(dst)
            old, new = (f"file://{p.resolve() / 'artifacts'}" for p in (source, root))
            tables = dst.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            for (table,) in tables:
                for column in dst.execute(f'PRAGMA table_info("{table}")').fetchall():
                    c = f'"{column[1]}"'
                    dst.execute(
                        f'UPDATE "{table}" SET {c} = replace({c}, ?, ?) WHERE {c} LIKE ?',
                        (old, new, f"%{old}%"),
                    )
    migrate.upgrade(url)
    return url


def train_cell(settings: Settings) -> None:
    """The demo model and its p = 0.4, seed 0 cell, as dpo_study trains them."""
    run(settings, "register_builtin", seed=0)
    run(settings, "train_demo_model", name="demo", seed=0)
    ids = dataset_ids(settings.database_url)
    run(
        settings,
        "finetune",
        **DEMO_FINETUNE,
        base_model_name="demo",
        name=MODEL,
        general_dataset_id=ids["general"],
        safety_dataset_id=ids["safety"],
        safety_fraction=SAFETY_FRACTION,
        seed=0,
    )


def dataset_ids(url: str) -> dict[str, int]:
    with session_scope(url) as session:
        return {d.name: d.id for d in session.query(Dataset)}


def cell_method(cell: dict) -> str:
    spec = cell["intervention"]
    if spec is None:
        return "none (SFT p = 0.4)"
    if spec["kind"] == "ablate":
        return f"ablate the layer-{spec['layer']} direction"
    return f"add {spec['alpha']:+g} x mean norm at layer {spec['layer']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, help="A dpo_study temporary folder.")
    parser.add_argument("--alphas", type=float, nargs="*", default=[-1.0, 1.0])
    parser.add_argument("--direction-prompts", type=int, default=40, help="Of each label.")
    parser.add_argument("--layer", type=int, help="Default: the one select_direction proposes.")
    parser.add_argument(
        "--kl-max", type=float, default=1.0, help="select_direction's KL limit (its default 0.1)."
    )
    parser.add_argument("--report", type=Path, help="Only print the tables of a study folder.")
    parser.add_argument(
        "--more", type=Path, help="In a study folder: steering cells of --alphas at its layer."
    )
    args = parser.parse_args()
    if args.report is not None:
        report(folder_settings(args.report))
        return
    if args.more is not None:
        settings = folder_settings(args.more)
        selection = newest_result(settings, "select_direction")
    else:
        root = Path(tempfile.mkdtemp(prefix="intervention-study-"))
        url = database(args.source, root)
        settings = Settings(database_url=url, artifact_root=str(root / "artifacts"))
        if args.source is None:
            train_cell(settings)
        selection = select(settings, args)
    layer = args.layer if args.layer is not None else selection["best_layer"]
    if layer is None:
        raise SystemExit("select_direction proposed no layer: give --layer")
    ids = dataset_ids(settings.database_url)
    run(
        settings,
        "intervention_sweep",
        model_name=MODEL,
        run_id=selection["run_id"],
        probe_dataset_id=ids["probe"],
        heldout_dataset_id=ids["general_heldout"],
        layers=[layer],
        alphas=args.alphas,
        ablate=args.more is None,
        baseline=args.more is None,
        evaluate={"max_new_tokens": MAX_NEW_TOKENS},
    )
    while run_inline(settings) is not None:  # its evaluate jobs, one after the other
        pass
    report(settings)


def select(settings: Settings, args) -> dict:
    """Capture the model on the probe set and score every layer's direction."""
    ids = dataset_ids(settings.database_url)
    capture = run(
        settings, "capture_spectra", model_name=MODEL, dataset_id=ids["probe"], bootstrap=0
    )
    return run(
        settings,
        "select_direction",
        model_name=MODEL,
        run_id=capture["run_id"],
        probe_dataset_id=ids["probe"],
        max_prompts=args.direction_prompts,
        kl_max=args.kl_max,
    )


def folder_settings(folder: Path) -> Settings:
    url = f"sqlite:///{folder / 'study.db'}"
    return Settings(database_url=url, artifact_root=str(folder / "artifacts"))


def newest_result(settings: Settings, kind: str) -> dict:
    with session_scope(settings.database_url) as session:
        return session.query(Job).where(Job.kind == kind).order_by(Job.id.desc()).first().result


def report(settings: Settings) -> None:
    """The tables of the database's newest select_direction and every intervention_sweep."""
    selection = newest_result(settings, "select_direction")
    with session_scope(settings.database_url) as session:
        sweeps = session.query(Job.id).where(Job.kind == "intervention_sweep").order_by(Job.id)
        found = [read_sweep(job_id, session) for (job_id,) in sweeps]
    print("| layer | refusal-score drop | KL (ablation) |\n|---|---|---|")
    for s in selection["layers"]:
        mark = " (proposed)" if s["layer"] == selection["best_layer"] else ""
        print(f"| {s['layer']}{mark} | {s['refusal_score_drop']:.3f} | {s['kl']:.4f} |")
    print(
        "\n| intervention | false refusal (all safe) | trigger FRR | control refused "
        "| unsafe refused (safety) | KL on safe prompts | held-out loss |"
    )
    print("|---|---|---|---|---|---|---|")
    for cell in (c for sweep in found for c in sweep.cells):
        cell = cell.model_dump()
        if cell["evaluation_id"] is None:
            raise SystemExit(f"{cell_method(cell)}: its evaluate job {cell['jobs']} has not run")
        s, m = shares(settings, cell["evaluation_id"]), cell["metrics"]
        kl = m.get("intervention_kl")
        print(
            f"| {cell_method(cell)} | {m['false_refusal_rate']:.2f} | {s['trigger']:.2f} | "
            f"{s['control']:.2f} | {m['safety']:.2f} | {'-' if kl is None else f'{kl:.4f}'} | "
            f"{m['heldout_loss']:.3f} |"
        )
    run_id, url = selection["run_id"], settings.database_url
    jobs = ", ".join(str(sweep.job.id) for sweep in found)
    print(f"\nintervention_sweep jobs {jobs}, direction run {run_id}, {url}")


if __name__ == "__main__":
    main()
