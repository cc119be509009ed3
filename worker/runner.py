"""The worker: claims jobs, runs each in a fresh child process, heartbeats, reaps lost leases.

One loop, one thread: every poll it checks its children (exit codes), whether their jobs were
cancelled (then terminates them), heartbeats when due, and claims work for free slots.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess

from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from backend import queue
from backend.config import Settings
from backend.db import session_scope, write_session
from backend.gc import clean_job
from backend.jobs.kinds import KINDS
from backend.models import Job, JobStatus, Worker, utcnow
from worker.child import DB_RETRY_S, run_job
from worker.distributed import check_devices, device_list

TERMINATE_GRACE_S = 5.0


@dataclass
class Slot:
    lease: queue.Lease
    kind: str
    process: BaseProcess
    bar: object | None = None


@dataclass
class WorkerOptions:
    concurrency: int = 1
    kinds: list[str] | None = None  # None: every registered kind
    show_progress: bool = field(default_factory=lambda: sys.stderr.isatty())


def describe_exit(exitcode: int | None) -> str:
    """A user-facing reason for a child that died without recording a result."""
    if exitcode is None:
        return "job process did not exit"
    if exitcode < 0:
        name = signal.Signals(-exitcode).name
        hints = {
            "SIGSEGV": " (segmentation fault)",
            "SIGKILL": " (killed: out of memory, or by the system)",
            "SIGABRT": " (aborted)",
        }
        return f"job process died with {name}{hints.get(name, '')}"
    return f"job process exited with code {exitcode} without reporting a result"


# Imported once by the worker's fork server, so that each job's process starts in a fraction
# of a second instead of importing torch, transformers and TransformerLens again (~4-8 s)
PRELOAD = ("worker.child", "worker.jobs.common", "worker.science.trainer")
# Kinds that load no model: a worker serving only these (``--kinds echo,dataset_stats``)
# preloads their modules alone and starts in a few seconds less
MODEL_FREE_KINDS = frozenset({"echo", "register_builtin", "dataset_stats", "import_hub_dataset"})


def preload(kinds: list[str] | None) -> list[str]:
    """What the fork server of a worker serving ``kinds`` (None: all) imports."""
    if not kinds or not set(kinds) <= MODEL_FREE_KINDS:
        return list(PRELOAD)
    return ["worker.child", *sorted({KINDS[k].function.partition(":")[0] for k in kinds})]


class WorkerLoop:
    def __init__(self, settings: Settings, options: WorkerOptions) -> None:
        unknown = sorted(set(options.kinds or ()) - set(KINDS))
        if unknown:
            raise ValueError(f"--kinds: unknown job kind(s) {unknown}; known: {sorted(KINDS)}")
        check_devices(device_list(settings.device))
        threads = settings.threads_per_job or max(1, (os.cpu_count() or 1) // options.concurrency)
        self.settings = settings.model_copy(update={"threads_per_job": threads})
        self.options = options
        self.id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.slots: dict[int, Slot] = {}
        self.stopping = False
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before the fork server loads torch
        self._mp = multiprocessing.get_context("forkserver")
        self._mp.set_forkserver_preload(preload(options.kinds))
        self._forks_ready = False
        self._last_beat = 0.0

    # -- lifecycle --------------------------------------------------------------------------
    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        self._register()
        self._say(
            f"worker {self.id}: device={self.settings.device} "
            f"concurrency={self.options.concurrency} kinds={self.options.kinds or 'all'} "
            f"threads/job={self.settings.threads_per_job}"
        )
        try:
            while not self.stopping:
                try:
                    self.tick()
                except OperationalError as exc:  # database restarting or unreachable: retry
                    self._say(f"database unavailable ({str(exc).splitlines()[0]}); retrying")
                    time.sleep(DB_RETRY_S)
                time.sleep(self.settings.poll_seconds)
        finally:
            self._shutdown()

    def _request_stop(self, *_args) -> None:
        self.stopping = True

    def tick(self) -> None:
        """One pass of the loop (public so tests can drive a worker step by step)."""
        self._collect_finished()
        self._stop_lost_jobs()
        if time.monotonic() - self._last_beat >= self.settings.heartbeat_seconds:
            self._heartbeat()
        while not self.stopping and len(self.slots) < self.options.concurrency:
            if not self._claim_one():
                break

    # -- steps ------------------------------------------------------------------------------
    def _claim_one(self) -> bool:
        if not self._forks_ready:  # the fork server's first start imports preload() (seconds):
            warm_up = self._mp.Process(target=time.sleep, args=(0,))  # not while holding a lease
            warm_up.start()
            warm_up.join()
            self._forks_ready = True
        with write_session(self.settings.database_url) as session:
            lease = queue.claim(
                session,
                self.id,
                kinds=self.options.kinds,
                lease_seconds=self.settings.lease_seconds,
                devices=device_list(self.settings.device),
            )
            if lease is None:
                return False
            job = session.get(Job, lease.job_id)
            kind, params = job.kind, dict(job.params)
        process = self._mp.Process(
            target=run_job,
            args=(lease, kind, params, self.settings),
            name=f"flowlens-job-{lease.job_id}",
        )
        process.start()
        self.slots[lease.job_id] = Slot(lease, kind, process, self._new_bar(lease, kind))
        self._say(f"started job {lease.job_id} ({kind}, attempt {lease.attempt})")
        return True

    def _collect_finished(self) -> None:
        for job_id, slot in list(self.slots.items()):
            if slot.process.is_alive():
                continue
            slot.process.join()
            exitcode = slot.process.exitcode
            outcome = f"process ended (exit code {exitcode})"
            if exitcode is not None and exitcode < 0:  # killed: retried like a lost worker
                with write_session(self.settings.database_url) as session:
                    status = queue.retry_or_fail(session, slot.lease, describe_exit(exitcode))
                outcome = f"{describe_exit(exitcode)}; {status or 'no longer held'}"
                if status == JobStatus.FAILED:
                    self._clean(job_id)
            elif exitcode != 0:
                with write_session(self.settings.database_url) as session:
                    failed = queue.fail(session, slot.lease, describe_exit(exitcode))
                if failed:
                    self._clean(job_id)
            self._drop(job_id, f"job {job_id} {outcome}")

    def _stop_lost_jobs(self) -> None:
        if not self.slots:
            return
        with session_scope(self.settings.database_url) as session:
            states = queue.lease_states(session, [s.lease for s in self.slots.values()])
        for job_id, state in states.items():
            slot = self.slots[job_id]
            if state.held:
                if slot.bar is not None:
                    slot.bar.n = round(state.progress * 1000)
                    slot.bar.set_postfix_str(state.message[-40:], refresh=True)
                continue
            if state.mine and state.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                slot.process.join(TERMINATE_GRACE_S)  # it recorded its result: let it exit
                if slot.process.is_alive():
                    self._terminate(slot)
                self._drop(job_id, f"job {job_id} {state.status}")
                continue
            self._terminate(slot)
            cancelled = state.mine and state.status == JobStatus.CANCELLED
            if cancelled:
                self._clean(job_id)
            why = "cancelled" if cancelled else "reassigned"
            self._drop(job_id, f"job {job_id} {why}: process stopped")

    def _heartbeat(self) -> None:
        with write_session(self.settings.database_url) as session:
            queue.heartbeat(
                session, [s.lease for s in self.slots.values()], self.settings.lease_seconds
            )
            session.execute(
                update(Worker).where(Worker.id == self.id).values(heartbeat_at=utcnow())
            )
        with write_session(self.settings.database_url) as session:
            for job_id in queue.reap_expired(session):
                self._say(f"job {job_id}: lease expired, re-queued or failed")
        self._last_beat = time.monotonic()

    # -- helpers ----------------------------------------------------------------------------
    def _clean(self, job_id: int) -> None:
        """A job that ended without its process recording it: its leftovers (backend/gc.py)."""
        try:
            removed = clean_job(self.settings.database_url, self.settings.artifact_root, job_id)
        except OSError as exc:
            self._say(f"job {job_id}: leftovers not removed ({exc})")
            return
        for item in removed:
            self._say(f"job {job_id}: removed {item.key} ({item.why})")

    def _terminate(self, slot: Slot) -> None:
        slot.process.terminate()
        slot.process.join(TERMINATE_GRACE_S)
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join()

    def _drop(self, job_id: int, message: str) -> None:
        slot = self.slots.pop(job_id)
        if slot.bar is not None:
            slot.bar.close()
        self._say(message)

    def _register(self) -> None:
        with write_session(self.settings.database_url) as session:
            session.add(
                Worker(
                    id=self.id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    device=self.settings.device,
                    kinds=self.options.kinds,
                    concurrency=self.options.concurrency,
                )
            )

    def _shutdown(self) -> None:
        """Stop children and give their jobs back to the queue without spending attempts."""
        for job_id, slot in list(self.slots.items()):
            self._terminate(slot)
            with write_session(self.settings.database_url) as session:
                queue.release(session, slot.lease)
            self._drop(job_id, f"job {job_id} released to the queue")
        with write_session(self.settings.database_url) as session:
            session.execute(update(Worker).where(Worker.id == self.id).values(stopped_at=utcnow()))
        self._say(f"worker {self.id} stopped")

    def _new_bar(self, lease: queue.Lease, kind: str):
        if not self.options.show_progress:
            return None
        from tqdm import tqdm

        return tqdm(total=1000, desc=f"job {lease.job_id} {kind}", leave=False, unit="‰")

    def _say(self, message: str) -> None:
        if self.options.show_progress:
            from tqdm import tqdm

            tqdm.write(message)
        else:
            print(message, flush=True)
