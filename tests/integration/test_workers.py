"""Real worker processes against SQLite and PostgreSQL: exactly-once execution, lost workers,
crashes, cancel, dependencies and an API restart."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from support import flowlens_env, free_port, start, stop, wait_http, wait_until

from backend import queue
from backend.db import session_scope, write_session
from backend.models import Job, JobStatus

FAST = {"heartbeat_seconds": 0.5, "lease_seconds": 3, "poll_seconds": 0.1}


def submit(url: str, **params) -> int:
    depends_on = params.pop("depends_on", ())
    max_attempts = params.pop("max_attempts", 3)
    with write_session(url) as s:
        return queue.enqueue(s, "echo", params, depends_on=depends_on, max_attempts=max_attempts).id


def jobs(url: str, ids) -> dict[int, Job]:
    with session_scope(url) as s:
        return {j.id: j for j in s.query(Job).filter(Job.id.in_(list(ids)))}


def all_finished(url: str, ids) -> dict[int, Job] | None:
    rows = jobs(url, ids)
    return rows if all(j.status in JobStatus.FINISHED for j in rows.values()) else None


@pytest.fixture
def workers(database_url, tmp_path):
    """Start worker processes on demand; all are stopped at the end of the test. They serve
    echo jobs only, so their fork servers do not import the trainer (runner.preload)."""
    procs = []

    def launch(concurrency: int = 1, **settings):
        log = tmp_path / f"worker{len(procs)}.log"
        env = flowlens_env(
            database_url, artifact_root=tmp_path / "artifacts", **{**FAST, **settings}
        )
        args = ["worker", "--kinds", "echo", "--concurrency", str(concurrency)]  # model-free
        proc = start(args, env, log)
        procs.append(proc)
        return proc

    yield launch
    for proc in procs:
        stop(proc)


@pytest.mark.slow
def test_100_jobs_4_workers_run_exactly_once(database_url, workers, tmp_path):
    marks = tmp_path / "artifacts" / "diagnostics" / "marks.txt"
    ids = [submit(database_url, mark="marks.txt") for _ in range(100)]  # bounded: ~45 s each
    for _ in range(4):
        workers()
    rows = wait_until(lambda: all_finished(database_url, ids), 400, "100 jobs", every=1)
    assert {j.status for j in rows.values()} == {JobStatus.SUCCEEDED}
    executed = [int(line.split()[0]) for line in marks.read_text().splitlines()]
    assert sorted(executed) == sorted(ids)  # none lost, none duplicated
    assert len({j.worker_id for j in rows.values()}) > 1


def test_sigkilled_worker_job_is_requeued_and_finished_by_another(database_url, workers, tmp_path):
    marks = tmp_path / "artifacts" / "diagnostics" / "marks.txt"
    job_id = submit(database_url, sleep_seconds=4, mark="marks.txt")
    first = workers()
    wait_until(lambda: jobs(database_url, [job_id])[job_id].progress > 0.1, 30, "job running")
    lost_worker = jobs(database_url, [job_id])[job_id].worker_id
    stop(first, signal.SIGKILL)
    workers()
    row = wait_until(lambda: all_finished(database_url, [job_id]), 60, "re-run")[job_id]
    assert row.status == JobStatus.SUCCEEDED
    assert row.attempts == 2 and row.worker_id != lost_worker
    # the orphaned child of the killed worker stopped before writing anything
    assert marks.read_text().splitlines() == [f"{job_id} {row.worker_id} 2"]


def test_lost_lease_after_max_attempts_fails_with_reason(database_url, workers):
    job_id = submit(database_url, sleep_seconds=10, max_attempts=1)
    first = workers()
    wait_until(lambda: jobs(database_url, [job_id])[job_id].status == "running", 30, "running")
    stop(first, signal.SIGKILL)
    workers()
    row = wait_until(lambda: all_finished(database_url, [job_id]), 60, "failure")[job_id]
    assert row.status == JobStatus.FAILED
    assert "lease expired on attempt 1 of 1" in row.error


def test_child_crashes_fail_the_job_and_the_worker_keeps_serving(database_url, workers):
    crashes = {
        "segfault": "SIGSEGV",
        "exit": "exited with code 3",
        "exception": "RuntimeError: diagnostic crash requested",
    }
    ids = {submit(database_url, crash=crash): expected for crash, expected in crashes.items()}
    healthy = submit(database_url, message="still here")
    workers()
    rows = wait_until(lambda: all_finished(database_url, [*ids, healthy]), 90, "crash jobs")
    for job_id, expected in ids.items():
        assert rows[job_id].status == JobStatus.FAILED
        assert expected in rows[job_id].error
    assert rows[healthy].status == JobStatus.SUCCEEDED
    assert rows[healthy].result["message"] == "still here"


def test_a_child_killed_by_a_signal_is_retried_and_its_dependants_wait(database_url, workers):
    """Issue 12 defect 9: a child killed by a signal (the OOM killer's SIGKILL; here SIGSEGV)
    is retried like a lost worker, up to max_attempts, with the signal in the job's log, and
    the jobs that depend on it are cancelled only when the last attempt failed."""
    killed = submit(database_url, crash="segfault", max_attempts=2)
    child = submit(database_url, message="after", depends_on=[killed])
    workers()
    rows = wait_until(lambda: all_finished(database_url, [killed, child]), 90, "retries")
    assert rows[killed].status == JobStatus.FAILED and rows[killed].attempts == 2
    assert "SIGSEGV" in rows[killed].error and "attempt 2 of 2; giving up" in rows[killed].error
    assert "attempt 1: job process died with SIGSEGV" in rows[killed].log
    assert rows[child].status == JobStatus.CANCELLED and rows[child].attempts == 0


def test_worker_log_says_how_each_job_ended(database_url, workers, tmp_path):
    """Issue 12 defect 9: a job that ends normally is logged as such, not as 'cancelled or
    reassigned' (the runner read its status before collecting the exiting child)."""
    ids = [submit(database_url, message=str(i)) for i in range(5)]
    workers()
    wait_until(lambda: all_finished(database_url, ids), 60, "jobs")
    log = (tmp_path / "worker0.log").read_text()
    assert "reassigned" not in log and "cancelled" not in log
    assert all(f"job {i} " in log for i in ids)


def test_dependency_chain_runs_in_order_and_failure_cancels_children(database_url, workers):
    a = submit(database_url, message="a")
    b = submit(database_url, message="b", depends_on=[a])
    c = submit(database_url, message="c", depends_on=[b])
    bad = submit(database_url, crash="exception")
    orphan = submit(database_url, depends_on=[bad])
    grandchild = submit(database_url, depends_on=[orphan])
    workers(concurrency=2)
    rows = wait_until(
        lambda: all_finished(database_url, [a, b, c, bad, orphan, grandchild]), 90, "chain"
    )
    assert [rows[j].status for j in (a, b, c)] == [JobStatus.SUCCEEDED] * 3
    assert rows[a].finished_at <= rows[b].started_at and rows[b].finished_at <= rows[c].started_at
    assert rows[orphan].status == rows[grandchild].status == JobStatus.CANCELLED
    assert f"parent job {bad} failed" in rows[orphan].error
    assert rows[orphan].attempts == 0  # never ran


@pytest.fixture
def api(database_url, tmp_path):
    """The API as a real server process; ``api.restart()`` kills and starts it again."""
    port = free_port()
    env = flowlens_env(database_url, port=port)

    class Server:
        url = f"http://127.0.0.1:{port}"
        proc = None

        def restart(self) -> None:
            if self.proc is not None:
                stop(self.proc, signal.SIGKILL)
            self.proc = start(["api"], env, tmp_path / "api.log")
            wait_http(f"{self.url}/api/health")

    server = Server()
    server.restart()
    yield server
    stop(server.proc)


def test_queued_jobs_survive_an_api_restart(database_url, api, workers):
    ids = [
        httpx.post(f"{api.url}/api/jobs", json={"kind": "echo", "params": {"message": str(i)}})
        .raise_for_status()
        .json()["id"]
        for i in range(3)
    ]
    api.restart()
    listed = httpx.get(f"{api.url}/api/jobs", params={"status": "queued"}).json()
    assert sorted(j["id"] for j in listed["data"]) == sorted(ids)
    workers()
    rows = wait_until(lambda: all_finished(database_url, ids), 60, "jobs after restart")
    assert [rows[i].result["message"] for i in ids] == ["0", "1", "2"]


def test_cancel_queued_and_running_jobs_through_the_api(database_url, api, workers, tmp_path):
    marks = tmp_path / "artifacts" / "diagnostics" / "marks.txt"
    running = submit(database_url, sleep_seconds=60, mark="marks.txt")
    queued = submit(database_url, mark="marks.txt", depends_on=[running])
    workers()
    wait_until(lambda: jobs(database_url, [running])[running].progress > 0, 30, "running")
    response = httpx.post(f"{api.url}/api/jobs/{running}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"

    stopped = f"job {running} cancelled: process stopped"
    wait_until(lambda: stopped in (tmp_path / "worker0.log").read_text(), 10, "child stopped")
    rows = jobs(database_url, [running, queued])
    assert rows[queued].status == JobStatus.CANCELLED
    assert not Path(marks).exists()
    assert httpx.post(f"{api.url}/api/jobs/{running}/cancel").status_code == 409


def test_each_child_gets_its_share_of_the_cores(database_url, workers):
    """Issue 12 defect 10: a job's process uses cores / concurrency threads (or the setting),
    and its idle OpenMP threads sleep (OMP_WAIT_POLICY=PASSIVE) instead of spinning."""
    import os

    shared = [submit(database_url, message="shared") for _ in range(2)]
    workers(concurrency=2)
    rows = wait_until(lambda: all_finished(database_url, shared), 60, "shared jobs")
    expected = str(max(1, (os.cpu_count() or 1) // 2))
    assert {rows[j].result["threads"] for j in shared} == {expected}


def test_threads_per_job_setting_wins(database_url, workers):
    pinned = submit(database_url, message="pinned")
    workers(threads_per_job=3)
    row = wait_until(lambda: all_finished(database_url, [pinned]), 60, "pinned job")[pinned]
    assert row.result["threads"] == "3"
