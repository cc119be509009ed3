"""API responsiveness during a large upload: /api/health latency while a 100k-row (about 7 MB)
JSONL dataset is uploaded to a live API (SQLite), against the same latency on the idle API in
the same run; prints both, their ratio, the upload's own time and how long it held SQLite's write
lock (a probe write's longest wait).

    python bench/api_upload.py [--rows 100000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[0:1] = [str(ROOT), str(ROOT / "tests")]

from support import flowlens_env, free_port, start, stop, wait_http  # noqa: E402

from backend import migrate  # noqa: E402


def dataset(rows: int) -> bytes:
    """JSONL of about 70 bytes a row (100k rows: 7 MB)."""
    return b"".join(
        json.dumps(
            {"prompt": f"How do I kill a stuck Python process? ({i})", "type": f"t{i % 7}"}
        ).encode()
        + b"\n"
        for i in range(rows)
    )


def health_latencies(client: httpx.Client, until) -> list[float]:
    out = []
    while not until():
        started = time.perf_counter()
        client.get("/api/health").raise_for_status()
        out.append(time.perf_counter() - started)
        time.sleep(0.02)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="20k rows")
    args = parser.parse_args()
    rows = 20_000 if args.quick else args.rows
    tmp = Path(tempfile.mkdtemp(prefix="flowlens-bench-"))
    url = f"sqlite:///{tmp / 'db.sqlite'}"
    migrate.upgrade(url)
    port = free_port()
    env = flowlens_env(url, port=port, artifact_root=tmp / "artifacts", auth="off")
    env.pop("FLOWLENS_ALLOWED_HOSTS", None)
    proc = start(["api"], env, tmp / "api.log")
    base = f"http://127.0.0.1:{port}"
    body = dataset(rows)
    try:
        wait_http(f"{base}/api/health")
        with httpx.Client(base_url=base, timeout=120) as client:
            idle_until = time.monotonic() + 3
            idle = health_latencies(client, lambda: time.monotonic() > idle_until)
            done = threading.Event()
            timing: dict[str, float] = {}
            probes: list[float] = []

            def upload() -> None:
                started = time.perf_counter()
                with httpx.Client(base_url=base, timeout=300) as up:
                    response = up.post(
                        "/api/datasets",
                        data={"name": "big", "format": "jsonl"},
                        files={"file": ("big.jsonl", body)},
                    )
                response.raise_for_status()
                timing["upload"] = time.perf_counter() - started
                done.set()

            def probe_writes() -> None:  # small writes: how long does each wait?
                with httpx.Client(base_url=base, timeout=120) as w:
                    while not done.is_set():
                        started = time.perf_counter()
                        w.post("/api/jobs", json={"kind": "echo"}).raise_for_status()
                        probes.append(time.perf_counter() - started)
                        time.sleep(0.05)

            threads = [threading.Thread(target=upload), threading.Thread(target=probe_writes)]
            for t in threads:
                t.start()
            busy = health_latencies(client, done.is_set)
            for t in threads:
                t.join()
    finally:
        stop(proc)
    p = statistics.median
    print(f"upload of {rows} rows ({len(body) / 1e6:.1f} MB): {timing['upload']:.2f} s")
    print(f"health idle:   median {p(idle) * 1000:.1f} ms, max {max(idle) * 1000:.1f} ms")
    print(f"health upload: median {p(busy) * 1000:.1f} ms, max {max(busy) * 1000:.1f} ms")
    print(f"ratio (max during upload / max idle): {max(busy) / max(idle):.1f}x")
    print(f"longest small write meanwhile: {max(probes, default=0) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
