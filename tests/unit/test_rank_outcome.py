"""How a launched job's end is told from its ranks' reports (worker/distributed.py): a rank that
lost its peers re-queues the attempt, a rank that raised anything else fails the job, a rank
killed by a signal is blamed before the errors its death caused in the others."""

from __future__ import annotations

import json
import os

import pytest
from torch.distributed import DistBackendError

from backend import queue
from backend.config import Settings
from worker import distributed_entry
from worker.context import JobContext, JobError
from worker.distributed import RankFailed, outcome


@pytest.fixture
def ctx(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", artifact_root=str(tmp_path))
    return JobContext(queue.Lease(job_id=5, worker_id="w", attempt=1), settings)


def write(run_dir, rank: int, report: dict) -> None:
    (run_dir / f"rank-{rank}.json").write_text(json.dumps(report))


def test_rank_zero_result_is_the_job_result(ctx, tmp_path) -> None:
    write(tmp_path, 0, {"result": {"steps": 4}, "log": ["12:00:00 trained"]})
    write(tmp_path, 1, {"result": {"steps": 4}})
    assert outcome(ctx, tmp_path, 0) == {"steps": 4}
    assert ctx.log_text() == "12:00:00 trained"


def test_a_lost_peer_requeues_and_a_bug_fails(ctx, tmp_path) -> None:
    write(tmp_path, 0, {"transient": "DistBackendError: Connection closed by peer", "log": []})
    write(tmp_path, 1, {"result": {}})
    with pytest.raises(RankFailed, match="rank 0: DistBackendError: Connection closed by peer"):
        outcome(ctx, tmp_path, 1)
    write(tmp_path, 1, {"error": "ValueError: bad row 3", "log": []})
    with pytest.raises(JobError, match="rank 1: ValueError: bad row 3"):
        outcome(ctx, tmp_path, 1)


def test_a_killed_rank_is_blamed_before_its_peers_errors(ctx, tmp_path) -> None:
    write(tmp_path, 0, {"error": "RuntimeError: peer gone", "log": []})
    failures = [  # as torchrun saw them: rank 0's exit first, the killed rank after it
        {"rank": 0, "exitcode": 1, "signal": None},
        {"rank": 1, "exitcode": -9, "signal": "SIGKILL"},
    ]
    (tmp_path / "failures.json").write_text(json.dumps(failures))
    with pytest.raises(RankFailed, match="rank 1 exited with signal SIGKILL"):
        outcome(ctx, tmp_path, 1)


@pytest.mark.parametrize(
    ("raised", "key", "expected"),
    [
        (
            DistBackendError("Connection reset by peer\nat pair.cc"),
            "transient",
            "DistBackendError: Connection reset by peer",
        ),
        (JobError("name: taken"), "error", "name: taken"),
        (KeyError("input_ids"), "error", "KeyError: 'input_ids'"),
    ],
)
def test_a_rank_reports_what_it_raised(tmp_path, monkeypatch, raised, key, expected) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", artifact_root=str(tmp_path))
    spec = {
        "lease": {"job_id": 5, "worker_id": "w", "attempt": 1},
        "kind": "finetune",
        "params": {},
        "settings": settings.model_dump(),
        "devices": ["cpu", "cpu"],
        "child_pid": os.getpid(),
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))

    def job(ctx, params):
        raise raised

    class Params:
        @staticmethod
        def model_validate(_):
            return None

    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(distributed_entry, "job_function", lambda kind: job)
    monkeypatch.setattr(
        distributed_entry, "get_kind", lambda name: type("K", (), {"params": Params})
    )
    assert distributed_entry.run_rank(tmp_path) == 1
    report = json.loads((tmp_path / "rank-1.json").read_text())
    assert report[key] == expected and "log" in report
