"""Helpers for tests that run real FlowLens processes on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


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
