"""PostgreSQL restarted while workers run: they reconnect and carry on; no job lost or run twice."""

from __future__ import annotations

from support import (
    create_pg_database,
    flowlens_env,
    missing,
    pg_bin,
    postgres_instance,
    start,
    stop,
    wait_until,
)

from backend import migrate, queue
from backend.db import session_scope, write_session
from backend.models import Job, JobStatus


def test_workers_survive_a_postgresql_restart(tmp_path):
    if pg_bin() is None:
        missing("PostgreSQL (initdb)")
    marks = tmp_path / "artifacts" / "diagnostics" / "marks.txt"
    with postgres_instance() as pg:
        url = create_pg_database(pg.url)
        migrate.upgrade(url)
        with write_session(url) as s:
            ids = [
                queue.enqueue(s, "echo", {"sleep_seconds": 1.0, "mark": "marks.txt"}).id
                for _ in range(12)
            ]
        env = flowlens_env(
            url,
            artifact_root=tmp_path / "artifacts",
            heartbeat_seconds=0.5,
            lease_seconds=15,
            poll_seconds=0.2,
        )
        workers = [
            start(["worker", "--kinds", "echo"], env, tmp_path / f"w{i}.log") for i in range(2)
        ]

        def statuses() -> list[str]:
            with session_scope(url) as s:
                return [j.status for j in s.query(Job).filter(Job.id.in_(ids))]

        try:
            wait_until(lambda: statuses().count(JobStatus.SUCCEEDED) >= 3, 120, "3 jobs done")
            pg.restart()
            wait_until(lambda: all(st in JobStatus.FINISHED for st in statuses()), 240, "all jobs")
            assert all(w.poll() is None for w in workers), "a worker died with the database"
            final = statuses()
        finally:
            for w in workers:
                stop(w)
    assert final == [JobStatus.SUCCEEDED] * len(ids)
    executed = sorted(int(line.split()[0]) for line in marks.read_text().splitlines())
    assert executed == sorted(ids)  # each ran exactly once
