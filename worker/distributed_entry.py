"""One rank of a job launched by ``worker.distributed.launch``.

torchrun runs ``python -m worker.distributed_entry RUN_DIR`` once per device; each rank runs
the job function with its own device and writes ``rank-<RANK>.json`` (the result, the error,
a failure of the ranks' communication, or that the job was lost; rank 0 adds its log). A rank
exits by itself when the worker's child that launched it is gone, so no rank outlives a killed
child.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

from torch.distributed import DistError

from backend import queue
from backend.config import Settings
from backend.jobs.kinds import get_kind
from worker.child import exit_when_gone, job_function
from worker.context import JobContext, JobError, JobLost
from worker.distributed import rank_device


def run_rank(run_dir: Path) -> int:
    spec = json.loads((run_dir / "spec.json").read_text())
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    exit_when_gone(spec["child_pid"])
    device = rank_device(spec["devices"], local_rank)
    settings = Settings(**spec["settings"]).model_copy(update={"device": device})
    ctx = JobContext(queue.Lease(**spec["lease"]), settings)
    kind = get_kind(spec["kind"])
    report: dict = {}
    try:
        report["result"] = job_function(kind)(ctx, kind.params.model_validate(spec["params"]))
    except JobLost:
        report["lost"] = True
    except JobError as exc:
        report["error"] = str(exc)
    except DistError as exc:  # the ranks lost each other (a peer died, a connection dropped)
        ctx.log(f"rank {rank}: {traceback.format_exc()}")
        report["transient"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:500]}"
    except Exception as exc:  # the job's bug or bad input, as in a one-process job
        ctx.log(f"rank {rank}: {traceback.format_exc()}")
        report["error"] = f"{type(exc).__name__}: {exc}"
    if rank == 0 or "error" in report or "transient" in report:
        report["log"] = ctx.log_text().splitlines()
    part = run_dir / f".rank-{rank}.json"
    part.write_text(json.dumps(report))
    part.rename(run_dir / f"rank-{rank}.json")  # whole or absent
    return 1 if "error" in report or "transient" in report else 0


if __name__ == "__main__":
    sys.exit(run_rank(Path(sys.argv[1])))
