"""Load: concurrent readers of the spectra endpoints for a bounded time against PostgreSQL,
with 2 workers running jobs: no errors. The readers and their figures are bench/load.py's
(docs/benchmarks.md has the measured ones); the latency printed here is not asserted."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from support import flowlens_env, free_port, start, stop, wait_http

from backend import migrate, queue
from backend.db import write_session

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from seed import seed_runs  # noqa: E402

sys.path.insert(0, str(ROOT))
from bench.load import hammer, summary  # noqa: E402

READERS = int(os.environ.get("FLOWLENS_LOAD_READERS", "200"))
SECONDS = float(os.environ.get("FLOWLENS_LOAD_SECONDS", "12"))


def test_concurrent_readers_with_workers_busy(postgres_server, tmp_path):
    from support import create_pg_database

    url = create_pg_database(postgres_server)
    migrate.upgrade(url)
    run_ids = seed_runs(url, n_runs=50, n_layers=16)
    with write_session(url) as s:
        for _ in range(40):
            queue.enqueue(s, "echo", {"sleep_seconds": 1.0})
    port = free_port()
    env = flowlens_env(url, port=port, heartbeat_seconds=1)
    procs = [start(["api"], env, tmp_path / "api.log")]
    procs += [start(["worker", "--kinds", "echo"], env, tmp_path / f"w{i}.log") for i in range(2)]
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", timeout=60)
        paths = [f"/api/runs/{r}/layers" for r in run_ids] + ["/api/runs?limit=50"]
        result = summary(hammer(port, paths, READERS, SECONDS), SECONDS)
    finally:
        for proc in reversed(procs):
            stop(proc)
    print(
        f"\n{READERS} readers x {SECONDS:.0f} s on PostgreSQL, 2 workers busy: "
        f"{result['requests']} requests ({result['rate']:.0f}/s), p50 {result['p50'] * 1000:.0f} "
        f"ms, p95 {result['p95'] * 1000:.0f} ms, errors {len(result['errors'])}"
    )
    assert result["requests"] > READERS
    assert result["errors"] == []
