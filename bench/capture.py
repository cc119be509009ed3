"""Capture throughput: prompts/s of FlowLens capture at last_prompt (TransformerBridge hooks,
batched, stop after the last needed layer) against a plain Hugging Face forward with
``output_hidden_states=True`` on the same batches, measured in the same run. Two models:
the demo size (4 layers x 128) and a larger random one (8 layers x 512).

    python bench/capture.py [--prompts 512] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path[0:1] = [str(Path(__file__).resolve().parent.parent)]  # repo root, not bench/

import torch  # noqa: E402

from worker.models.demo import build_model, train_tokenizer  # noqa: E402
from worker.models.loading import load_model  # noqa: E402
from worker.science.capture import capture_last_prompt, chat_prompt_ids  # noqa: E402
from worker.science.corpus import builtin_dataset  # noqa: E402

BATCH = 32


def make_model(root: Path, n_layers: int, d_model: int, texts: list[str]) -> Path:
    torch.manual_seed(0)
    tokenizer = train_tokenizer(texts, vocab_size=2000)
    model = build_model(tokenizer, n_layers=n_layers, d_model=d_model)
    out = root / f"m{n_layers}x{d_model}"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def plain_forward(path: Path, prompts: list[str]) -> float:
    """Seconds for the HF baseline: same tokens, right padding, all hidden states."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    ids = chat_prompt_ids(tokenizer, prompts, True)
    start = time.perf_counter()
    with torch.inference_mode():
        for b in range(0, len(ids), BATCH):
            chunk = ids[b : b + BATCH]
            width = max(map(len, chunk))
            x = torch.full((len(chunk), width), tokenizer.pad_token_id)
            mask = torch.zeros_like(x)
            for row, seq in enumerate(chunk):
                x[row, : len(seq)] = torch.tensor(seq)
                mask[row, : len(seq)] = 1
            out = model.model(input_ids=x, attention_mask=mask, output_hidden_states=True)
            last = mask.sum(1) - 1
            torch.stack([h[torch.arange(len(chunk)), last] for h in out.hidden_states[1:]], 1)
    return time.perf_counter() - start


def flowlens_capture(path: Path, prompts: list[str]) -> float:
    model = load_model(str(path))
    start = time.perf_counter()
    capture_last_prompt(model, prompts, batch_size=BATCH)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=512)
    parser.add_argument("--quick", action="store_true", help="128 prompts")
    args = parser.parse_args()
    n = 128 if args.quick else args.prompts
    prompts = [e.prompt for e in builtin_dataset("general")][:n]
    texts = prompts + [e.prompt for e in builtin_dataset("safety")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n_layers, d_model in ((4, 128), (8, 512)):
            path = make_model(Path(tmp), n_layers, d_model, texts)
            flowlens_capture(path, prompts[:BATCH])  # warm-up
            ours, base = flowlens_capture(path, prompts), plain_forward(path, prompts)
            rows.append((f"{n_layers} x {d_model}", n / ours, n / base, ours / base))
    print(
        f"\ncapture at last_prompt, {n} prompts, batch {BATCH}, {torch.get_num_threads()} threads"
    )
    print(f"{'model':<10}{'FlowLens':>14}{'HF forward':>14}{'time ratio':>12}")
    for name, ours, base, ratio in rows:
        print(f"{name:<10}{ours:>10.1f} p/s{base:>10.1f} p/s{ratio:>11.2f}x")
    print("(time ratio = FlowLens / plain forward; goal <= 1.3)")


if __name__ == "__main__":
    main()
