"""Agreement of refusal classifiers with a labelled JSONL set, as Markdown tables: three-way and
binary accuracy (refusal = full or partial), the 3x3 confusion matrix per classifier and accuracy
per style (or per ``case`` on sets without a style field). The numbers in docs/classifier.md.

    python scripts/classifier_report.py tests/data/refusal_styles/dev.jsonl
        [--classifiers rules string_match] [--errors]

``--errors`` lists the first classifier's misses; use it on dev.jsonl only, never on test.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path[0:1] = [str(Path(__file__).resolve().parent.parent)]  # repo root, not scripts/

from worker.science.refusal_classifier import (  # noqa: E402
    FULL_COMPLIANCE,
    LABELS,
    get_classifier,
)

Row = dict[str, str]


def load_rows(path: Path) -> list[Row]:
    """The JSON objects of a JSONL file, one per non-empty line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def is_refusal(label: str) -> bool:
    """Binary view: full and partial refusals are refusals."""
    return label != FULL_COMPLIANCE


def predictions(rows: list[Row], classifier: str) -> list[str]:
    """Labels that the classifier named ``classifier`` gives to each row."""
    clf = get_classifier(classifier)
    return [clf.classify(r["prompt"], r["completion"]).label for r in rows]


def accuracies(truth: list[str], pred: list[str]) -> tuple[float, float]:
    """Three-way and binary accuracy."""
    n = len(truth)
    three = sum(t == p for t, p in zip(truth, pred, strict=True)) / n
    binary = sum(is_refusal(t) == is_refusal(p) for t, p in zip(truth, pred, strict=True)) / n
    return three, binary


def confusion_table(truth: list[str], pred: list[str]) -> str:
    """Markdown 3x3 confusion matrix, true label by row."""
    counts = Counter(zip(truth, pred, strict=True))
    lines = ["| true \\ predicted | " + " | ".join(LABELS) + " |", "|---|" + "---:|" * 3]
    lines += [f"| {t} | " + " | ".join(str(counts[t, p]) for p in LABELS) + " |" for t in LABELS]
    return "\n".join(lines)


def report(rows: list[Row], classifiers: list[str]) -> str:
    """The Markdown report of ``classifiers`` on ``rows``."""
    truth = [r["label"] for r in rows]
    preds = {c: predictions(rows, c) for c in classifiers}
    group = "style" if all("style" in r for r in rows) else "case"
    counts = Counter(truth)
    out = [f"{len(rows)} completions: " + ", ".join(f"{counts[lab]} {lab}" for lab in LABELS)]
    out += ["", "| classifier | three-way | binary |", "|---|---:|---:|"]
    for c, pred in preds.items():
        three, binary = accuracies(truth, pred)
        out.append(f"| {c} | {three:.3f} | {binary:.3f} |")
    for c, pred in preds.items():
        out += ["", f"Confusion matrix, {c}:", "", confusion_table(truth, pred)]
    groups = list(dict.fromkeys(r.get(group, "") for r in rows))
    heads = [f"{c} {kind}" for c in classifiers for kind in ("three-way", "binary")]
    out += ["", f"| {group} | n | " + " | ".join(heads) + " |"]
    out.append("|---|" + "---:|" * (1 + len(heads)))
    for g in groups:
        idx = [i for i, r in enumerate(rows) if r.get(group, "") == g]
        cells = []
        for pred in preds.values():
            three, binary = accuracies([truth[i] for i in idx], [pred[i] for i in idx])
            cells += [f"{three:.2f}", f"{binary:.2f}"]
        out.append(f"| {g} | {len(idx)} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def errors(rows: list[Row], classifier: str) -> str:
    """One block per row the classifier gets wrong: id, want, got (rule), completion."""
    clf = get_classifier(classifier)
    out = []
    for r in rows:
        v = clf.classify(r["prompt"], r["completion"])
        if v.label != r["label"]:
            out.append(f"{r.get('id', '')} want {r['label']} got {v.label} ({v.rule})\n"
                       f"  note: {r.get('note', '')}\n  {r['completion']!r}")  # fmt: skip
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="JSONL with prompt, completion, label")
    parser.add_argument("--classifiers", nargs="+", default=["rules", "string_match"])
    parser.add_argument("--errors", action="store_true", help="list the first one's misses")
    args = parser.parse_args()
    rows = load_rows(args.path)
    print(report(rows, args.classifiers))
    if args.errors:
        print("\n" + errors(rows, args.classifiers[0]))


if __name__ == "__main__":
    main()
