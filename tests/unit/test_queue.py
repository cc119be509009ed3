"""The queue's state machine on SQLite and PostgreSQL, driven in-process."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from backend import queue
from backend.db import session_scope, write_session
from backend.models import Job, JobStatus, utcnow


def add(url: str, n: int = 1, **kwargs) -> list[int]:
    with write_session(url) as s:
        return [queue.enqueue(s, "echo", {}, **kwargs).id for _ in range(n)]


def claim(url: str, worker: str = "w1", kinds=None, lease: float = 30) -> queue.Lease | None:
    with write_session(url) as s:
        return queue.claim(s, worker, kinds=kinds, lease_seconds=lease)


def job(url: str, job_id: int) -> Job:
    with session_scope(url) as s:
        return s.get(Job, job_id)


def test_claim_takes_highest_priority_then_oldest(database_url):
    (low,) = add(database_url)
    (high,) = add(database_url, priority=5)
    (later_high,) = add(database_url, priority=5)
    order = [claim(database_url).job_id for _ in range(3)]
    assert order == [high, later_high, low]
    assert claim(database_url) is None


def test_claim_filters_kinds_and_sets_lease(database_url):
    add(database_url)
    assert claim(database_url, kinds=["capture_spectra"]) is None
    lease = claim(database_url, kinds=["echo"])
    row = job(database_url, lease.job_id)
    assert (row.status, row.worker_id, row.attempts) == (JobStatus.RUNNING, "w1", 1)
    assert row.lease_expires_at > utcnow()


def test_a_job_naming_devices_goes_only_to_a_worker_that_owns_them(database_url):
    with write_session(database_url) as s:
        two_gpus = queue.enqueue(s, "finetune", {"devices": ["cuda:1", "cuda:0"]}).id
        two_cpus = queue.enqueue(s, "finetune", {"devices": ["cpu", "cpu"]}).id
        anywhere = queue.enqueue(s, "finetune", {"devices": None}).id

    def take(worker: str, devices: list[str]) -> int | None:
        with write_session(database_url) as s:
            lease = queue.claim(s, worker, kinds=None, lease_seconds=30, devices=devices)
        return lease and lease.job_id

    assert take("one-gpu", ["cuda:0"]) == anywhere  # skips both jobs it cannot run
    assert take("one-gpu", ["cuda:0"]) is None
    assert take("one-cpu", ["cpu"]) is None  # two cpu ranks need a worker listing cpu twice
    assert take("two-cpus", ["cpu", "cpu"]) == two_cpus
    assert take("gpu-box", ["cuda:0", "cuda:1", "cuda:2"]) == two_gpus
    assert job(database_url, two_gpus).worker_id == "gpu-box"


def test_concurrent_claims_never_share_a_job(database_url):
    ids = set(add(database_url, 60))
    taken: list[int] = []
    lock = threading.Lock()

    def grab(worker: str) -> None:
        while (lease := claim(database_url, worker)) is not None:
            with lock:
                taken.append(lease.job_id)

    threads = [threading.Thread(target=grab, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == sorted(ids)


def test_dependencies_gate_and_failure_cancels_descendants(database_url):
    (a,) = add(database_url)
    (b,) = add(database_url, depends_on=[a])
    (c,) = add(database_url, depends_on=[b])
    lease = claim(database_url)
    assert lease.job_id == a and claim(database_url) is None  # b waits for a
    with write_session(database_url) as s:
        assert queue.fail(s, lease, "boom")
    for child in (b, c):
        row = job(database_url, child)
        assert row.status == JobStatus.CANCELLED
        assert row.error.startswith("parent job") and "boom" in row.error
    with write_session(database_url) as s:
        queue.retry(s, a)
    assert {job(database_url, j).status for j in (a, b, c)} == {JobStatus.QUEUED}


def test_success_releases_children_in_order(database_url):
    (a,) = add(database_url)
    (b,) = add(database_url, depends_on=[a])
    first = claim(database_url)
    with write_session(database_url) as s:
        queue.complete(s, first, {"ok": True})
    assert claim(database_url).job_id == b


def test_enqueue_after_dead_parent_is_cancelled_and_unknown_parent_refused(database_url):
    (a,) = add(database_url)
    with write_session(database_url) as s:
        queue.cancel(s, a)
    (b,) = add(database_url, depends_on=[a])
    assert job(database_url, b).status == JobStatus.CANCELLED
    with pytest.raises(queue.QueueError, match="depends_on"), write_session(database_url) as s:
        queue.enqueue(s, "echo", {}, depends_on=[999_999])


def test_cancel_running_job_loses_its_lease(database_url):
    (a,) = add(database_url)
    lease = claim(database_url)
    with write_session(database_url) as s:
        queue.cancel(s, a)
    with session_scope(database_url) as s:
        assert not queue.lease_states(s, [lease])[a].held
    with write_session(database_url) as s:
        assert queue.heartbeat(s, [lease], 30) == {a}
        assert not queue.complete(s, lease, {"late": True})
    assert job(database_url, a).status == JobStatus.CANCELLED
    with (
        pytest.raises(queue.QueueError, match="already cancelled"),
        write_session(database_url) as s,
    ):
        queue.cancel(s, a)


def _expire(url: str, job_id: int) -> None:
    with write_session(url) as s:
        s.execute(
            update(Job).where(Job.id == job_id).values(lease_expires_at=utcnow() - timedelta(1))
        )


def test_expired_lease_requeues_then_fails_after_max_attempts(database_url):
    (a,) = add(database_url, max_attempts=2)
    first = claim(database_url, "w1")
    _expire(database_url, a)
    with write_session(database_url) as s:
        assert queue.reap_expired(s) == [a]
    assert job(database_url, a).status == JobStatus.QUEUED
    second = claim(database_url, "w2")
    assert second.attempt == 2
    with write_session(database_url) as s:  # the first worker's late write is refused
        assert not queue.report_progress(s, first, 0.5, "stale")
    _expire(database_url, a)
    with write_session(database_url) as s:
        queue.reap_expired(s)
    row = job(database_url, a)
    assert row.status == JobStatus.FAILED
    assert "lease expired on attempt 2 of 2" in row.error


def test_release_returns_job_without_spending_an_attempt(database_url):
    (a,) = add(database_url)
    lease = claim(database_url)
    with write_session(database_url) as s:
        assert queue.release(s, lease)
    row = job(database_url, a)
    assert (row.status, row.attempts) == (JobStatus.QUEUED, 0)
