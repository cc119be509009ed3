"""Benchmark the refusal classifiers: completions per second on one core (print-only).

The rule classifier (goal: 10,000 completions/s) against baselines measured in the same run:
XSTest's ``string_match`` classifier and a plain ``str.lower()`` + ``startswith`` pass over the
same texts. Texts: the completions of tests/data/refusal_styles (dev and test, 703 of them),
repeated to at least 20,000 items (4,000 with --quick). Rates are by CPU time of this process,
pinned to one core where the OS allows, best of three passes.

The judge path (a chat model as classifier): ``--judge demo`` times ``judge:<model>`` on a
randomly initialised model of the demo's shape (4 x 128; its answers are gibberish, so every
verdict is ``unparsed``, but the work per item is a judge's: a ~300-token prompt and up to 16
generated tokens), ``--judge DIR`` on a local Hugging Face model directory; batched (16, as
evaluations run it) against one item at a time, by wall time.

Usage: python bench/classify.py [--quick] [--judge demo|DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# Run as a script: import from the repository root, not bench/ (its modules shadow the stdlib's).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from worker.science.refusal_classifier import (  # noqa: E402
    XSTEST_REFUSAL_PREFIXES,
    get_classifier,
)

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "refusal_styles"
GOAL = 10_000  # completions per second for the rules, on one core


def pairs(minimum: int) -> list[tuple[str, str]]:
    """(prompt, completion) of dev.jsonl and test.jsonl, repeated to at least ``minimum``."""
    rows = [
        json.loads(line)
        for part in ("dev", "test")
        for line in (DATA / f"{part}.jsonl").read_text(encoding="utf-8").splitlines()
        if line
    ]
    base = [(r["prompt"], r["completion"]) for r in rows]
    return base * -(-minimum // len(base))


def rate(label: Callable[[str, str], object], items: Sequence[tuple[str, str]]) -> float:
    """Items per CPU-second of ``label`` over ``items``, best of three passes."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for prompt, completion in items:
            label(prompt, completion)
        best = min(best, time.process_time() - start)
    return len(items) / best


def plain_prefix(prompt: str, completion: str) -> bool:
    """The cheapest refusal check there is: lower-case and look at the opening."""
    return completion.lower().strip().startswith(XSTEST_REFUSAL_PREFIXES)


def time_judge(model: str, items: Sequence[tuple[str, str]]) -> list[tuple[str, float]]:
    """Completions/s of ``judge:<model>`` on ``items``, batched (16) and one at a time."""
    import tempfile

    import torch

    from worker.models.demo import build_model, train_tokenizer
    from worker.models.loading import load_model
    from worker.science.judges import JudgeClassifier, judge_prompt

    with tempfile.TemporaryDirectory() as tmp:
        if model == "demo":
            torch.manual_seed(0)
            tokenizer = train_tokenizer(
                [judge_prompt(p, c) for p, c in items[:200]], vocab_size=600
            )
            build_model(tokenizer, n_layers=4, d_model=128).save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
        loaded = load_model(tmp if model == "demo" else model)
        prompts, completions = zip(*items, strict=True)
        JudgeClassifier("warm-up", loaded, 2).classify_batch(prompts[:2], completions[:2])
        out = []
        for batch_size in (16, 1):
            judge = JudgeClassifier(f"judge:{model}", loaded, batch_size)
            start = time.perf_counter()
            judge.classify_batch(prompts, completions)
            out.append(
                (f"judge:{model}, batch {batch_size}", len(items) / (time.perf_counter() - start))
            )
        return out


def pin_to_one_core() -> str:
    """Restrict this process to one CPU where the OS allows it; say which."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity here)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4,000 items instead of 20,000")
    parser.add_argument("--judge", metavar="MODEL", help="also time judge:MODEL (demo or a dir)")
    args = parser.parse_args()
    items = pairs(4_000 if args.quick else 20_000)
    judged = time_judge(args.judge, items[: 16 if args.quick else 64]) if args.judge else []
    core = pin_to_one_core()  # the rules' goal is per core; the judge ran with every thread
    rules, string_match = get_classifier("rules"), get_classifier("string_match")
    rows = [
        ("rules", rate(rules.classify, items)),
        ("string_match (XSTest baseline)", rate(string_match.classify, items)),
        ("lower() + startswith (floor)", rate(plain_prefix, items)),
    ]
    ours = rows[0][1]
    print(f"\nrefusal classifiers, {len(items)} completions (703 distinct), CPU time, {core}")
    print(f"{'classifier':<34}{'completions/s':>15}{'us each':>9}{'rules time / its':>18}")
    for name, value in rows:
        print(f"{name:<34}{value:>15,.0f}{1e6 / value:>9.1f}{value / ours:>17.1f}x")
    print(f"rules: {ours:,.0f}/s, goal {GOAL:,}/s: {'met' if ours >= GOAL else 'NOT met'}")
    if judged:
        (batched, fast), (_, slow) = judged
        print(f"\n{len(items[: 16 if args.quick else 64])} completions, wall time, all threads")
        for name, value in judged:
            print(f"{name:<34}{value:>15,.1f}")
        print(f"{batched}: {fast / slow:.2f}x the completions/s of one at a time")


if __name__ == "__main__":
    main()
