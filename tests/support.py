"""Helpers for tests that run real FlowLens processes on 127.0.0.1, and for seeding rows."""

from __future__ import annotations

import glob
import json
import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_ALL = os.environ.get("FLOWLENS_REQUIRE_ALL") == "1"  # CI: nothing may be skipped


def missing(what: str) -> None:
    """Skip a test whose dependency is missing, or fail when everything is required."""
    if REQUIRE_ALL:
        pytest.fail(f"{what} is missing but FLOWLENS_REQUIRE_ALL=1", pytrace=False)
    pytest.skip(f"{what} is missing")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flowlens_env(database_url: str, **settings: object) -> dict[str, str]:
    """Environment for a child FlowLens process: FLOWLENS_<NAME> for each setting."""
    env = {**os.environ, "FLOWLENS_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
    env.update({f"FLOWLENS_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start ``flowlens <args>`` in its own process group, output to ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "backend.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
    """Signal a process and wait for it; kill its whole group if it does not exit in time."""
    if proc.poll() is None:
        if sig == signal.SIGKILL:
            proc.kill()
        else:
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def wait_until(predicate: Callable[[], object], timeout: float, what: str, every: float = 0.2):
    """Poll ``predicate`` until it returns a truthy value; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def wait_http(url: str, timeout: float = 30) -> None:
    def ok() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ok, timeout, url)


@contextmanager
def serve_dashboard(
    database_url: str, tmp: Path, services: tuple[str, ...] = ("api", "ui"), **settings: object
) -> Iterator[tuple[str, str]]:
    """Run FlowLens ``services`` on free loopback ports against ``database_url`` (artifacts and
    logs under ``tmp``); yield the API and UI base URLs once both answer; stop them at the end."""
    api_port, ui_port = free_port(), free_port()
    env = flowlens_env(
        database_url,
        port=api_port,
        ui_port=ui_port,
        api_url=f"http://127.0.0.1:{api_port}",
        artifact_root=tmp / "artifacts",
        **settings,
    )
    procs = [start([name], env, tmp / f"{name}.log") for name in services]
    try:
        api, ui = f"http://127.0.0.1:{api_port}/api", f"http://127.0.0.1:{ui_port}"
        wait_http(f"{api}/health", timeout=60)
        wait_http(f"{ui}/", timeout=60)
        yield api, ui
    finally:
        for proc in reversed(procs):
            stop(proc)


def pg_bin() -> Path | None:
    """The folder of PostgreSQL's server programs (Debian puts them off the PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres_user(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PgServer:
    """A throw-away PostgreSQL server: its base URL (no database) and a way to restart it."""

    url: str
    pg_ctl: list[str]

    def restart(self) -> None:
        subprocess.run(
            _as_postgres_user([*self.pg_ctl, "-m", "fast", "-w", "restart"]),
            check=True,
            capture_output=True,
        )


@contextmanager
def postgres_instance() -> Iterator[PgServer]:
    """initdb + pg_ctl a throw-away server on 127.0.0.1 in a temp dir, stopped at the end."""
    bin_dir = pg_bin()
    root = Path(tempfile.mkdtemp(prefix="flowlens-pg-"))  # pytest's tmp is private to root
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    initdb = [
        str(bin_dir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
    ]
    subprocess.run(_as_postgres_user(initdb), check=True, capture_output=True)
    options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c max_connections=300"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log")]
    subprocess.run(_as_postgres_user([*pg_ctl, "-w", "start"]), check=True, capture_output=True)
    try:
        yield PgServer(f"postgresql+psycopg://postgres@127.0.0.1:{port}", pg_ctl)
    finally:
        subprocess.run(_as_postgres_user([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def create_pg_database(server_url: str, template: str | None = None) -> str:
    """A new database on the server, empty or a copy of ``template``; returns its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy}')
    return f"{server_url}/{name}"


def run_inline(settings, kind: str | None = None, **params):
    """Run one job in this process through the worker child's entry point and return its
    finished row: enqueue ``kind`` with ``params``, or, without ``kind``, the next runnable job.
    """
    from backend import queue
    from backend.db import session_scope, write_session
    from backend.models import Job
    from worker.child import run_job

    if kind is not None:
        with write_session(settings.database_url) as s:
            queue.enqueue(s, kind, params)
    with write_session(settings.database_url) as s:
        lease = queue.claim(s, "inline", kinds=[kind] if kind else None, lease_seconds=3600)
        if lease is None:
            return None
        job = s.get(Job, lease.job_id)
        kind, params = job.kind, dict(job.params)
    run_job(lease, kind, params, settings)
    with session_scope(settings.database_url) as s:
        return s.get(Job, lease.job_id)


def add_evaluation(session, dataset_id: int, completions: Iterable[dict] = (), **columns) -> int:
    """Add an evaluation of ``dataset_id`` with ``columns`` (model_id, params, metrics...) and
    one completion per dict of ``completions`` at idx 0, 1, ...: the dict's columns over
    prompt "prompt <idx>", a safe label, completion "..." and full_compliance by rule "test".
    Returns the evaluation's id."""
    from backend.models import Completion, Evaluation

    evaluation = Evaluation(dataset_id=dataset_id, **columns)
    session.add(evaluation)
    session.flush()
    defaults = {"completion": "...", "verdict": "full_compliance", "rule": "test"}
    session.add_all(
        Completion(
            evaluation_id=evaluation.id, idx=i, **{"prompt": f"prompt {i}", **defaults, **row}
        )
        for i, row in enumerate(completions)
    )
    return evaluation.id


def add_oversized_shard(model_dir: Path, nbytes: int = 2**40) -> Path:
    """Add a valid but sparse safetensors shard announcing ``nbytes`` of float32 weights (it
    takes no disk space): a model that fits on no test machine."""
    side = int(math.isqrt(nbytes // 4))
    header = json.dumps(
        {
            "huge.weight": {
                "dtype": "F32",
                "shape": [side, side],
                "data_offsets": [0, side * side * 4],
            }
        }
    ).encode()
    shard = model_dir / "model-huge.safetensors"
    with shard.open("wb") as fh:
        fh.write(struct.pack("<Q", len(header)) + header)
        fh.truncate(8 + len(header) + side * side * 4)
    return shard
