"""Linear probes per layer and geometry during training on the demo's p = 0.4 cell
(docs/results.md, "Probes" and "Geometry during training").

1. A ``probe`` job (5 folds, seed 0) on the newest capture of the p = 0.4, seed 0 SFT model on
   the probe set: held-out accuracy and AUROC per layer with their 95% intervals.
2. The same cell fine-tuned again from the demo model (the demo study's settings, seed 0) with
   ``geometry_dataset_id`` = the probe set and a checkpoint every 20 steps: concentration@3,
   effective rank and alignment with the base model per layer against the step.

Every job runs in this process (tests/support.py ``run_inline``) on a copy of a
``scripts/intervention_study.py`` (or ``dpo_study.py``) database, ``--from DIR``, which holds the
demo model, the p = 0.4 cell and its capture on the probe set; or on a fresh database where they
are made first (as intervention_study does).

    python scripts/probe_geometry_study.py [--from /tmp/intervention-study-XXXX]
    python scripts/probe_geometry_study.py --report /tmp/probe-geometry-XXXX  # tables again
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "scripts")]

from dpo_study import SAFETY_FRACTION, run  # noqa: E402
from intervention_study import (  # noqa: E402
    MODEL,
    database,
    dataset_ids,
    folder_settings,
    newest_result,
    train_cell,
)

from backend.config import Settings  # noqa: E402
from backend.db import session_scope  # noqa: E402
from backend.demo import DEMO_FINETUNE  # noqa: E402
from backend.models import Job, Model, Probe, Run, RunLayer  # noqa: E402

CHECKPOINT_EVERY = 20
GEOMETRY = ("concentration@3", "effective_rank", "alignment")


def probe_run_id(settings: Settings, probe_set: int) -> int:
    """The newest capture run of the p = 0.4 cell on the probe set (made here if none)."""
    with session_scope(settings.database_url) as session:
        model_id = session.query(Model.id).where(Model.name == MODEL).scalar()
        run_id = (
            session.query(Run.id)
            .where(Run.model_id == model_id, Run.dataset_id == probe_set, Run.job_id.is_not(None))
            .order_by(Run.id.desc())
            .limit(1)
            .scalar()
        )
    if run_id is not None:
        return run_id
    result = run(settings, "capture_spectra", model_name=MODEL, dataset_id=probe_set, bootstrap=0)
    return result["run_id"]


def study(settings: Settings) -> None:
    ids = dataset_ids(settings.database_url)
    run(settings, "probe", run_id=probe_run_id(settings, ids["probe"]), folds=5, seed=0)
    run(
        settings,
        "finetune",
        **DEMO_FINETUNE,
        base_model_name="demo",
        name=f"{MODEL}-geometry",
        general_dataset_id=ids["general"],
        safety_dataset_id=ids["safety"],
        safety_fraction=SAFETY_FRACTION,
        seed=0,
        checkpoint_every=CHECKPOINT_EVERY,
        geometry_dataset_id=ids["probe"],
    )


def _interval(pair) -> str:
    return f"[{pair[0]:.2f}, {pair[1]:.2f}]"


def report(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        probe = session.query(Probe).order_by(Probe.id.desc()).first()
        print(
            f"Probe of run {probe.run_id} ({probe.n_prompts} prompts, {probe.n_unsafe} unsafe, "
            f"{probe.folds} folds); best layer {probe.best_layer}\n"
        )
        print("| layer | accuracy | 95% interval | AUROC | 95% interval |")
        print("|---|---|---|---|---|")
        for layer in probe.layers:
            v, i = layer["values"], layer["intervals"]
            print(
                f"| {layer['layer']} | {v['probe_accuracy']:.3f} | "
                f"{_interval(i['probe_accuracy'])} | {v['probe_auroc']:.3f} | "
                f"{_interval(i['probe_auroc'])} |"
            )
        finetune = session.query(Job).where(Job.kind == "finetune").order_by(Job.id.desc())
        job = finetune.first()
        runs = session.query(Run).where(Run.train_job_id == job.id).order_by(Run.train_step).all()
        by_layer = session.query(RunLayer).order_by(RunLayer.layer)
        layers = {r.id: by_layer.where(RunLayer.run_id == r.id).all() for r in runs}
    print(f"\nGeometry during fine-tune job {job.id} ({runs[0].n_prompts} probe-set prompts)\n")
    n_layers = len(layers[runs[0].id])
    head = " | ".join(f"L{layer} {name}" for name in GEOMETRY for layer in range(n_layers))
    print(f"| step | {head} |")
    print("|---" * (1 + n_layers * len(GEOMETRY)) + "|")
    for captured in runs:
        values = [layer.values for layer in layers[captured.id]]
        cells = [
            "–" if values[layer].get(name) is None else f"{values[layer][name]:.3f}"
            for name in GEOMETRY
            for layer in range(n_layers)
        ]
        print(f"| {captured.train_step} | " + " | ".join(cells) + " |")
    print(f"\nfinal loss {newest_result(settings, 'finetune').get('final_loss'):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, help="a study's folder to copy")
    parser.add_argument("--report", type=Path, help="print the tables of a finished study")
    args = parser.parse_args()
    if args.report:
        report(folder_settings(args.report))
        return
    root = Path(tempfile.mkdtemp(prefix="probe-geometry-"))
    url = database(args.source, root)
    settings = Settings(database_url=url, artifact_root=str(root / "artifacts"))
    if args.source is None:
        train_cell(settings)
    print(f"study folder {root}", file=sys.stderr)
    study(settings)
    report(settings)


if __name__ == "__main__":
    main()
