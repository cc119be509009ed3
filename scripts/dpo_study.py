"""The DPO baseline on the demo (docs/results.md, "DPO"): per seed, the p = 0.4 SFT cell, then
on-policy preference pairs from that SFT model (general + safety prompts, sampled, judged by
the rules) and DPO on top of it; both evaluated on the probe set. Prints a Markdown table.

Runs every job in this process through the worker child's entry point, on a temporary SQLite
database: ``python scripts/dpo_study.py [--seeds 0 1] [--demo-steps N]`` (about 10-20 min on
the 2-core box).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support import run_inline  # noqa: E402  (tests/support.py: one job, in-process)

from backend import migrate  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.db import session_scope  # noqa: E402
from backend.demo import DEMO_FINETUNE  # noqa: E402
from backend.models import Dataset, Evaluation  # noqa: E402

SAFETY_FRACTION = 0.4
MAX_NEW_TOKENS = 24  # as the demo sweep
PREFERENCE = {"max_prompts": 200, "n_samples": 4, "temperature": 1.0, "max_new_tokens": 24}
DPO = {"beta": 0.1, "loss_type": "sigmoid", "learning_rate": 2e-4, "steps": 60, "batch_size": 16}


def run(settings: Settings, kind: str, **params) -> dict:
    start = time.perf_counter()
    job = run_inline(settings, kind, **params)
    if job.status != "succeeded":
        raise SystemExit(f"{kind} failed: {job.error}")
    print(f"  {kind} {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return job.result


def shares(settings: Settings, evaluation_id: int) -> dict[str, float]:
    """Trigger-word probes, phrasing controls and unsafe contrasts refused (full or partial)."""
    with session_scope(settings.database_url) as session:
        evaluation = session.get(Evaluation, evaluation_id)
        table, metrics = evaluation.per_type, evaluation.metrics
    groups = {"trigger": [], "control": [], "unsafe": []}
    for name, row in table.items():
        group = (
            "unsafe"
            if row["label"] == "unsafe"
            else "control"
            if name.startswith("control_")
            else "trigger"
        )
        groups[group].append(row)
    out = {
        g: sum(r["refused"] * r["n"] for r in rs) / sum(r["n"] for r in rs)
        for g, rs in groups.items()
    }
    return out | {"heldout_loss": metrics["heldout_loss"], "frr": metrics["false_refusal_rate"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--demo-steps", type=int, default=None, help="Default: the demo's.")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dpo-study-"))
    url = f"sqlite:///{root / 'study.db'}"
    migrate.upgrade(url)
    settings = Settings(database_url=url, artifact_root=str(root / "artifacts"))
    run(settings, "register_builtin", seed=0)
    run(settings, "train_demo_model", name="demo", seed=0, steps=args.demo_steps)
    with session_scope(url) as session:
        ids = {d.name: d.id for d in session.query(Dataset)}
    evaluate = {
        "probe_dataset_id": ids["probe"],
        "heldout_dataset_id": ids["general_heldout"],
        "max_new_tokens": MAX_NEW_TOKENS,
    }
    lines = []
    for seed in args.seeds:
        sft, dpo = f"sft-p0.4-s{seed}", f"dpo-p0.4-s{seed}"
        run(
            settings,
            "finetune",
            **DEMO_FINETUNE,
            base_model_name="demo",
            name=sft,
            general_dataset_id=ids["general"],
            safety_dataset_id=ids["safety"],
            safety_fraction=SAFETY_FRACTION,
            seed=seed,
        )
        pairs = run(
            settings,
            "preference_data",
            **PREFERENCE,
            teacher_model_name=sft,
            prompt_dataset_ids=[ids["general"], ids["safety"]],
            seed=seed,
            name=f"pairs-s{seed}",
        )
        run(
            settings,
            "dpo",
            **DPO,
            base_model_name=sft,
            dataset_name=f"pairs-s{seed}",
            seed=seed,
            name=dpo,
        )
        for method, model in (("SFT", sft), ("SFT + DPO", dpo)):
            result = run(settings, "evaluate", **evaluate, model_name=model)
            s = shares(settings, result["evaluation_id"])
            n = f"{pairs['pairs_safe']} / {pairs['pairs_unsafe']}" if method != "SFT" else "-"
            lines.append(
                f"| {seed} | {method} | {n} | {s['trigger']:.2f} | {s['control']:.2f} | "
                f"{s['unsafe']:.2f} | {s['frr']:.2f} | {s['heldout_loss']:.3f} |"
            )
    print(
        "| seed | model | pairs safe / unsafe | trigger FRR | control refused | unsafe refused "
        "| FRR (all safe) | held-out loss |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
