"""One job on several devices: the worker's child launches one rank per device with torchrun.

``flowlens worker --devices cuda:0,cuda:1`` (or ``cpu,cpu``) stores the list in
``Settings.device``. A job of a kind in ``MULTI_DEVICE_KINDS`` is then run by
``launch``: ``python -m worker.distributed`` is torchrun (``torch.distributed.run``'s own
``parse_args`` and ``run``, standalone rendezvous on a free local port) that also writes down
which rank failed and how, and each rank runs ``worker.distributed_entry``. The Trainer sees
torchrun's ``WORLD_SIZE``/``RANK``/``LOCAL_RANK`` and does DDP by itself (gloo on CPU, nccl on
CUDA). The child keeps the job's lease: the worker heartbeats for it as for any job, and only
rank 0 writes to the database (``is_main_process``). Cancelling the job terminates the child,
which stops torchrun's process group; a rank killed by a signal makes ``launch`` raise
``RankFailed`` and the attempt is re-queued (``requeue_or_fail``), to resume from the
checkpoint. docs/training.md, "Several devices".
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from backend import queue
from backend.jobs.params.base import devices_owned
from backend.models import Job, JobStatus
from worker.context import JobContext, JobError, JobLost

MULTI_DEVICE_KINDS = frozenset({"finetune"})
STOP_GRACE_S = 3.0  # within the runner's TERMINATE_GRACE_S (5 s) before it kills the child
FAILURES = "failures.json"


class RankFailed(Exception):
    """A rank died without reporting an error (a signal, the OOM killer) or lost its peers:
    re-queue the job."""


def device_list(device: str) -> list[str]:
    """``"cuda:0,cuda:1"`` -> ``["cuda:0", "cuda:1"]`` (one entry: a one-device worker)."""
    return [d.strip() for d in device.split(",") if d.strip()]


def check_devices(devices: list[str]) -> None:
    """Several devices are all ``cpu`` (gloo ranks, for tests) or distinct ``cuda:N``."""
    if len(devices) < 2:
        return
    if all(d == "cpu" for d in devices):
        return
    if not all(re.fullmatch(r"cuda:\d+", d) for d in devices) or len(set(devices)) < len(devices):
        raise ValueError(f"--devices {','.join(devices)}: give cpu,cpu,... or distinct cuda:N")


def job_devices(params, devices: list[str]) -> list[str]:
    """The devices a job runs on: those of its ``devices`` parameter, where it has one (a
    JobError naming the field if this worker does not own them), else all the worker's."""
    wanted = getattr(params, "devices", None)
    if not wanted:
        return devices
    if not devices_owned(devices, wanted):
        raise JobError(f"devices: this worker has {','.join(devices)}, not {','.join(wanted)}")
    return wanted


def uses_ranks(kind: str, devices: list[str]) -> bool:
    return kind in MULTI_DEVICE_KINDS and len(devices) > 1


def is_main_process() -> bool:
    """Rank 0 of a launched job, or a job run in one process: the one that writes."""
    return int(os.environ.get("RANK", "0")) == 0


def rank_device(devices: list[str], local_rank: int) -> str:
    """The device of ``local_rank``: ``cuda:<local_rank>`` under the CUDA_VISIBLE_DEVICES that
    ``launch`` set (the worker's own indices, in order), else the listed one (``cpu``)."""
    return f"cuda:{local_rank}" if devices[local_rank].startswith("cuda") else devices[local_rank]


def launch(ctx: JobContext, kind: str, params: dict, devices: list[str]) -> dict | None:
    """Run ``kind`` on ``devices`` (one rank each) and return rank 0's result."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"flowlens-job-{ctx.job_id}-"))
    spec = {
        "lease": dataclasses.asdict(ctx.lease),
        "kind": kind,
        "params": params,
        "settings": ctx.settings.model_dump(),
        "devices": devices,
        "child_pid": os.getpid(),
    }
    (run_dir / "spec.json").write_text(json.dumps(spec))
    env = dict(os.environ)
    if devices[0].startswith("cuda"):
        env["CUDA_VISIBLE_DEVICES"] = ",".join(d.partition(":")[2] or "0" for d in devices)
    command = [
        *(sys.executable, "-m", "worker.distributed", "--standalone"),
        *("--nproc-per-node", str(len(devices)), "-m", "worker.distributed_entry", str(run_dir)),
    ]
    if ctx.lease.attempt > 1:  # keep why the earlier attempt failed (requeue_or_fail logs it)
        with ctx.transaction() as session:
            _add_lines(ctx, (session.get(Job, ctx.job_id).log or "").splitlines())
    ctx.log(f"launching {len(devices)} ranks on {','.join(devices)}")
    with open(run_dir / "torchrun.log", "wb") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(*_args) -> None:  # the runner terminates the child: cancel, lost lease, shutdown
        stop_group(proc)
        os._exit(143)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        proc.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop_group(proc)  # a rank left behind (torchrun itself failed)
    try:
        return outcome(ctx, run_dir, proc.returncode)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM torchrun's process group (it stops its ranks), SIGKILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_GRACE_S
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is not None and sig == signal.SIGTERM:
            return


def outcome(ctx: JobContext, run_dir: Path, returncode: int) -> dict | None:
    """Rank 0's result; or the error of the rank that failed first, as a job error, a lost job,
    or ``RankFailed`` (re-queued) for a rank that died by a signal or without a word, or whose
    communication with its peers failed (``torch.distributed.DistError``) while none raised
    anything else (a peer's error or death comes first: it caused the others')."""
    reports = {
        int(path.stem.split("-")[1]): json.loads(path.read_text())
        for path in run_dir.glob("rank-*.json")
    }
    main = reports.get(0, {})
    for rank, report in sorted(reports.items()):  # rank 0's log, and failed ranks' tracebacks
        told = rank == 0 or "error" in report or "transient" in report
        _add_lines(ctx, report.get("log", []) if told else [])
    if returncode == 0 and "result" in main:
        return main["result"]
    if main.get("lost"):
        raise JobLost(f"job {ctx.job_id} is no longer held by this worker")
    failures = json.loads((run_dir / FAILURES).read_text()) if (run_dir / FAILURES).exists() else []
    for failure in failures:  # a killed rank first: its peers' errors follow from its death
        if failure["signal"] not in (None, "SIGTERM"):
            raise RankFailed(f"rank {failure['rank']} exited with signal {failure['signal']}")
    for rank in [f["rank"] for f in failures] + sorted(reports):
        if "error" in reports.get(rank, {}):
            raise JobError(f"rank {rank}: {reports[rank]['error']}")
    for rank, report in sorted(reports.items()):  # no rank's own error: try again
        if "transient" in report:
            raise RankFailed(f"rank {rank}: {report['transient']}")
    for failure in failures:
        how = f"signal {failure['signal']}" if failure["signal"] else f"code {failure['exitcode']}"
        raise RankFailed(f"rank {failure['rank']} exited with {how}")
    tail = (run_dir / "torchrun.log").read_text(errors="replace")[-2000:]
    ctx.log(f"torchrun output (tail):\n{tail}")
    raise RankFailed(f"torchrun exited with code {returncode} before the ranks reported")


def _add_lines(ctx: JobContext, lines: list[str]) -> None:
    """Lines already stamped (by a rank, or an earlier attempt) into the child's job log."""
    ctx._log.extend(lines)


def requeue_or_fail(ctx: JobContext, error: str) -> None:
    """After ``RankFailed``: back to the queue while attempts remain (it resumes from its
    checkpoint), else failed; the error is in the job's message and log either way."""
    ctx.log(f"attempt {ctx.lease.attempt} failed: {error}")
    try:
        with ctx.transaction() as session:
            job = session.get(Job, ctx.job_id)
            if job.attempts >= job.max_attempts:
                why = f"{error} (attempt {job.attempts} of {job.max_attempts}; giving up)"
                queue.fail(session, ctx.lease, why, ctx.log_text())
                return
            job.status, job.worker_id, job.lease_expires_at = JobStatus.QUEUED, None, None
            job.message = f"re-queued after attempt {job.attempts}: {error}"[:2000]
            job.log = ctx.log_text()[-queue.LOG_TAIL_CHARS :]
    except JobLost:
        return


def main(argv: list[str]) -> int:
    """torchrun, writing ``failures.json`` (rank, exit code, signal; first failure first) in the
    run folder (the entry's one argument) when ranks fail."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    args = parse_args(argv)
    try:
        run(args)
    except ChildFailedError as exc:
        ordered = sorted(exc.failures.items(), key=lambda item: (item[1].timestamp, item[0]))
        failures = [
            {
                "rank": rank,
                "exitcode": f.exitcode,
                "signal": f.signal_name() if f.exitcode < 0 else None,
            }
            for rank, f in ordered
        ]
        (Path(args.training_script_args[-1]) / FAILURES).write_text(json.dumps(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
