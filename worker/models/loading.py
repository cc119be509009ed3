"""Loading causal LMs as TransformerLens 4.x ``TransformerBridge`` models.

The torch-free directory check lives in backend/model_dirs.py; torch,
transformers and transformer_lens are imported lazily inside ``load_model``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.model_dirs import ModelNotFound, check_model_dir, check_safetensors_file
from worker.science.memory import Plan, Shape, estimate, model_shape, not_fitting_message

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge
    from transformers import PreTrainedTokenizerBase

DTYPES = ("float32", "float16", "bfloat16")


class ModelTooLarge(Exception):
    """Weights that would not fit in the device's free memory (checked before loading)."""


@dataclass
class LoadedModel:
    """A bridge in compatibility mode plus what callers need alongside it.

    ``tokenizer`` is the checkpoint's own tokenizer as saved (chat template, padding side,
    special tokens untouched); the bridge keeps its own normalised copy in ``bridge.tokenizer``.
    """

    bridge: TransformerBridge
    tokenizer: PreTrainedTokenizerBase
    n_layers: int
    d_model: int
    device: str
    dtype: str
    source: str


def weights_nbytes(root: Path, itemsize: int) -> int:
    """Bytes the weights of the directory take once loaded, every tensor at ``itemsize``."""
    total = 0
    for file in root.glob("*.safetensors"):
        for name, tensor in check_safetensors_file(file).items():
            if name != "__metadata__":
                total += math.prod(tensor["shape"]) * itemsize
    return total


def free_memory_bytes(device: str) -> int | None:
    """Free memory on ``device``: CUDA's free bytes, or the host's available memory (the
    smaller of /proc/meminfo MemAvailable and the cgroup's headroom). None when unknown."""
    if device.startswith("cuda"):
        import torch

        return int(torch.cuda.mem_get_info(torch.device(device))[0])
    free = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit != "max":
            free.append(int(limit) - used)
    except (OSError, ValueError):
        pass
    return min(free) if free else None


def _check_fits(source: str, root: Path, device: str, torch_dtype: Any) -> None:
    need = weights_nbytes(root, torch_dtype.itemsize)
    free = free_memory_bytes(device)
    if free is not None and need > free:
        dtype = str(torch_dtype).removeprefix("torch.")
        raise ModelTooLarge(
            f"model '{source}' does not fit: its weights need {need / 2**30:.1f} GiB as {dtype} "
            f"but {device} has {free / 2**30:.1f} GiB free"
        )


def read_model_dir(root: Path) -> tuple[dict, Shape]:
    """config.json and the weights' ``Shape`` (from the safetensors headers, no tensor read)."""
    config = json.loads((root / "config.json").read_text())
    weights = {
        name: tensor["shape"]
        for file in root.glob("*.safetensors")
        for name, tensor in check_safetensors_file(file).items()
        if name != "__metadata__"
    }
    return config, model_shape(config, weights)


def check_training_fits(what: str, shape: Shape, plan: Plan, device: str, lora: Plan) -> None:
    """ModelTooLarge, with the numbers and the options that would fit, when training
    ``shape`` as ``plan`` needs more than the device's free memory (memory.py)."""
    free = free_memory_bytes(device)
    if free is not None and estimate(shape, plan).total > free:
        multi = device.startswith("cuda")
        raise ModelTooLarge(
            not_fitting_message(what, shape, plan, free, device, lora=lora, multi_device=multi)
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _check_source(source: str) -> None:
    """Check a local directory fully, or a hub name's config (fails fast when offline)."""
    if Path(source).expanduser().exists() or source.startswith(("/", ".", "~")):
        check_model_dir(Path(source).expanduser())
        return
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(source)
    except Exception as exc:  # hub errors come in many types; all mean "not loadable"
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
        reason = "not a local directory and the hub is offline" if offline else _first_line(exc)
        raise ModelNotFound(source, reason) from None


def resolve_dtype(dtype: str | None, device: str) -> Any:
    """The torch dtype for ``dtype`` (default: bfloat16 on CUDA, float32 elsewhere)."""
    import torch

    if dtype is None:
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    if dtype not in DTYPES:
        raise ValueError(f"dtype: unknown dtype {dtype!r}, expected one of {', '.join(DTYPES)}")
    return getattr(torch, dtype)


def load_model(source: str, *, device: str = "cpu", dtype: str | None = None) -> LoadedModel:
    """Load a causal LM (local HF directory, or hub name when online) as a TransformerBridge.

    Only safetensors weights are read, and only when they fit in the device's free memory
    (else ModelTooLarge, before anything is allocated). The bridge is in compatibility mode
    (HookedTransformer hook names such as ``blocks.{l}.hook_resid_post``) without weight
    processing (no LN folding or weight centring): residuals are the model's own (equal to HF
    hidden states), training through the bridge trains the HF weights, and a fine-tune saves
    back exactly. Eval mode.
    """
    _check_source(source)
    torch_dtype = resolve_dtype(dtype, device)
    local = Path(source).expanduser()
    if local.is_dir():
        _check_fits(source, local, device, torch_dtype)
    from transformer_lens.model_bridge import TransformerBridge
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    path = str(local) if local.exists() else source
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        hf_model = AutoModelForCausalLM.from_pretrained(
            path, dtype=torch_dtype, use_safetensors=True, attn_implementation="eager"
        )
    except Exception as exc:  # corrupt weights, unsupported architecture, ...
        raise ModelNotFound(source, f"cannot load ({_first_line(exc)})") from None
    hf_model = hf_model.to(device).eval()
    bridge = TransformerBridge.boot_transformers(
        path, hf_model=hf_model, device=device, dtype=torch_dtype
    )
    bridge.enable_compatibility_mode(disable_warnings=True, no_processing=True)
    bridge.eval()
    return LoadedModel(
        bridge=bridge,
        tokenizer=tokenizer,
        n_layers=int(bridge.cfg.n_layers),
        d_model=int(bridge.cfg.d_model),
        device=device,
        dtype=str(torch_dtype).removeprefix("torch."),
        source=source,
    )
