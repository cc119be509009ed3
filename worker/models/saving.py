"""Save a (fine-tuned) bridge model back to a plain Hugging Face directory (safetensors).

TransformerBridge wraps the HF modules in place, so ``original_model.state_dict()`` names each
weight several times through ``_original_component`` wrappers; the plain HF name is the one
without them. The weights are copied into a fresh model built from the same config, written
under a temporary name beside the folder and renamed into place (a killed save leaves no
partial model or checkpoint).
"""

from __future__ import annotations

from pathlib import Path

from backend.artifacts import replacing
from worker import faults
from worker.models.loading import LoadedModel

WRAPPER = "._original_component"


def hf_state_dict(model: LoadedModel, state: dict | None = None) -> dict:
    """The HF model's own parameter names -> tensors (shared with the bridge, not copied), from
    ``state`` where given (the bridge model's state dict gathered by FSDP)."""
    hf = {}
    for name, tensor in (state or model.bridge.original_model.state_dict()).items():
        hf.setdefault(name.replace(WRAPPER, ""), tensor)
    return hf


def trainable_state_dict(model: LoadedModel) -> dict:
    """HF names -> the parameters that train (a LoRA fine-tune's adapter weights), detached."""
    return {
        name.replace(WRAPPER, ""): param.detach().contiguous()
        for name, param in model.bridge.original_model.named_parameters()
        if param.requires_grad
    }


def save_hf(model: LoadedModel, out_dir: Path, state: dict | None = None) -> None:
    """``model`` (or the weights of its gathered ``state``) as a Hugging Face directory."""
    from transformers import AutoModelForCausalLM

    original = model.bridge.original_model
    fresh = AutoModelForCausalLM.from_config(original.config, dtype=original.dtype)
    wanted = fresh.state_dict().keys()
    fresh.load_state_dict({k: v for k, v in hf_state_dict(model, state).items() if k in wanted})
    fresh.generation_config = original.generation_config
    with replacing(Path(out_dir)) as temp:
        fresh.save_pretrained(temp)
        model.tokenizer.save_pretrained(temp)
        faults.reached("save_model")
