"""Load: concurrent readers of the spectra endpoints for a bounded time against PostgreSQL,
with 2 workers running jobs. No errors; p50/p95 latency printed (docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import httpx
from support import flowlens_env, free_port, start, stop, wait_http

from backend import migrate, queue
from backend.db import write_session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "browser"))
from seed import seed_runs  # noqa: E402

READERS = int(os.environ.get("FLOWLENS_LOAD_READERS", "200"))
SECONDS = float(os.environ.get("FLOWLENS_LOAD_SECONDS", "20"))


async def reader(client: httpx.AsyncClient, paths: list[str], deadline: float, out: list) -> None:
    i = 0
    while time.monotonic() < deadline:
        path = paths[i % len(paths)]
        i += 1
        started = time.perf_counter()
        try:
            response = await client.get(path)
            out.append((response.status_code, time.perf_counter() - started, started))
        except httpx.HTTPError as exc:
            out.append((type(exc).__name__, time.perf_counter() - started, started))


async def hammer(base: str, paths: list[str]) -> list:
    limits = httpx.Limits(max_connections=READERS, max_keepalive_connections=READERS)
    results: list = []
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        deadline = time.monotonic() + SECONDS
        await asyncio.gather(*(reader(client, paths, deadline, results) for _ in range(READERS)))
    return results


def percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return ordered[len(ordered) // 2], ordered[int(0.95 * len(ordered))]


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
    procs += [start(["worker"], env, tmp_path / f"w{i}.log") for i in range(2)]
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", timeout=60)
        paths = [f"/api/runs/{r}/layers" for r in run_ids] + ["/api/runs?limit=50"]
        results = asyncio.run(hammer(f"http://127.0.0.1:{port}", paths))
    finally:
        for proc in reversed(procs):
            stop(proc)
    errors = [status for status, _, _ in results if status != 200]
    p50, p95 = percentiles([seconds for _, seconds, _ in results])
    first = min(t for _, _, t in results)
    _, p95_late = percentiles([s for _, s, t in results if t > first + 5])
    print(
        f"\n{READERS} readers x {SECONDS:.0f} s on PostgreSQL, 2 workers busy: "
        f"{len(results)} requests ({len(results) / SECONDS:.0f}/s), "
        f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (after the first 5 s: "
        f"{p95_late * 1000:.0f} ms), errors {len(errors)}"
    )
    assert len(results) > READERS
    assert errors == []
