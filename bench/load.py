"""Concurrent readers against a live API on PostgreSQL with 2 workers running jobs: p50/p95
latency of finished runs' spectra (``/api/runs/{id}/layers``, ``/api/runs/{id}``, a run list),
against ``/api/health`` with the same readers in the same run (the baseline), and the CPU each
process spent per request.

Each reader is one keep-alive connection reading 5 of the paths over and over, sending its next
request as soon as the answer is in (a closed loop). The client is a minimal HTTP/1.1 one on
asyncio streams, so that its own CPU (printed per request) weighs little on a machine it shares
with the API: with httpx the client, not the API, set the rate.
``--revalidate``: readers keep each answer's ETag and send If-None-Match, as a browser does once
its copy is older than max-age.

    python bench/load.py [--readers 200] [--seconds 20] [--revalidate] [--quick]

tests/deploy/test_load.py runs the same readers (0 errors, latency printed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if sys.path[0] == str(HERE):  # run as a script: bench/queue.py must not shadow the stdlib's
    sys.path.pop(0)
for folder in (ROOT / "tests" / "browser", ROOT / "tests", ROOT):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from seed import seed_runs  # noqa: E402
from support import (  # noqa: E402
    create_pg_database,
    flowlens_env,
    free_port,
    postgres_instance,
    start,
    stop,
    wait_http,
)

from backend import migrate, queue  # noqa: E402
from backend.db import write_session  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")
PATHS_PER_READER = 5  # a reader is someone looking at a few runs, over and over


async def read_answer(stream: asyncio.StreamReader) -> tuple[int, dict[str, str], int]:
    """One HTTP/1.1 response: status, headers (lower-case names), body length."""
    head = await stream.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    size = 0
    if "content-length" in headers:
        size = int(headers["content-length"])
        await stream.readexactly(size)
    elif headers.get("transfer-encoding") == "chunked":
        while chunk := int((await stream.readline()).strip(), 16):
            await stream.readexactly(chunk + 2)
            size += chunk
        await stream.readline()
    return status, headers, size


async def reader(port: int, paths: list[str], deadline: float, out: list, revalidate: bool) -> None:
    etags: dict[str, str] = {}
    mine = random.sample(paths, min(PATHS_PER_READER, len(paths)))
    i = 0
    connection = None
    while time.monotonic() < deadline:
        path = mine[i % len(mine)]
        i += 1
        started = time.perf_counter()
        try:
            if connection is None:
                connection = await asyncio.open_connection("127.0.0.1", port)
            stream, writer = connection
            extra = f"If-None-Match: {etags[path]}\r\n" if path in etags else ""
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
            status, headers, _ = await read_answer(stream)
            if revalidate and "etag" in headers:
                etags[path] = headers["etag"]
            if headers.get("connection") == "close":
                writer.close()
                connection = None
            out.append((status, time.perf_counter() - started, started))
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            out.append((type(exc).__name__, time.perf_counter() - started, started))
            connection = None
    if connection is not None:
        connection[1].close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / CLK


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / CLK, sum(values) / CLK


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def hammer(port: int, paths: list[str], readers: int, seconds: float, revalidate=False) -> list:
    """``readers`` closed-loop readers of ``paths`` for ``seconds``: (status or error name,
    latency, start) per request."""
    results: list = []
    deadline = time.monotonic() + seconds

    async def all_readers() -> None:
        await asyncio.gather(
            *(reader(port, paths, deadline, results, revalidate) for _ in range(readers))
        )

    asyncio.run(all_readers())
    return results


def summary(results: list, seconds: float) -> dict:
    latencies = sorted(s for _, s, _ in results)
    n = len(latencies)
    first = min(t for _, _, t in results)
    return {
        "requests": n,
        "rate": n / seconds,
        "p50": latencies[n // 2],
        "p95": latencies[int(0.95 * n)],
        "max": latencies[-1],
        "max_late": max((s for _, s, t in results if t > first + 2), default=0.0),
        "errors": [status for status, _, _ in results if status not in (200, 304)],
        "not_modified": sum(1 for status, _, _ in results if status == 304),
    }


def phase(name: str, port: int, paths, readers: int, seconds: float, revalidate, api_pids):
    before = (sum(cpu_seconds(p) for p in api_pids), own_cpu(), *machine_busy())
    results = hammer(port, paths, readers, seconds, revalidate)
    after = (sum(cpu_seconds(p) for p in api_pids), own_cpu(), *machine_busy())
    api_cpu, client_cpu, busy, total = (a - b for a, b in zip(after, before, strict=True))
    row = summary(results, seconds)
    n, errors = row["requests"], len(row["errors"])
    row.update(
        api_ms=1000 * api_cpu / n,
        client_ms=1000 * client_cpu / n,
        busy=busy / total * os.cpu_count(),
    )
    print(
        f"| {name} | {row['rate']:.0f} | {row['p50'] * 1000:.0f} ms | {row['p95'] * 1000:.0f} ms "
        f"| {row['max'] * 1000:.0f} ms | {row['max_late'] * 1000:.0f} ms | {errors} "
        f"| {row['not_modified']} | {row['api_ms']:.2f} "
        f"| {row['client_ms']:.2f} | {row['busy']:.2f} |",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--revalidate", action="store_true")
    parser.add_argument("--quick", action="store_true", help="50 readers for 5 s")
    args = parser.parse_args()
    if args.quick:
        args.readers, args.seconds = 50, 5.0
    with postgres_instance() as server:
        url = create_pg_database(server.url)
        migrate.upgrade(url)
        run_ids = seed_runs(url, n_runs=args.runs, n_layers=args.layers)
        with write_session(url) as s:  # enough 1 s jobs to keep 2 workers busy throughout
            for _ in range(int(2 * (2 * args.seconds + 30))):
                queue.enqueue(s, "echo", {"sleep_seconds": 1.0})
        tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"flowlens-load-{os.getpid()}"
        tmp.mkdir(parents=True, exist_ok=True)
        port = free_port()
        env = flowlens_env(url, port=port, heartbeat_seconds=1)
        api = start(["api"], env, tmp / "api.log")
        workers = [start(["worker"], env, tmp / f"w{i}.log") for i in range(2)]
        try:
            wait_http(f"http://127.0.0.1:{port}/api/health", timeout=60)
            time.sleep(3)  # the workers' first children started
            api_pids = [api.pid, *_children(api.pid)]
            results = [f"/api/runs/{r}/layers" for r in run_ids]
            results += [f"/api/runs/{r}" for r in run_ids[:10]] + ["/api/runs?limit=50"]
            print(
                f"{args.readers} readers x {args.seconds:.0f} s, PostgreSQL, 2 workers busy, "
                f"revalidate={args.revalidate}, "
                f"load average before: {os.getloadavg()[0]:.2f}\n"
                "| paths | requests/s | p50 | p95 | max | max after 2 s | errors | 304 "
                "| API CPU ms/req | client CPU ms/req | cores busy |\n" + "|---" * 11 + "|"
            )
            health = phase(
                "/api/health", port, ["/api/health"], args.readers, args.seconds, False, api_pids
            )
            runs = phase(
                "runs", port, results, args.readers, args.seconds, args.revalidate, api_pids
            )
        finally:
            for proc in (*workers, api):
                stop(proc)
    print(
        f"p95 ratio runs / health: {runs['p95'] / health['p95']:.2f}; "
        f"load average after: {os.getloadavg()[0]:.2f}"
    )


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


if __name__ == "__main__":
    main()
