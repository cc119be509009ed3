"""Default LoRA target modules per architecture, and the targets of a job (light: the
submit-time check, the memory estimate and the jobs read them; docs/training.md, "LoRA")."""

from __future__ import annotations

from backend.errors import FieldError

# Attention projections per config.model_type (checked against transformers' modules built
# from each config class in tests/unit/test_lora.py); a dotted name matches a name suffix.
LLAMA_LIKE = ("q_proj", "k_proj", "v_proj", "o_proj")
DEFAULT_TARGETS: dict[str, tuple[str, ...]] = {
    "llama": LLAMA_LIKE,
    "qwen2": LLAMA_LIKE,
    "qwen3": LLAMA_LIKE,
    "mistral": LLAMA_LIKE,
    "gemma2": LLAMA_LIKE,
    "gemma3": LLAMA_LIKE,
    "gemma3_text": LLAMA_LIKE,
    "olmo2": LLAMA_LIKE,
    "phi3": ("qkv_proj", "o_proj"),
    "gpt2": ("c_attn", "attn.c_proj"),  # mlp.c_proj is the MLP's output
    "gpt_neox": ("query_key_value", "dense"),
}


def lora_targets(model_type: str, targets: list[str] | None) -> list[str]:
    """``targets``, or the defaults of ``model_type`` (a ``FieldError`` if it has none)."""
    if targets:
        return list(targets)
    if model_type not in DEFAULT_TARGETS:
        known = ", ".join(sorted(DEFAULT_TARGETS))
        raise FieldError(
            "lora_target_modules",
            f"no default targets for model type {model_type!r} (defaults exist for {known}); "
            "give lora_target_modules",
        )
    return list(DEFAULT_TARGETS[model_type])
