"""Jobs as terminal text: `flowlens up`'s event lines (JobWatcher), `submit --wait`'s last line
with the result's ids, `jobs show` as text, and `submit --help` listing kinds and parameters."""

from __future__ import annotations

import pytest

from backend import cli, queue
from backend.db import write_session
from backend.job_text import JobWatcher, event_line, job_text, params_help
from backend.jobs.kinds import KINDS
from backend.jobs.params.training import FinetuneParams
from backend.models import Job


def test_event_lines_name_the_job_and_its_result():
    finetune = {"id": 12, "kind": "finetune", "params": {"name": "mine"}, "status": "succeeded"}
    assert event_line({**finetune, "result": {"model_id": 5, "steps": 80}}) == (
        "job 12 finetune 'mine' succeeded: model 5"
    )
    capture = {"id": 3, "kind": "capture_spectra", "params": {"model_name": "demo"}}
    assert event_line({**capture, "status": "running"}) == "job 3 capture_spectra 'demo' started"
    failed = {**capture, "status": "failed", "error": "Traceback ...\nValueError: no rows\n"}
    assert event_line(failed) == "job 3 capture_spectra 'demo' failed: ValueError: no rows"
    assert event_line({"id": 1, "kind": "echo", "params": {}, "status": "queued"}) == (
        "job 1 echo queued"
    )


def test_jobs_show_is_text_with_result_params_and_log():
    job = {
        "id": 7,
        "kind": "evaluate",
        "params": {"model_id": 2, "classifier": "rules"},
        "status": "succeeded",
        "progress": 1.0,
        "message": "done",
        "attempts": 1,
        "max_attempts": 3,
        "created_at": "2026-12-01T10:00:00.123",
        "started_at": None,
        "finished_at": None,
        "result": {"evaluation_id": 4, "f1": 0.5},
        "error": None,
        "log": "a\nb\n",
        "depends_on": [6],
    }
    text = job_text(job)
    assert text.splitlines()[0] == "job 7 evaluate succeeded: evaluation 4"
    assert "created 2026-12-01 10:00:00" in text and "depends on jobs 6" in text
    assert "  classifier               rules" in text and "  f1                   0.5" in text
    assert text.endswith("log (last 2 of 2 lines):\na\nb")


def test_params_help_gives_types_defaults_ranges_and_titles():
    text = params_help(FinetuneParams)
    assert "  safety_fraction (number, default 0.1, >= 0, <= 1)" in text
    assert "  general_dataset_id (integer, required, >= 1)\n      General data - " in text
    assert "  vcl_sign (penalise|encourage, default penalise)" in text


def test_submit_help_lists_every_kind_and_a_kinds_parameters(capsys):
    with pytest.raises(SystemExit):
        cli.main(["submit", "--help"])
    listed = capsys.readouterr().out
    assert all(f"    {name}" in listed for name in KINDS)
    with pytest.raises(SystemExit):
        cli.main(["submit", "evaluate", "--help"])
    assert "  probe_dataset_id (integer, required, >= 1)" in capsys.readouterr().out


def test_the_watcher_reports_each_change_once_and_not_the_jobs_before_it(database_url):
    with write_session(database_url) as session:
        old = queue.enqueue(session, "echo", {"message": "before up"})
    watcher = JobWatcher()
    with write_session(database_url) as session:
        watcher.prime(session)
        new = queue.enqueue(session, "finetune", {"name": "ft"})
    with write_session(database_url) as session:
        assert watcher.poll(session) == [f"job {new.id} finetune 'ft' queued"]
        assert watcher.poll(session) == []
        session.get(Job, new.id).status = "running"
        session.get(Job, old.id).status = "succeeded"
    with write_session(database_url) as session:
        assert watcher.poll(session) == [
            f"job {old.id} echo succeeded",
            f"job {new.id} finetune 'ft' started",
        ]
        job = session.get(Job, new.id)
        job.status, job.result = "succeeded", {"model_id": 9}
    with write_session(database_url) as session:
        assert watcher.poll(session) == [f"job {new.id} finetune 'ft' succeeded: model 9"]
        assert watcher.unfinished == {}
