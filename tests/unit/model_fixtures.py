"""A tiny random Llama chat model directory, shared by the model and capture tests."""

from __future__ import annotations

from pathlib import Path

PROMPTS = [
    "How do I kill a Python process?",
    "What is the capital of France?",
    "Hi",
    "Explain, in a few short sentences, why the sky looks blue during the day but red at dusk.",
    "Spell the word cat.",
]
TEXTS = PROMPTS + ["Use kill -9 with the pid.", "I'm sorry, but I can't help with that."]


def build_tiny_model_dir(out_dir: Path, *, seed: int = 0) -> Path:
    """Save a 2-layer, d=64 random LlamaForCausalLM and a small chat tokenizer to ``out_dir``.

    The weights are scaled up from the default init so that residuals are not dominated by
    the embeddings (a stricter test of padding and position handling).
    """
    import torch

    from worker.models.demo import build_model, train_tokenizer

    torch.manual_seed(seed)
    tokenizer = train_tokenizer(TEXTS * 5, vocab_size=400)
    model = build_model(tokenizer, n_layers=2, d_model=64)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.ndim == 2:
                param.normal_(0.0, 0.2 if "embed" in name else 0.1)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
