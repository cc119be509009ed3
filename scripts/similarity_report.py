"""The word n-gram overlaps quoted in docs/science.md ("Data similarity"): every pair of the
built-in datasets' prompts, and the probe set's safe and unsafe halves against the safety data.
Markdown on stdout.

    python scripts/similarity_report.py [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from itertools import combinations
from pathlib import Path

sys.path[0:1] = [str(Path(__file__).resolve().parent.parent)]  # repo root, not scripts/

from backend.ngram_overlap import NS, ngram_overlap  # noqa: E402
from worker.science.corpus import BUILTIN_DATASETS, builtin_dataset  # noqa: E402


def similarity_report(seed: int = 0) -> str:
    prompts = {
        name: [e.prompt for e in builtin_dataset(name, seed=seed)] for name in BUILTIN_DATASETS
    }
    probe = builtin_dataset("probe", seed=seed)
    prompts["probe (safe)"] = [e.prompt for e in probe if e.label == "safe"]
    prompts["probe (unsafe)"] = [e.prompt for e in probe if e.label == "unsafe"]
    pairs = list(combinations(BUILTIN_DATASETS, 2))
    pairs += [("safety", "probe (safe)"), ("safety", "probe (unsafe)")]
    lines = [
        f"| A | B | {' | '.join(f'{n}-gram' for n in NS)} |",
        "|---|---|" + "---|" * len(NS),
    ]
    for a, b in pairs:
        overlap = ngram_overlap(prompts[a], prompts[b])
        lines.append(f"| {a} | {b} | {' | '.join(f'{overlap[str(n)]:.3f}' for n in NS)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    print(similarity_report(parser.parse_args().seed))
