"""Benchmark a fine-tuning step at a real shape (print-only, no assertions).

A randomly initialised model shaped like Qwen2.5-0.5B (24 layers, d 896, GQA 14/2, vocab
151,936, intermediate 4864, tied embeddings), batch 4 x 128 tokens, CPU, float32. Interleaved in
one run, per optimiser step (median): a plain Hugging Face step (forward with labels, backward,
AdamW, on the model without the bridge), our ``VCLTrainer`` step (``trainer_arguments``, the
settings of ``finetune``) with VCL off (lambda 0: the concentrations are still computed for
the curves) and on (lambda 1, window 0.3-0.5, k 2, as a batch of 4 needs k + 1 < 4), and a
LoRA step (rank 8 on q/k/v/o). Peak memory of a full
and a LoRA fine-tune: each in a child process, the peak RSS of 2 steps (VmHWM, reset after
loading) minus the RSS after loading. Goals: trainer / plain <= 1.05x,
VCL on / off <= 1.10x.

Usage: python bench/train_step.py [--quick]   (--quick: 4 layers x 256, vocab 32,000)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as a script: import from the repository root, not bench/ (its modules shadow the stdlib's).
sys.path[0:1] = [str(Path(__file__).resolve().parents[1])]

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, Qwen2Config, TrainerCallback  # noqa: E402

from worker.models.demo import train_tokenizer  # noqa: E402
from worker.models.loading import load_model  # noqa: E402
from worker.science.lora import add_lora  # noqa: E402
from worker.science.trainer import (  # noqa: E402
    StepTotals,
    VCLConfig,
    VCLTrainer,
    trainer_arguments,
)
from worker.science.vcl import vcl_window  # noqa: E402

QWEN05 = {"num_hidden_layers": 24, "hidden_size": 896, "num_attention_heads": 14,
          "num_key_value_heads": 2, "vocab_size": 151_936, "intermediate_size": 4864}  # fmt: skip
QUICK = {**QWEN05, "num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 4,
         "vocab_size": 32_000, "intermediate_size": 1024}  # fmt: skip
BATCH, SEQ = 4, 128


def build(out: Path, shape: dict) -> Path:
    torch.manual_seed(0)
    texts = [f"example {i} about topic {i % 7} and thing {i % 11}" for i in range(200)]
    train_tokenizer(texts, vocab_size=1000).save_pretrained(out)
    config = Qwen2Config(**shape, tie_word_embeddings=True, max_position_embeddings=512)
    AutoModelForCausalLM.from_config(config).save_pretrained(out)
    return out


def examples(vocab: int) -> list[dict]:
    gen = torch.Generator().manual_seed(0)
    rows = []
    for _ in range(BATCH * 64):
        ids = torch.randint(10, vocab, (SEQ,), generator=gen)
        labels = ids.clone()
        labels[: SEQ // 2] = -100
        rows.append({"input_ids": ids, "labels": labels, "last": SEQ // 2 - 1})
    return rows


def collate(rows: list[dict]) -> dict[str, torch.Tensor]:
    ids = torch.stack([r["input_ids"] for r in rows])
    return {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "labels": torch.stack([r["labels"] for r in rows]),
        "last_prompt_index": torch.tensor([r["last"] for r in rows]),
    }


class StepTimes(TrainerCallback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_step_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self._start)


def trainer_steps(loaded, data, lam: float, steps: int, out: str) -> list[float]:
    times = StepTimes()
    args = trainer_arguments(out, "cpu", steps=steps, batch_size=BATCH, learning_rate=1e-5,
                             warmup_steps=0, grad_clip=1.0, seed=0, remove_unused_columns=False,
                             dataloader_drop_last=True)  # finetune's settings  # fmt: skip
    window = vcl_window(loaded.n_layers)
    trainer = VCLTrainer(loaded, VCLConfig(lam, window, k=2), StepTotals(), args=args,
                         train_dataset=data, data_collator=collate, callbacks=[times])  # fmt: skip
    trainer.train()
    return times.times


def plain_steps(model, data, steps: int) -> list[float]:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    times = []
    for i in range(steps):
        b = collate(data[i * BATCH : (i + 1) * BATCH])
        start = time.perf_counter()
        mask = b["attention_mask"]
        model(input_ids=b["input_ids"], attention_mask=mask, labels=b["labels"]).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
    return times


def status(field: str) -> int:
    """A /proc/self/status memory field in bytes (VmRSS now, VmHWM the peak since reset)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def peak_memory(model_dir: str, lora: bool) -> None:
    """Child process: GiB above the loaded model's RSS at the peak of 2 trainer steps."""
    loaded = load_model(model_dir)
    if lora:
        add_lora(loaded.bridge.original_model, ["q_proj", "k_proj", "v_proj", "o_proj"], 8, 16,
                 0.0, "bench")  # fmt: skip
    base = status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM: loading's peak is not counted
    with tempfile.TemporaryDirectory() as tmp:
        data = examples(int(loaded.bridge.original_model.config.vocab_size))
        trainer_steps(loaded, data, 0.0, 2, tmp)
    peak = status("VmHWM")
    print(json.dumps({"loaded_gib": base / 2**30, "peak_above_gib": (peak - base) / 2**30}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller shape (a smoke run)")
    parser.add_argument("--peak-memory", choices=["full", "lora"], help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_memory:
        return peak_memory(args.model_dir, args.peak_memory == "lora")
    shape = QUICK if args.quick else QWEN05
    rounds, steps = (2, 2) if args.quick else (2, 3)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, shape {shape}, "
          f"batch {BATCH} x {SEQ}, float32 CPU")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = str(build(Path(tmp) / "model", shape))
        plain = AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation="eager")
        plain.train()
        ours = load_model(model_dir)
        lora = load_model(model_dir)
        add_lora(lora.bridge.original_model, ["q_proj", "k_proj", "v_proj", "o_proj"], 8, 16,
                 0.0, "bench")  # fmt: skip
        data = examples(shape["vocab_size"])
        times: dict[str, list[float]] = {"plain HF": [], "trainer, VCL off": [],
                                         "trainer, VCL on": [], "trainer, LoRA r8": []}  # fmt: skip
        for r in range(rounds + 1):  # round 0 warms up; interleaved so drift hits all alike
            got = {
                "plain HF": plain_steps(plain, data, steps),
                "trainer, VCL off": trainer_steps(ours, data, 0.0, steps, f"{tmp}/a"),
                "trainer, VCL on": trainer_steps(ours, data, 1.0, steps, f"{tmp}/b"),
                "trainer, LoRA r8": trainer_steps(lora, data, 0.0, steps, f"{tmp}/c"),
            }
            for label, ts in got.items():
                if r:
                    times[label] += ts[1:]  # each run's first step allocates AdamW's states
        del plain, ours, lora
        base = statistics.median(times["plain HF"])
        off = statistics.median(times["trainer, VCL off"])
        print(f"{'variant':<20}{'s/step':>9}{'vs plain':>10}{'vs VCL off':>12}")
        for label, ts in times.items():
            med = statistics.median(ts)
            print(f"{label:<20}{med:>9.2f}{med / base:>9.3f}x{med / off:>11.3f}x")
        for kind in ("full", "lora"):
            cmd = [sys.executable, __file__, "--peak-memory", kind, "--model-dir", model_dir]
            out = json.loads(subprocess.run(cmd, capture_output=True, check=True, text=True).stdout)
            print(f"peak memory, {kind}: {out['peak_above_gib']:.2f} GiB above the loaded "
                  f"model's {out['loaded_gib']:.2f} GiB")  # fmt: skip


if __name__ == "__main__":
    main()
