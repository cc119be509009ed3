"""Torch-free checks of a Hugging Face model directory (the API calls them at registration,
the worker before loading): config, tokenizer, and safetensors weights only."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tiktoken.model")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


class ModelNotFound(Exception):
    """A model name or directory that cannot be loaded; the message is one clear line."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"model '{source}' not found: {reason}")
        self.source = source
        self.reason = reason


def check_safetensors_file(path: Path) -> dict:
    """Validate a safetensors header and that the file holds all the bytes it announces;
    returns the header (tensor name -> dtype, shape, data_offsets)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ValueError("file too short")
        (n_header,) = struct.unpack("<Q", head)
        if n_header > size - 8:
            raise ValueError("header length exceeds file size")
        header = json.loads(fh.read(n_header))
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"]
    if 8 + n_header + max(ends, default=0) > size:
        raise ValueError("file is truncated")
    return header


def check_model_dir(path: str | os.PathLike[str]) -> None:
    """Cheaply check that ``path`` is a loadable Hugging Face model directory.

    Requires a parseable ``config.json``, tokenizer files and valid ``*.safetensors``
    weights. Raises ModelNotFound with a one-line reason; never imports torch.
    """
    source, root = str(path), Path(path)
    if not root.is_dir():
        raise ModelNotFound(source, "no such directory")
    try:
        config = json.loads((root / "config.json").read_text())
    except FileNotFoundError:
        raise ModelNotFound(source, "config.json is missing") from None
    except (OSError, ValueError) as exc:
        raise ModelNotFound(source, f"config.json is unreadable ({exc})") from None
    if not isinstance(config, dict) or "model_type" not in config:
        raise ModelNotFound(source, "config.json has no model_type")
    if not any((root / name).is_file() for name in TOKENIZER_FILES):
        raise ModelNotFound(source, f"no tokenizer file (one of {', '.join(TOKENIZER_FILES)})")
    weights = sorted(root.glob("*.safetensors"))
    if not weights:
        if any(p.suffix in PICKLE_SUFFIXES for p in root.iterdir()):
            raise ModelNotFound(source, "only safetensors checkpoints are loaded")
        raise ModelNotFound(source, "no *.safetensors weights")
    for file in weights:
        try:
            check_safetensors_file(file)
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise ModelNotFound(source, f"corrupt safetensors file {file.name} ({exc})") from None
