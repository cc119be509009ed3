"""The measurements quoted in docs/corpus.md: diversity of the built-in datasets, phrasing
leakage between general and safety, probe frames in training, trigger words and safety-only
words. Markdown on stdout (or into a file with --out).

    python scripts/corpus_report.py [--seed 0] [--out report.md]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

sys.path[0:1] = [str(Path(__file__).resolve().parent.parent)]  # repo root, not scripts/

from worker.science.corpus import (  # noqa: E402
    BUILTIN_DATASETS,
    PHRASINGS,
    PROBE_FRAMES,
    TRIGGER_WORDS,
    builtin_dataset,
    phrasing_of,
    trigger_words_in,
)
from worker.science.diversity import corpus_diversity, word_tokens  # noqa: E402


def corpus_report(seed: int = 0) -> str:
    """Markdown tables and lines of the measurements quoted in docs/corpus.md."""
    data = {n: builtin_dataset(n, seed) for n in BUILTIN_DATASETS}
    keys = ("H1", "H2", "H3", "distinct_1", "distinct_2", "MSTTR_50", "n_texts", "n_tokens",
            "mean_length", "median_length", "max_length")  # fmt: skip
    rows = []
    for name, d in data.items():
        fields = ("prompt",) if name == "probe" else ("prompt", "response")
        for fld in fields:
            rows.append((f"{name} {fld}s", corpus_diversity([getattr(e, fld) for e in d])))
    sub = random.Random(f"report:{seed}").sample(data["general"], len(data["safety"]))
    rows.append(
        ("general responses, safety-size sample", corpus_diversity([e.response for e in sub]))
    )
    rows.append(("general prompts, safety-size sample", corpus_diversity([e.prompt for e in sub])))
    lines = ["| corpus | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 1)]
    for label, r in rows:
        cells = [f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]) for k in keys]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    cg = Counter(phrasing_of(e.prompt) for e in data["general"])
    cs = Counter(phrasing_of(e.prompt) for e in data["safety"])
    lines += ["", "| phrasing | general (harmless) | safety (harmful) | harmful share |",
              "|---|---|---|---|"]  # fmt: skip
    for p in PHRASINGS:
        lines.append(f"| `{p}` | {cg[p]} | {cs[p]} | {cs[p] / (cs[p] + cg[p]):.3f} |")
    train = [e.prompt.lower() for n in ("general", "general_heldout", "safety") for e in data[n]]
    hits = sum(any(f.split("{x}")[0].lower() in t for t in train) for f in PROBE_FRAMES)
    lines.append(f"\nprobe frames whose fixed prefix occurs in a training prompt: {hits} of "
                 f"{len(PROBE_FRAMES)}")  # fmt: skip
    trig = Counter(lem for e in data["safety"] for lem in trigger_words_in(e.prompt))
    lines.append("safety trigger lemmas: " + ", ".join(f"{k} {v}" for k, v in trig.most_common()))
    gen_trig = sum(bool(trigger_words_in(e.prompt + " " + e.response))
                   for n in ("general", "general_heldout") for e in data[n])  # fmt: skip
    lines.append(f"general / general_heldout examples with a trigger word: {gen_trig}")
    gen_vocab = {t for e in data["general"] for t in word_tokens(e.prompt)}
    only = Counter(
        t
        for e in data["safety"]
        for t in word_tokens(e.prompt)
        if t not in gen_vocab and t not in TRIGGER_WORDS
    )
    n_only = sum(any(t in only for t in word_tokens(e.prompt)) for e in data["safety"])
    lines.append(
        f"safety prompts with a non-trigger word absent from general prompts: {n_only} of "
        f"{len(data['safety'])} ({', '.join(f'{k} {v}' for k, v in only.most_common())})"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--out", type=Path, help="write the report here instead of stdout")
    args = parser.parse_args(argv)
    report = corpus_report(args.seed)
    if args.out is None:
        print(report)
    else:
        args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
