"""The demo model: a byte-level BPE tokenizer with a chat template and a tiny Llama-style
chat LM trained from scratch on (prompt, response) pairs, deterministic by seed.

The result is a plain Hugging Face directory (safetensors) that ``load_model`` loads.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from worker.science.batching import batches, collate_sft

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerFast

BOS, PAD, END = "<|bos|>", "<|pad|>", "<|end|>"
SPECIAL_TOKENS = [BOS, PAD, END, "<|system|>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
MAX_LEN = 160
Progress = Callable[[float, str], None]


def train_tokenizer(
    texts: Iterable[str], *, vocab_size: int = 3000, padding_side: str = "left"
) -> PreTrainedTokenizerFast:
    """Byte-level BPE tokenizer with chat template; plain encoding prepends ``<|bos|>``.

    Roles are ``system``, ``user`` and ``assistant``; ``<|end|>`` closes every turn and is
    the EOS token, so greedy generation stops at the end of the assistant's turn.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side: expected 'left' or 'right', got {padding_side!r}")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, bos_id)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=END,
        pad_token=PAD,
        padding_side=padding_side,
        model_max_length=MAX_LEN,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def encode_example(
    tokenizer: Any, prompt: str, response: str, max_length: int = MAX_LEN
) -> tuple[list[int], int]:
    """Chat-formatted ids of one exchange (ending in EOS), cut at ``max_length``, and the
    prompt length."""
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )
    prompt_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    ids = (prompt_ids + response_ids + [tokenizer.eos_token_id])[:max_length]
    return ids, len(prompt_ids)


def _epoch_batches(
    lengths: Sequence[int], batch_size: int, gen: torch.Generator, pool: int = 4
) -> list[list[int]]:
    """One epoch of example indices in a seeded random order, cut into batches.

    Each run of ``pool`` batches is sorted by length first, which cuts padding from about a
    third of the tokens to about a tenth while keeping batches varied.
    """
    import torch

    perm = torch.randperm(len(lengths), generator=gen).tolist()
    out: list[list[int]] = []
    for chunk in batches(perm, batch_size * pool):
        out += batches(sorted(chunk, key=lambda i: lengths[i]), batch_size)
    return [out[i] for i in torch.randperm(len(out), generator=gen).tolist()]


def build_model(tokenizer: Any, *, n_layers: int, d_model: int) -> Any:
    """A randomly initialised tiny LlamaForCausalLM (tied embeddings, 32-dim heads)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    if n_layers < 1:
        raise ValueError(f"n_layers: must be >= 1, got {n_layers}")
    if d_model < 32 or d_model % 32:
        raise ValueError(f"d_model: must be a positive multiple of 32, got {d_model}")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=d_model,
        intermediate_size=4 * d_model,
        num_hidden_layers=n_layers,
        num_attention_heads=d_model // 32,
        num_key_value_heads=d_model // 32,
        max_position_embeddings=MAX_LEN,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return LlamaForCausalLM(config)


def default_steps(n_examples: int, batch_size: int) -> int:
    """About 12 epochs, at most 1500 steps: on ~4000 short examples (2 CPU cores) that is
    about 100 s and fits the training set (greedy exact-match accuracy near 1)."""
    return max(50, min(1500, 12 * math.ceil(n_examples / batch_size)))


def train_demo_model(
    examples: list[tuple[str, str]],
    out_dir: Path,
    *,
    seed: int = 0,
    n_layers: int = 4,
    d_model: int = 128,
    steps: int | None = None,
    progress: Progress | None = None,
    tokenizer_texts: Sequence[str] = (),
    vocab_size: int = 3000,
    padding_side: str = "left",
    lr: float = 3e-3,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Train tokenizer and model on ``examples`` (loss on responses only), save both to
    ``out_dir`` in Hugging Face format (safetensors) and return training metrics.

    ``tokenizer_texts`` are extra texts (e.g. refusals) the tokenizer is trained on as well.
    The data order and initialisation depend only on ``seed``.
    """
    import torch
    from transformers.utils import logging as hf_logging

    if not examples:
        raise ValueError("examples: no training examples given")
    if steps is not None and steps < 1:
        raise ValueError(f"steps: must be >= 1, got {steps}")
    hf_logging.disable_progress_bar()
    start = time.perf_counter()
    torch.manual_seed(seed)
    texts = [t for pair in examples for t in pair] + list(tokenizer_texts)
    tokenizer = train_tokenizer(texts, vocab_size=vocab_size, padding_side=padding_side)
    encoded = [encode_example(tokenizer, p, r) for p, r in examples]
    model = build_model(tokenizer, n_layers=n_layers, d_model=d_model)
    n_steps = steps if steps is not None else default_steps(len(examples), batch_size)
    losses = _train(model, encoded, tokenizer.pad_token_id, n_steps, seed, lr, batch_size, progress)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    tail = losses[-10:]
    return {
        "steps": n_steps,
        "final_loss": sum(tail) / len(tail),
        "n_params": sum(p.numel() for p in model.parameters()),
        "n_examples": len(examples),
        "vocab_size": len(tokenizer),
        "seconds": time.perf_counter() - start,
    }


def _train(
    model: Any,
    encoded: Sequence[tuple[list[int], int]],
    pad_id: int,
    n_steps: int,
    seed: int,
    lr: float,
    batch_size: int,
    progress: Progress | None,
) -> list[float]:
    """transformers' ``Trainer`` (the fine-tunes' settings, worker/science/trainer.py): AdamW
    (betas 0.9/0.98, weight decay 0.01), linear warm-up over 5% of the steps and cosine decay
    to 5% of ``lr``, clipping at 1.0; the batches are ``_epoch_batches``' seeded,
    length-pooled ones, taken in order. Returns the per-step losses."""
    import tempfile

    import torch
    from transformers import Trainer, TrainerCallback
    from transformers.trainer_callback import PrinterCallback

    from worker.science.trainer import trainer_arguments

    gen = torch.Generator().manual_seed(seed)
    lengths = [len(ids) for ids, _ in encoded]
    order: list[list[int]] = []
    while len(order) < n_steps:  # whole epochs of batches, one batch a step
        order += _epoch_batches(lengths, batch_size, gen)
    losses: list[float] = []

    class Losses(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))
                step = state.global_step
                if progress is not None and (step % 10 == 0 or step == n_steps):
                    progress(step / n_steps, f"step {step}/{n_steps} loss {losses[-1]:.3f}")

    with tempfile.TemporaryDirectory(prefix="demo-train-") as out:
        args = trainer_arguments(
            out,
            "cpu",
            steps=n_steps,
            batch_size=1,  # one item is one of the batches in ``order``
            learning_rate=lr,
            warmup_steps=max(1, n_steps // 20),
            grad_clip=1.0,
            seed=seed,
            weight_decay=0.01,
            adam_beta2=0.98,
            lr_scheduler_type="cosine_with_min_lr",
            lr_scheduler_kwargs={"min_lr_rate": 0.05},
            train_sampling_strategy="sequential",
            remove_unused_columns=False,
        )
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=order[:n_steps],
            data_collator=lambda items: collate_sft([encoded[i] for i in items[0]], pad_id),
            callbacks=[Losses()],
        )
        trainer.remove_callback(PrinterCallback)
        trainer.train()
    model.eval()
    return losses
