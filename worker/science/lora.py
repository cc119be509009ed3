"""LoRA adapters through peft on the model a fine-tune trains (docs/training.md, "LoRA").

Target modules are given by their Hugging Face leaf names (``q_proj``, ``c_attn``); the bridge
wraps every linear layer in a ``LinearBridge`` whose ``_original_component`` is the
``nn.Linear``, so peft is handed the full names of the linear layers themselves. Importing this
module does not import torch. The default targets per architecture are in
backend/jobs/lora_targets.py (the submit-time check reads them too).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WRAPPER = "._original_component"


def plain_name(name: str) -> str:
    """A module or weight name without the bridge's wrapper parts."""
    return name.replace(WRAPPER, "")


def adapted_modules(hf_model: Any, targets: list[str], model_name: str) -> list[str]:
    """Full names of the linear layers whose leaf name (or dotted suffix) is a target;
    ValueError naming ``lora_target_modules`` for a target that matches none."""
    import torch
    from transformers.pytorch_utils import Conv1D

    linear = {
        name: plain_name(name)
        for name, module in hf_model.named_modules()
        if isinstance(module, torch.nn.Linear | Conv1D)
    }
    found: dict[str, list[str]] = {t: [] for t in targets}
    for name, plain in linear.items():
        for target in targets:
            if plain == target or plain.endswith("." + target):
                found[target].append(name)
    missing = [t for t, names in found.items() if not names]
    if missing:
        has = ", ".join(dict.fromkeys(p.rsplit(".", 1)[-1] for p in linear.values()))
        raise ValueError(
            f"lora_target_modules: no module named {missing[0]!r} in {model_name} (has: {has})"
        )
    return sorted({name for names in found.values() for name in names})


def add_lora(
    hf_model: Any, targets: list[str], rank: int, alpha: float, dropout: float, model_name: str
) -> Any:
    """Inject LoRA layers into ``hf_model`` in place (its other weights frozen); returns the
    ``PeftModel`` (for saving the adapter and merging)."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=adapted_modules(hf_model, targets, model_name),
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(hf_model, config)


def save_adapter(peft_model: Any, targets: list[str], out_dir: Path) -> None:
    """The adapter as a standard peft directory for the plain Hugging Face model (wrapper
    names dropped, ``target_modules`` the leaf names): ``PeftModel.from_pretrained`` loads it."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    state = get_peft_model_state_dict(peft_model)
    save_file(
        {plain_name(k): v.detach().contiguous() for k, v in state.items()},
        str(out_dir / "adapter_model.safetensors"),
    )
    config = peft_model.peft_config["default"].to_dict()
    config["target_modules"] = sorted(targets)
    (out_dir / "adapter_config.json").write_text(json.dumps(config, indent=2, default=list))
