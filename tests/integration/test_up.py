"""`flowlens up`, the embedded default: migrates, starts API + worker + UI, stops on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
from support import flowlens_env, free_port, start, stop, wait_http, wait_until


def test_up_serves_everything_and_stops_cleanly_on_ctrl_c(tmp_path):
    api_port, ui_port = free_port(), free_port()
    env = flowlens_env(
        f"sqlite:///{tmp_path / 'up.db'}",
        port=api_port,
        ui_port=ui_port,
        api_url=f"http://127.0.0.1:{api_port}",
        artifact_root=tmp_path / "artifacts",
        heartbeat_seconds=0.5,
    )
    log = tmp_path / "up.log"
    proc = start(["up", "--no-demo"], env, log)
    try:
        wait_http(f"http://127.0.0.1:{api_port}/api/health", timeout=60)
        wait_http(f"http://127.0.0.1:{ui_port}/", timeout=60)
        api = f"http://127.0.0.1:{api_port}/api"
        # long enough (2 s) for the 1 s poll to see it running; the second one fails
        params = [{"message": "up", "sleep_seconds": 2}, {"crash": "exception"}]
        jobs = [
            httpx.post(f"{api}/jobs", json={"kind": "echo", "params": p}).json() for p in params
        ]
        job, crash = jobs
        done = wait_until(
            lambda: (
                [httpx.get(f"{api}/jobs/{j['id']}").json()["status"] for j in jobs]
                == ["succeeded", "failed"]
            ),
            60,
            "two jobs run by the embedded worker",
        )
        assert done
        assert httpx.get(f"{api}/health").json()["workers_alive"] == 1
        text = log.read_text()
        assert f"dashboard: http://127.0.0.1:{ui_port}/" in text and "/docs" in text
        failed = f"job {crash['id']} echo failed: RuntimeError: diagnostic crash requested"
        assert wait_until(lambda: failed in log.read_text(), 10, "the failed job's event line")
        # one line per job event, nothing else: no worker lines, no access logs, no duplicates
        events = log.read_text().split("One line per job event follows. Press Ctrl-C to stop.\n")
        lines = [line for line in events[1].splitlines() if line]
        started, succeeded = (f"job {job['id']} echo {e}" for e in ("started", "succeeded"))
        allowed = {f"job {j['id']} echo {e}" for j in jobs for e in ("queued", "started")}
        assert set(lines) <= allowed | {succeeded, failed} and len(set(lines)) == len(lines), lines
        later = [line for line in lines if not line.endswith(" queued")]  # queued: if seen
        crash_started = f"job {crash['id']} echo started"  # unless it failed between two polls
        assert later in ([started, succeeded, crash_started, failed], [started, succeeded, failed])
        worker_log = (tmp_path / "worker.log").read_text()  # beside the artifact folder
        assert f"job {crash['id']}" in worker_log
        # the CLI: --wait ends with the job's event line; jobs show is text
        cli = [sys.executable, "-m", "backend.cli"]
        run = subprocess.run(
            [*cli, "submit", "echo", "-p", "message=cli", "--wait"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        lines = run.stdout.strip().splitlines()
        assert run.returncode == 0 and lines[-1].endswith("echo succeeded"), run.stdout
        job_id = lines[0].split()[1]  # "job N queued (echo)"
        shown = subprocess.run(
            [*cli, "jobs", "show", job_id], env=env, capture_output=True, text=True, timeout=60
        )
        assert shown.stdout.splitlines()[0] == f"job {job_id} echo succeeded"
        assert "  message                  cli" in shown.stdout
    finally:
        code = stop(proc, signal.SIGINT, timeout=30)
    assert code == 0
    assert "FlowLens stopped." in log.read_text()
    for port in (api_port, ui_port):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            raise AssertionError(f"port {port} still serving after Ctrl-C")
        except httpx.ConnectError:
            pass


def test_first_start_queues_the_demo_study_once(database_url):
    from backend.db import session_scope, write_session
    from backend.demo import DEMO_SAFETY_FRACTIONS, seed_demo
    from backend.models import Job, JobDependency

    with write_session(database_url) as session:
        ids = seed_demo(session)
    with write_session(database_url) as session:
        assert seed_demo(session) is None  # not an empty database any more
    with session_scope(database_url) as session:
        jobs = {j.kind: j for j in session.query(Job)}
        assert [j.id for j in jobs.values()] == ids
        assert jobs["sweep"].params["safety_fractions"] == DEMO_SAFETY_FRACTIONS
        parents = {d.depends_on_id for d in session.query(JobDependency)}
        assert parents == {jobs["register_builtin"].id, jobs["train_demo_model"].id}
