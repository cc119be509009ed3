"""Benchmark batched greedy generation and the refusal score (print-only, no assertions).

On a random demo-size Llama (4 layers x 128): completions/s of ``generate`` with batch_size=16
versus one prompt at a time, and prompts/s of ``refusal_score`` (one forward, no generation)
versus batched generation, measured in the same run. Interventions (worker/science/
interventions.py): batched generation under an ablation of a direction at every layer and under
an addition at one layer, against plain batched generation of the same prompts (goal <= 1.10x),
best of three runs each. Random weights rarely emit the end token,
so every completion runs to max_new_tokens: a worst case for generation.

Usage: python bench/generate.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# Run as a script: import from the repository root, not bench/ (its modules shadow the stdlib's).
sys.path[0:1] = [str(Path(__file__).resolve().parents[1])]

import torch  # noqa: E402

from worker.models.demo import build_model, train_tokenizer  # noqa: E402
from worker.models.loading import load_model  # noqa: E402
from worker.science.generation import generate, refusal_score, refusal_start_ids  # noqa: E402
from worker.science.interventions import Intervention, applied  # noqa: E402

WORDS = "how do i kill a python process what is the capital of france tell me about".split()


def prompts(n: int) -> list[str]:
    return [" ".join(WORDS[(i * 3 + j) % len(WORDS)] for j in range(4 + i % 9)) for i in range(n)]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best_of_three(fn) -> float:
    return min(timed(fn) for _ in range(3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few prompts (a smoke run)")
    args = parser.parse_args()
    n, new = (16, 16) if args.quick else (64, 48)
    texts = prompts(n)
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        tok = train_tokenizer(texts + ["I'm sorry, I can't. Sorry."], vocab_size=600)
        build_model(tok, n_layers=4, d_model=128).save_pretrained(tmp)
        tok.save_pretrained(tmp)
        model = load_model(tmp)
        r_ids = refusal_start_ids(model.tokenizer, ["I'm sorry", "I can't", "Sorry"])
        generate(model, texts[:2], max_new_tokens=2)  # warm-up
        t_batch = timed(lambda: generate(model, texts, max_new_tokens=new, batch_size=16))
        t_one = timed(lambda: [generate(model, [p], max_new_tokens=new) for p in texts])
        t_score = timed(lambda: refusal_score(model, texts, r_ids, batch_size=32))
        direction = torch.nn.functional.normalize(torch.randn(128), dim=0).numpy()
        under = {
            "ablate (every layer)": Intervention("ablate", direction, layer=1),
            "add (layer 1)": Intervention("add", direction, layer=1, alpha=1.0, mean_norm=4.0),
        }

        def batched(intervention=None):
            with applied(model, intervention):
                generate(model, texts, max_new_tokens=new, batch_size=16)

        t_plain = best_of_three(batched)
        t_under = {label: best_of_three(lambda i=i: batched(i)) for label, i in under.items()}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; random Llama 4 x 128")
    print(f"{n} prompts, max_new_tokens={new}")
    print(f"{'method':<34}{'items/s':>10}{'ratio':>9}")
    rows = [
        ("generate, one prompt at a time", n / t_one, 1.0),
        ("generate, batch_size=16", n / t_batch, t_one / t_batch),
        ("refusal_score, batch_size=32", n / t_score, t_one / t_score),
    ]
    for label, rate, ratio in rows:
        print(f"{label:<34}{rate:>10.1f}{ratio:>8.1f}x")
    print(f"refusal_score vs batched generation: {t_batch / t_score:.1f}x faster")
    print("generation under an intervention vs without (best of 3, goal <= 1.10x):")
    for label, t in t_under.items():
        print(f"  {label:<24}{t / t_plain:>6.2f}x  ({t:.2f} s vs {t_plain:.2f} s)")


if __name__ == "__main__":
    main()
