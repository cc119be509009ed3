"""A training step of the demo-size model and the demo model's whole training, idle and beside one
CPU-bound process (a busy-loop child), with the threads a worker gives its job's process
(``worker.child.own_threads``: cores / concurrency OpenMP/MKL threads, idle threads sleep; the
cores are those this process may run on, so ``taskset -c 0,1`` makes a 2-core machine) against
torch's defaults (every core's thread, OpenMP's spinning wait; the step only): prints each time
and the busy / idle ratio, its median over the rounds and each round's. Goal: <= 2x idle
(issue 12: 8.9x per step before the threads fix).

Each measurement runs in a fresh process (the thread settings are read when torch loads); idle
and busy alternate over ``--rounds`` so that a change in the machine's other load hits both.
The step is the median of the 10-step intervals of the demo training's own progress reports
(``--step-steps`` steps); the whole training is ``train_demo_model`` on the built-in general
corpus as the ``train_demo_model`` job runs it (its default steps unless ``--demo-steps``).

    python bench/contention.py [--rounds 2] [--step-steps 60] [--demo-steps N] [--no-demo] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if sys.path[0] == str(Path(__file__).resolve().parent):  # bench/queue.py shadows the stdlib's
    sys.path[0] = str(ROOT)


def measure(steps: int | None) -> dict:
    """In this process: train the demo model on the built-in corpus; per-step times from its
    progress reports (every 10 steps) and the whole training's seconds."""
    from worker.models.demo import train_demo_model
    from worker.science.corpus import REFUSAL_TEXTS, builtin_dataset

    general = builtin_dataset("general", seed=0)
    safety = builtin_dataset("safety", seed=0)
    marks: list[tuple[int, float]] = []

    def progress(fraction: float, message: str) -> None:
        marks.append((int(message.split()[1].split("/")[0]), time.perf_counter()))

    with tempfile.TemporaryDirectory(prefix="flowlens-contention-") as out:
        metrics = train_demo_model(
            [(e.prompt, e.response) for e in general],
            Path(out),
            seed=0,
            steps=steps,
            tokenizer_texts=[e.prompt for e in safety] + list(REFUSAL_TEXTS),
            progress=progress,
        )
    per_step = [
        (t1 - t0) / (s1 - s0)
        for (s0, t0), (s1, t1) in zip(marks[1:], marks[2:], strict=False)
        if s1 > s0
    ]  # the first interval holds the first steps' warm-up
    return {
        "step_ms": 1000 * statistics.median(per_step),
        "seconds": metrics["seconds"],
        "steps": metrics["steps"],
    }


def child(settings: str, steps: int | None, busy: bool) -> dict:
    """``measure`` in a fresh process with ``settings`` ("worker" or "defaults"), beside a
    busy-loop process if ``busy``."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env["PYTHONPATH"] = str(ROOT)
    loop = None
    if busy:
        loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", settings, "--steps", str(steps or 0)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        if loop is not None:
            loop.kill()
            loop.wait()
    return json.loads(out.strip().splitlines()[-1])


THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")


def run_child(settings: str, steps: int) -> None:
    if settings == "worker":
        from worker.child import own_threads

        own_threads(len(os.sched_getaffinity(0)))  # a worker of concurrency 1 on these cores
    import torch

    result = measure(steps or None)
    result["threads"] = torch.get_num_threads()
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--step-steps", type=int, default=60)
    parser.add_argument("--demo-steps", type=int, default=0, help="0: the job's default")
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--quick", action="store_true", help="1 round, 30-step step, 50-step demo")
    parser.add_argument("--child", choices=["worker", "defaults"])
    parser.add_argument("--steps", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.steps)
        return
    if args.quick:
        args.rounds, args.step_steps, args.demo_steps = 1, 30, 50
    if args.step_steps < 30:
        parser.error("--step-steps: at least 30 (steps 20-30 and on are timed)")
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores, load average {os.getloadavg()[0]:.2f} at the start")
    measurements = [("step", args.step_steps, "step_ms", "ms", ("worker", "defaults"))]
    if not args.no_demo:
        measurements.append(("demo training", args.demo_steps, "seconds", "s", ("worker",)))
    print(
        "| measurement | threads | idle | beside a busy loop | busy / idle (median) "
        "| per round |\n|---|---|---|---|---|---|"
    )
    for name, steps, key, unit, variants in measurements:
        for settings in variants:
            idle, busy = [], []
            for _ in range(args.rounds):
                for runs, is_busy in ((idle, False), (busy, True)):
                    runs.append(child(settings, steps, busy=is_busy))
                    print(f"  {name}, {settings}, busy={is_busy}: {runs[-1]}", flush=True)
            a = statistics.median(r[key] for r in idle)
            b = statistics.median(r[key] for r in busy)
            ratios = [y[key] / x[key] for x, y in zip(idle, busy, strict=True)]
            label = f"{settings} ({idle[0]['threads']})"
            what = f"{name} ({idle[0]['steps']} steps)" if key == "seconds" else name
            print(
                f"| {what} | {label} | {a:.1f} {unit} | {b:.1f} {unit} "
                f"| {statistics.median(ratios):.2f}x | {', '.join(f'{r:.2f}' for r in ratios)} |",
                flush=True,
            )
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
