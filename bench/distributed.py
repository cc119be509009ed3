"""Benchmark a fine-tune on 2 gloo ranks against 1 process on the demo model (print-only).

A throw-away SQLite lab (built-in datasets, a demo-shaped model: 4 layers x 128, trained for a
few steps only) and the demo study's fine-tune (``DEMO_FINETUNE``: global batch 32, p = 0.1),
each run through the worker child's entry point (``worker.child.run_job``), in this order:

- ``one``: 1 process, batch 16 x grad_accum 2 (torch's default threads: every core);
- ``one_1t``: the same with one torch thread (a rank's share of the cores);
- ``two``: 2 ranks (``--devices cpu,cpu``: torchrun, DDP on gloo), batch 16 each (torchrun
  gives each rank OMP_NUM_THREADS=1);
- ``one_b32``: 1 process, batch 32 x grad_accum 1, the same global batch in one micro-batch.

Throughput: over ``--rounds`` interleaved rounds, the median of each run's median
``tokens_per_s`` past the first two steps (every rank's tokens over rank 0's step time),
without start-up. All runs train on the same samples in the same order, so the ratio is the
samples/s ratio too. The job's wall time (with loading, and for ``two`` torchrun and two
imports of torch) is printed apart. Loss difference: the largest relative difference of a
step's loss to ``one``'s (first round).

Usage: python bench/distributed.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a script: import from the repository root, not bench/ (its modules shadow the stdlib's).
sys.path[0:1] = [str(Path(__file__).resolve().parents[1])]

import torch  # noqa: E402

from backend import migrate, queue  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.db import session_scope, write_session  # noqa: E402
from backend.demo import DEMO_FINETUNE  # noqa: E402
from backend.models import Dataset, Job, TrainMetric  # noqa: E402
from worker.child import run_job  # noqa: E402

THREADS = torch.get_num_threads()


def run(settings: Settings, kind: str, **params) -> Job:
    """Enqueue, claim and run one job in this process (the child's entry point)."""
    with write_session(settings.database_url) as s:
        queue.enqueue(s, kind, params)
    with write_session(settings.database_url) as s:
        lease = queue.claim(s, "bench", kinds=[kind], lease_seconds=3600)
        params = dict(s.get(Job, lease.job_id).params)
    run_job(lease, kind, params, settings)
    with session_scope(settings.database_url) as s:
        job = s.get(Job, lease.job_id)
    if job.status != "succeeded":
        raise SystemExit(f"{kind} failed: {job.error}\n{job.log[-3000:]}")
    return job


def steps(settings: Settings, job_id: int) -> list[dict]:
    with session_scope(settings.database_url) as s:
        rows = s.query(TrainMetric).filter_by(job_id=job_id).order_by(TrainMetric.step)
        return [r.values for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 steps instead of 80")
    parser.add_argument("--rounds", type=int, default=3, help="runs of every case (median)")
    args = parser.parse_args()
    n_steps = 20 if args.quick else DEMO_FINETUNE["steps"]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(url)
        settings = Settings(database_url=url, artifact_root=f"{tmp}/artifacts")
        run(settings, "register_builtin")
        run(settings, "train_demo_model", name="demo", steps=20)
        with session_scope(url) as s:
            ids = {d.name: d.id for d in s.query(Dataset)}
        common = {
            **DEMO_FINETUNE,
            "base_model_name": "demo",
            "general_dataset_id": ids["general"],
            "safety_dataset_id": ids["safety"],
            "safety_fraction": 0.1,
            "steps": n_steps,
            "checkpoint_every": None,
        }
        two_ranks = settings.model_copy(update={"device": "cpu,cpu"})
        cases = {  # name: settings, params, torch threads of the one process
            "one": (settings, {"batch_size": 16, "grad_accum": 2}, THREADS),
            "one_1t": (settings, {"batch_size": 16, "grad_accum": 2}, 1),
            "two": (two_ranks, {"batch_size": 16}, THREADS),
            "one_b32": (settings, {"batch_size": 32}, THREADS),
        }
        results: dict[str, list] = {name: [] for name in cases}
        for _ in range(args.rounds):  # interleaved, so that load on the machine hits every case
            for name, (case_settings, extra, threads) in cases.items():
                torch.set_num_threads(threads)
                start = time.perf_counter()
                job = run(case_settings, "finetune", **{**common, **extra, "name": f"{name}{_}"})
                rows = steps(settings, job.id)
                rate = statistics.median(r["tokens_per_s"] for r in rows[2:])  # past warm-up
                results[name].append((rate, time.perf_counter() - start, rows))
    print(
        f"demo fine-tune (4 x 128), {n_steps} steps of global batch 32, CPU, {args.rounds} rounds"
    )
    reference = [r["loss"] for r in results["one"][0][2]]
    base = statistics.median(rate for rate, _, _ in results["one"])
    for name, runs in results.items():
        rate = statistics.median(r for r, _, _ in runs)
        losses = [r["loss"] for r in runs[0][2]]
        worst = max(abs(a - b) / abs(b) for a, b in zip(losses, reference, strict=True))
        print(
            f"  {name:8s} {rate:8.0f} tokens/s ({rate / base:.2f}x one; rounds "
            f"{', '.join(f'{r:.0f}' for r, _, _ in runs)}), job wall "
            f"{statistics.median(w for _, w, _ in runs):5.1f} s, final loss {losses[-1]:.6f}, "
            f"max rel. loss difference to one {worst:.1e}"
        )


if __name__ == "__main__":
    main()
