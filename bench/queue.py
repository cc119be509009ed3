"""Queue throughput: trivial jobs claimed and completed per second with 1 and 4 workers, on SQLite
and PostgreSQL (a server started for the run, as in the tests). Prints the table and the ratio
4 workers / 1 worker measured in the same run.

    python bench/queue.py [--jobs 80] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0:1] = [str(ROOT), str(ROOT / "tests")]  # not bench/: this file would shadow `queue`

from support import create_pg_database, flowlens_env, postgres_instance, start, stop  # noqa: E402

from backend import migrate, queue  # noqa: E402
from backend.db import session_scope, write_session  # noqa: E402
from backend.models import Job, JobStatus  # noqa: E402


def run(url: str, n_jobs: int, n_workers: int, logdir: Path) -> float:
    """Jobs per second from the first claim to the last completion."""
    with write_session(url) as s:
        ids = [queue.enqueue(s, "echo", {}).id for _ in range(n_jobs)]
    env = flowlens_env(url, poll_seconds=0.05, heartbeat_seconds=1)
    started = time.monotonic()
    procs = [start(["worker"], env, logdir / f"w{i}.log") for i in range(n_workers)]
    try:
        while True:
            with session_scope(url) as s:
                left = (
                    s.query(Job).filter(Job.id.in_(ids), Job.status != JobStatus.SUCCEEDED).count()
                )
            if left == 0:
                break
            time.sleep(0.05)
        return n_jobs / (time.monotonic() - started)
    finally:
        for proc in procs:
            stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=80)
    parser.add_argument("--quick", action="store_true", help="20 jobs")
    args = parser.parse_args()
    n_jobs = 20 if args.quick else args.jobs
    tmp = Path(tempfile.mkdtemp(prefix="flowlens-bench-"))
    rows = []
    with postgres_instance() as pg:
        for backend in ("sqlite", "postgresql"):
            rates = {}
            for n_workers in (1, 4):
                if backend == "sqlite":
                    url = f"sqlite:///{tmp / f'q{n_workers}.db'}"
                else:
                    url = create_pg_database(pg.url)
                migrate.upgrade(url)
                rates[n_workers] = run(url, n_jobs, n_workers, tmp)
            rows.append((backend, rates[1], rates[4]))
    print(f"\nqueue throughput, {n_jobs} trivial echo jobs (each in a fresh spawned process)")
    print(f"{'database':<12}{'1 worker':>12}{'4 workers':>12}{'4w / 1w':>10}")
    for backend, one, four in rows:
        print(f"{backend:<12}{one:>10.2f}/s{four:>10.2f}/s{four / one:>9.2f}x")


if __name__ == "__main__":
    main()
