"""Benchmark the cost of the VCL term in a training step (print-only, no assertions).

For each model (demo size: 4 layers x 128; a larger random Llama: 8 layers x 512), time a full
step (forward through the TransformerBridge + backward + AdamW) on a batch of 32 sequences of 48
tokens: without VCL (baseline), with VCL measure="topk" and with
measure="inverse_participation_ratio" (window 0.3-0.5, position "last_prompt", k=4), interleaved
in the same run. Goal: <= 1.15x.

Usage: python bench/train_step.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a script: import from the repository root, not bench/ (its modules shadow the stdlib's).
sys.path[0:1] = [str(Path(__file__).resolve().parents[1])]

import torch  # noqa: E402

from worker.models.demo import build_model, train_tokenizer  # noqa: E402
from worker.models.loading import LoadedModel, load_model  # noqa: E402
from worker.science.vcl import capture_residuals, sft_loss, vcl_term, vcl_window  # noqa: E402

TEXTS = [f"example sentence number {i} about topic {i % 7} and thing {i % 11}" for i in range(200)]


def random_model(tmp: Path, n_layers: int, d_model: int) -> LoadedModel:
    torch.manual_seed(0)
    tok = train_tokenizer(TEXTS, vocab_size=1000)
    model = build_model(tok, n_layers=n_layers, d_model=d_model)
    out = tmp / f"llama-{n_layers}x{d_model}"
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return load_model(str(out))


def batch(model: LoadedModel, size: int, seq: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(10, int(model.bridge.cfg.d_vocab), (size, seq), generator=gen)
    labels = ids.clone()
    labels[:, : seq // 2] = -100
    return {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "labels": labels,
        "last": torch.full((size,), seq // 2 - 1),
    }


def make_step(model: LoadedModel, b: dict[str, torch.Tensor], measure: str | None):
    bridge = model.bridge
    opt = torch.optim.AdamW(bridge.original_model.parameters(), lr=1e-4)
    layers = vcl_window(model.n_layers)

    def step() -> None:
        if measure is None:
            logits = bridge(b["input_ids"], attention_mask=b["attention_mask"])
            loss = sft_loss(logits, b["labels"])
        else:
            with capture_residuals(bridge, layers, index=b["last"]) as resid:
                logits = bridge(b["input_ids"], attention_mask=b["attention_mask"])
            term, _ = vcl_term(resid, 4, measure)
            loss = sft_loss(logits, b["labels"]) + 0.1 * term
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def bench_model(model: LoadedModel, name: str, rounds: int, per_round: int) -> None:
    model.bridge.train()
    b = batch(model, 32, 48)
    variants = {
        "no VCL": None,
        "VCL topk": "topk",
        "VCL inverse_participation_ratio": "inverse_participation_ratio",
    }
    steps = {label: make_step(model, b, m) for label, m in variants.items()}
    for fn in steps.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {label: [] for label in steps}
    for _ in range(rounds):  # interleaved so that drift hits all variants alike
        for label, fn in steps.items():
            start = time.perf_counter()
            for _ in range(per_round):
                fn()
            times[label].append((time.perf_counter() - start) / per_round)
    base = statistics.median(times["no VCL"])
    print(f"\n{name} (window {vcl_window(model.n_layers)}, batch 32 x 48 tokens)")
    print(f"{'variant':<34}{'ms/step':>10}{'ratio':>8}")
    for label, ts in times.items():
        med = statistics.median(ts)
        print(f"{label:<34}{med * 1e3:>10.1f}{med / base:>7.3f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few steps (a smoke run)")
    args = parser.parse_args()
    rounds, per_round = (2, 2) if args.quick else (5, 4)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; goal: ratio <= 1.15x")
    with tempfile.TemporaryDirectory() as tmp:
        for n_layers, d_model in ((4, 128), (8, 512)):
            model = random_model(Path(tmp), n_layers, d_model)
            bench_model(model, f"Llama {n_layers} layers x {d_model}", rounds, per_round)


if __name__ == "__main__":
    main()
