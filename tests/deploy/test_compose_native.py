"""The compose file's commands, run natively against PostgreSQL: migrate once, then the API (tokens
on), the UI and two workers with separate working directories sharing one artifact root; the
science jobs run end to end through the API with a token, and their artifacts download."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from support import (
    ROOT,
    create_pg_database,
    flowlens_env,
    free_port,
    start,
    stop,
    wait_http,
    wait_until,
)

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
FINISHED = ("succeeded", "failed", "cancelled")


def compose_argv(service: str, **replace: str) -> list[str]:
    """The service's command without the leading `flowlens`, with the values of the given
    options replaced (e.g. host="127.0.0.1": tests bind loopback only)."""
    argv = list(COMPOSE[service]["command"])[1:]
    for option, value in replace.items():
        flag = "--" + option.replace("_", "-")
        argv[argv.index(flag) + 1] = value
    return argv


def start_in(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    """Like support.start, in another working directory (a worker on another machine)."""
    env = {**env, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "backend.cli", *args],
        env=env,
        cwd=cwd,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_compose_equivalent_on_postgres(postgres_server, tmp_path):
    began = time.monotonic()
    url = create_pg_database(postgres_server)
    artifacts = tmp_path / "shared-artifacts"
    api_port, ui_port = free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    base = dict(
        artifact_root=artifacts,
        auth="on",
        api_url=api_url,
        heartbeat_seconds=1,
        poll_seconds=0.2,
    )
    env = flowlens_env(url, **base)

    # migrate: runs once and exits 0 (the others wait for it in compose)
    migrate = subprocess.run(
        [sys.executable, "-m", "backend.cli", *compose_argv("migrate")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    created = subprocess.run(
        [sys.executable, "-m", "backend.cli", "token", "create", "--name", "ci"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    auth = {"Authorization": f"Bearer {token}"}

    procs: list[subprocess.Popen] = []
    try:
        api_args = compose_argv("api", host="127.0.0.1", port=str(api_port))
        procs.append(start(api_args, env, tmp_path / "api.log"))
        ui_args = compose_argv("ui", host="127.0.0.1", port=str(ui_port), api_url=api_url)
        procs.append(start(ui_args, {**env, "FLOWLENS_API_TOKEN": token}, tmp_path / "ui.log"))
        workdirs = []
        for i in (1, 2):
            workdir = tmp_path / f"machine{i}"
            workdir.mkdir()
            workdirs.append(workdir)
            worker_args = compose_argv("worker", device="cpu")
            procs.append(start_in(worker_args, env, workdir, tmp_path / f"worker{i}.log"))
        wait_http(f"{api_url}/api/health", timeout=60)
        wait_http(f"http://127.0.0.1:{ui_port}/", timeout=60)
        print(f"api and ui up: {time.monotonic() - began:.1f} s")

        with httpx.Client(base_url=f"{api_url}/api", timeout=30) as api:
            wait_until(
                lambda: api.get("/health").json()["workers_alive"] == 2, 60, "two live workers"
            )
            health = api.get("/health").json()
            assert health["database"] == "postgresql"
            refused = api.post("/jobs", json={"kind": "register_builtin"})
            assert refused.status_code == 401

            def run(kind: str, params: dict, timeout: float = 120) -> dict:
                response = api.post("/jobs", json={"kind": kind, "params": params}, headers=auth)
                assert response.status_code == 201, response.text
                job_id = response.json()["id"]
                job = wait_until(
                    lambda: (j := api.get(f"/jobs/{job_id}").json())["status"] in FINISHED and j,
                    timeout,
                    f"{kind} job {job_id}",
                    every=0.5,
                )
                assert job["status"] == "succeeded", (kind, job["error"], job["log"][-2000:])
                print(f"{kind}: {time.monotonic() - began:.1f} s since start")
                return job

            run("register_builtin", {})
            tiny = {"steps": 20, "n_layers": 2, "d_model": 32, "name": "tiny"}
            model_id = run("train_demo_model", tiny)["result"]["model_id"]
            datasets = {d["name"]: d["id"] for d in api.get("/datasets").json()["data"]}
            capture = run(
                "capture_spectra",
                {"model_id": model_id, "dataset_id": datasets["probe"], "bootstrap": 10},
            )
            run_id = capture["result"]["run_id"]
            layers = api.get(f"/runs/{run_id}/layers").json()
            assert len(layers) >= 2

            # every job ran on one of the two workers; artifacts are in the one shared root
            jobs = api.get("/jobs", params={"limit": 100}).json()["data"]
            workers = {w["id"] for w in api.get("/workers").json() if w["alive"]}
            assert len(workers) == 2
            assert {j["worker_id"] for j in jobs if j["kind"] != "dataset_stats"} <= workers
            files = sorted(p for p in artifacts.rglob("*") if p.is_file())
            assert files, "no artifact written to the shared root"
            for workdir in workdirs:  # a worker's own directory holds at most its cache
                stray = [p for p in workdir.rglob("*") if p.is_file() and "cache" not in p.parts]
                assert not stray, stray
            key = files[0].relative_to(artifacts).as_posix()
            download = api.get(f"/artifacts/{key}")
            assert download.status_code == 200 and download.content == files[0].read_bytes()
    finally:
        for proc in reversed(procs):
            stop(proc)
        for log in sorted(tmp_path.glob("*.log")):
            text = log.read_text(errors="replace")
            if "Traceback" in text:
                print(f"--- {log.name}\n{text[-3000:]}")
    elapsed = time.monotonic() - began
    print(f"compose-equivalent run: {elapsed:.1f} s")
    assert os.environ.get("FLOWLENS_DATABASE_URL") != url  # nothing leaked into this process
