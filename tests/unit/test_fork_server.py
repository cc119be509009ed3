"""The worker's fork server imports ``PRELOAD`` once and forks every job from it. CUDA cannot
be used in a process forked after CUDA was initialised, so importing those modules must not
touch CUDA: checked in a fresh interpreter with torch.cuda's entry points counted."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, torch
calls = []
for name in ("is_available", "device_count", "init", "_lazy_init", "current_device",
             "get_device_properties", "get_device_capability", "is_bf16_supported"):
    original = getattr(torch.cuda, name)
    setattr(torch.cuda, name, lambda *a, _o=original, _n=name, **k: calls.append(_n) or _o(*a, **k))
from worker.runner import PRELOAD
import importlib
for module in PRELOAD:
    importlib.import_module(module)
print(json.dumps({"calls": calls, "initialised": torch.cuda.is_initialized(), "preload": PRELOAD}))
"""


def test_the_fork_servers_preload_leaves_cuda_alone() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert "worker.science.trainer" in found["preload"]  # torch, transformers, TransformerLens
    assert found["calls"] == [] and found["initialised"] is False


MODEL_FREE = """
import importlib, json, sys
from worker.runner import MODEL_FREE_KINDS, preload
modules = preload(sorted(MODEL_FREE_KINDS))
for module in modules:
    importlib.import_module(module)
heavy = sorted(m for m in ("transformers", "transformer_lens", "peft", "trl") if m in sys.modules)
print(json.dumps({"modules": modules, "heavy": heavy}))
"""


def test_a_worker_of_model_free_kinds_preloads_no_model_library() -> None:
    """``--kinds echo,...`` of kinds that load no model: their job modules, and neither the
    trainer nor transformers (what makes such a worker start seconds sooner)."""
    out = subprocess.run([sys.executable, "-c", MODEL_FREE], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["heavy"] == []
    assert found["modules"] == ["worker.child", "worker.jobs.datasets", "worker.jobs.diagnostic"]
    from worker.runner import PRELOAD, preload

    assert preload(None) == preload(["echo", "capture_spectra"]) == list(PRELOAD)
