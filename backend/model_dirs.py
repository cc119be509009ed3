"""Torch-free checks of a Hugging Face model directory (the API calls them at registration,
the worker before loading): config, tokenizer, and safetensors weights only.

Bounded in time and size: only regular files are opened (a FIFO or a device as config.json or
weights would block or never end), non-blocking, and config.json and safetensors headers are read
up to a size cap."""

from __future__ import annotations

import json
import os
import stat
import struct
from pathlib import Path

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tiktoken.model")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
MAX_CONFIG_BYTES = 16 * 1024 * 1024
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors format's own limit


class NotRegularFile(OSError):
    """A path that is a FIFO, device, socket or folder where a file is expected."""


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a folder" if stat.S_ISDIR(mode) else "not a regular file"


def open_regular(path: Path):
    """Open ``path`` for reading only if it is a regular file, without ever blocking (a FIFO
    opened non-blocking returns at once); returns the binary file object and its size."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(f"{path.name} is {_kind(info.st_mode)}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), info.st_size
    except BaseException:
        os.close(fd)
        raise


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


class ModelNotFound(Exception):
    """A model name or directory that cannot be loaded; the message is one clear line."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"model '{source}' not found: {reason}")
        self.source = source
        self.reason = reason


def check_safetensors_file(path: Path) -> dict:
    """Validate a safetensors header and that the file holds all the bytes it announces;
    returns the header (tensor name -> dtype, shape, data_offsets)."""
    fh, size = open_regular(path)
    with fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ValueError("file too short")
        (n_header,) = struct.unpack("<Q", head)
        if n_header > size - 8:
            raise ValueError("header length exceeds file size")
        if n_header > MAX_HEADER_BYTES:
            raise ValueError(f"header over {MAX_HEADER_BYTES} bytes")
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
    weights, all regular files. Raises ModelNotFound with a one-line reason; never imports
    torch.
    """
    source, root = str(path), Path(path)
    try:
        _check_dir(source, root)
    except OSError as exc:  # a name too long, a symlink loop, no permission ...
        reason = exc.strerror or str(exc)
        raise ModelNotFound(source, f"the directory cannot be read ({reason})") from None


def _read_config(source: str, root: Path) -> dict:
    try:
        fh, size = open_regular(root / "config.json")
    except FileNotFoundError:
        raise ModelNotFound(source, "config.json is missing") from None
    except NotRegularFile as exc:
        raise ModelNotFound(source, str(exc)) from None
    with fh:
        if size > MAX_CONFIG_BYTES:
            raise ModelNotFound(source, f"config.json is over {MAX_CONFIG_BYTES} bytes")
        try:
            config = json.loads(fh.read(MAX_CONFIG_BYTES))
        except ValueError as exc:
            raise ModelNotFound(source, f"config.json is unreadable ({exc})") from None
    if not isinstance(config, dict) or "model_type" not in config:
        raise ModelNotFound(source, "config.json has no model_type")
    return config


def _check_dir(source: str, root: Path) -> None:
    try:
        if not stat.S_ISDIR(root.stat().st_mode):
            raise ModelNotFound(source, "not a directory")
    except (FileNotFoundError, NotADirectoryError):
        raise ModelNotFound(source, "no such directory") from None
    _read_config(source, root)
    tokenizers = [root / name for name in TOKENIZER_FILES if (root / name).exists()]
    if not tokenizers:
        raise ModelNotFound(source, f"no tokenizer file (one of {', '.join(TOKENIZER_FILES)})")
    if not any(_is_regular(t) for t in tokenizers):
        kind = _kind(tokenizers[0].stat().st_mode)
        raise ModelNotFound(source, f"{tokenizers[0].name} is {kind}, not a regular file")
    weights = sorted(root.glob("*.safetensors"))
    if not weights:
        if any(p.suffix in PICKLE_SUFFIXES for p in root.iterdir()):
            raise ModelNotFound(source, "only safetensors checkpoints are loaded")
        raise ModelNotFound(source, "no *.safetensors weights")
    for file in weights:
        try:
            check_safetensors_file(file)
        except NotRegularFile as exc:
            raise ModelNotFound(source, str(exc)) from None
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise ModelNotFound(source, f"corrupt safetensors file {file.name} ({exc})") from None
