"""``api``: a real ``flowlens api`` process on the test's database."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from support import flowlens_env, free_port, start, stop, wait_http


@pytest.fixture
def api(database_url, tmp_path) -> Iterator[httpx.Client]:
    """``flowlens api`` on a free loopback port (its log in ``tmp_path``), and a client of it."""
    port = free_port()
    env = flowlens_env(database_url, port=port, artifact_root=tmp_path / "artifacts")
    proc = start(["api"], env, tmp_path / "api.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", timeout=60)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=30) as client:
            yield client
    finally:
        stop(proc)
