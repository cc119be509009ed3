"""position="all" keeps a streaming covariance, never the token activations: peak memory does not
grow with the number of prompts (measured in fresh processes, peak RSS)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json, resource, sys
sys.path.insert(0, {root!r})
import torch
torch.set_num_threads(1)
from worker.models.loading import load_model
from worker.science.capture import capture_all_tokens_covariance
model = load_model({path!r})
prompts = ["Explain, in a few short sentences, why the sky looks blue today number %d." % i
           for i in range({n})]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
acc = capture_all_tokens_covariance(model, prompts, batch_size=16)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"growth_kib": after - before, "n_tokens": acc.n}}))
"""


@pytest.fixture(scope="module")
def wide_model(tmp_path_factory) -> Path:
    import torch

    from worker.models.demo import build_model, train_tokenizer

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("wide")
    tokenizer = train_tokenizer(
        ["why the sky looks blue today number 123456789"] * 20, vocab_size=300
    )
    build_model(tokenizer, n_layers=8, d_model=256).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def peak_growth(path: Path, n: int) -> dict:
    root = str(Path(__file__).resolve().parents[2])
    code = PROBE.format(root=root, path=str(path), n=n)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_streaming_capture_memory_does_not_grow_with_prompts(wide_model):
    small, large = peak_growth(wide_model, 32), peak_growth(wide_model, 512)
    held_mib = large["n_tokens"] * 8 * 256 * 4 / 2**20  # what holding all float32 rows would take
    extra_mib = (large["growth_kib"] - small["growth_kib"]) / 1024
    assert held_mib > 100  # the test would see it if the activations were kept
    print(f"\nheld would be {held_mib:.0f} MiB; streaming grew {extra_mib:.1f} MiB more")
    assert extra_mib < held_mib / 4, (extra_mib, held_mib)
