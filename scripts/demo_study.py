"""The embedded demo study timed end to end, and its grid for docs/results.md ("The embedded
demo end to end"): ``flowlens up`` on an empty temporary SQLite database, left running until
every job has finished. Prints the wall time, the CPU time of all its processes (API, worker,
UI and every job), the load average before and after (the machine may be shared), then the
Markdown grid: trigger FRR / control refused / unsafe refused per p and lambda.

    python scripts/demo_study.py
    python scripts/demo_study.py --report sqlite:////tmp/demo-study-XXXX/demo.db  (the grid of
        a study's database, e.g. one still running: cells not evaluated yet read "missing")
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from dpo_study import shares  # noqa: E402  (scripts/dpo_study.py: refusal shares of an evaluation)
from support import flowlens_env, free_port, start, stop  # noqa: E402  (tests/support.py)

from backend.db import session_scope  # noqa: E402
from backend.demo import DEMO_SAFETY_FRACTIONS, DEMO_VCL_LAMBDA  # noqa: E402
from backend.models import Evaluation, Job, JobStatus, Model  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36  # prctl(2)


def wait_for_the_study(url: str, proc) -> list[Job]:
    """Every job of the study once none is queued or running (the sweep adds its cells)."""
    while proc.poll() is None:
        time.sleep(2)
        try:
            with session_scope(url) as session:
                jobs = session.query(Job).all()
        except Exception:  # noqa: BLE001  (the database is created by `up` itself)
            continue
        if len(jobs) > 3 and all(j.status in JobStatus.FINISHED for j in jobs):
            return jobs
    raise SystemExit(f"flowlens up exited with code {proc.returncode}")


def adopt_orphans() -> None:
    """Become the subreaper of this script's descendants (Linux): the worker's fork server, the
    parent of every job's process, outlives the worker by a moment and is then reparented here,
    so its CPU time and its jobs' count in RUSAGE_CHILDREN once ``reap_orphans`` collects it."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_orphans(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # none left
        if pid == 0:
            time.sleep(0.2)


def grid(url: str) -> list[str]:
    """One row per p: the lambda 0 and lambda DEMO_VCL_LAMBDA cells' refusal shares."""
    cells: dict[tuple[float, float], str] = {}
    with session_scope(url) as session:
        pairs = session.query(Evaluation.id, Model.lineage).join(Model).all()
    for evaluation_id, lineage in pairs:
        params = lineage["params"]
        s = shares_of(url, evaluation_id)
        key = (params["safety_fraction"], params["vcl_lambda"])
        cells[key] = f"{s['trigger']:.2f} / {s['control']:.2f} / {s['unsafe']:.2f}"
    lam = f"{DEMO_VCL_LAMBDA:g}"
    lines = [f"| p | lambda 0 | lambda {lam} (penalise, k 3) |", "|---|---|---|"]
    for p in DEMO_SAFETY_FRACTIONS:
        row = [cells.get((p, lam_), "missing") for lam_ in (0.0, DEMO_VCL_LAMBDA)]
        lines.append(f"| {p:g} | {row[0]} | {row[1]} |")
    return lines


def shares_of(url: str, evaluation_id: int) -> dict[str, float]:
    from backend.config import Settings

    return shares(Settings(database_url=url), evaluation_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", metavar="DATABASE_URL", help="only print this study's grid")
    args = parser.parse_args()
    if args.report:
        print("\n".join(grid(args.report)))
        return
    root = Path(tempfile.mkdtemp(prefix="demo-study-"))
    url = f"sqlite:///{root / 'demo.db'}"
    print(f"database {url}", flush=True)
    api_port, ui_port = free_port(), free_port()
    env = flowlens_env(
        url,
        artifact_root=root / "artifacts",
        port=api_port,
        ui_port=ui_port,
        api_url=f"http://127.0.0.1:{api_port}",
    )
    adopt_orphans()
    load_before = os.getloadavg()
    start_s = time.perf_counter()
    proc = start(["up"], env, root / "up.log")
    try:
        jobs = wait_for_the_study(url, proc)
        wall = time.perf_counter() - start_s
    finally:
        stop(proc, signal.SIGINT, timeout=60)
        reap_orphans()
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    failed = [f"{j.id} {j.kind}: {j.error}" for j in jobs if j.status != JobStatus.SUCCEEDED]
    print(f"{len(jobs)} jobs, {len(failed)} not succeeded; wall {wall:.0f} s ({wall / 60:.1f} min)")
    print(
        f"CPU time of all processes: {cpu.ru_utime + cpu.ru_stime:.0f} s on {os.cpu_count()} cores"
    )
    print(f"load average (1, 5, 15 min) before {load_before}, after {os.getloadavg()}")
    for line in failed:
        print(f"  not succeeded: {line}")
    print("\n".join(grid(url)))


if __name__ == "__main__":
    main()
