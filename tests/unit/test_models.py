"""Model loading (worker/models/loading.py) and the demo model (worker/models/demo.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from model_fixtures import TEXTS, build_tiny_model_dir
from support import add_oversized_shard

from worker.models.demo import train_demo_model
from worker.models.loading import ModelNotFound, ModelTooLarge, check_model_dir, load_model

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [
    ("What is 2 plus 3?", "2 plus 3 is 5."),
    ("Spell the word cat.", "C-A-T."),
    ("What is the capital of France?", "The capital of France is Paris."),
    ("How do I kill a Python process?", "Use kill with the process id."),
] * 4


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model_dir(tmp_path_factory.mktemp("tiny"))


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_load_tiny_model(tiny_dir: Path) -> None:
    model = load_model(str(tiny_dir))
    assert (model.n_layers, model.d_model, model.device, model.dtype) == (2, 64, "cpu", "float32")
    assert model.tokenizer.chat_template
    ids = torch.tensor([model.tokenizer("Hello there")["input_ids"]])
    names = [
        f"blocks.{i}.hook_{h}" for i in range(2) for h in ("resid_pre", "resid_mid", "resid_post")
    ]
    with torch.inference_mode():
        _, cache = model.bridge.run_with_cache(ids, names_filter=names)
    for name in names:
        assert cache[name].shape == (1, ids.shape[1], 64)


def test_bad_dtype_is_refused(tiny_dir: Path) -> None:
    with pytest.raises(ValueError, match="^dtype:"):
        load_model(str(tiny_dir), dtype="float8")


def test_a_model_that_does_not_fit_is_refused_before_loading(tiny_dir, tmp_path) -> None:
    model_dir = _copy(tiny_dir, tmp_path / "huge")
    add_oversized_shard(model_dir)  # 1 TiB of float32 weights, announced in a valid header
    check_model_dir(model_dir)  # a well-formed directory: registration accepts it
    with pytest.raises(
        ModelTooLarge,
        match=r"does not fit: its weights need 1024\.0 GiB as "
        r"float32 but cpu has [0-9.]+ GiB free$",
    ):
        load_model(str(model_dir))
    # bfloat16 halves what it needs
    with pytest.raises(ModelTooLarge, match=r"need 512\.0 GiB as bfloat16"):
        load_model(str(model_dir), dtype="bfloat16")


def test_missing_dir(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ModelNotFound, match=r"^model '.*nope' not found: no such directory$"):
        load_model(str(missing))


def test_unknown_hub_name_fails_fast_offline() -> None:
    with pytest.raises(ModelNotFound, match="^model 'no-such-org/no-such-model' not found: "):
        load_model("no-such-org/no-such-model")


def test_pickle_only_checkpoint_is_refused(tiny_dir: Path, tmp_path: Path) -> None:
    d = _copy(tiny_dir, tmp_path / "pickled")
    (d / "model.safetensors").unlink()
    torch.save({"w": torch.zeros(1)}, d / "pytorch_model.bin")
    for call in (check_model_dir, lambda p: load_model(str(p))):
        with pytest.raises(ModelNotFound, match="only safetensors checkpoints are loaded"):
            call(d)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_safetensors(tiny_dir: Path, tmp_path: Path, damage: str) -> None:
    d = _copy(tiny_dir, tmp_path / damage)
    weights = d / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\x00" * 64)
    for call in (check_model_dir, lambda p: load_model(str(p))):
        with pytest.raises(ModelNotFound, match="corrupt safetensors file model.safetensors"):
            call(d)


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        ("no_config", "config.json is missing"),
        ("bad_config", "config.json is unreadable"),
        ("no_tokenizer", "no tokenizer file"),
    ],
)
def test_incomplete_dir(tiny_dir: Path, tmp_path: Path, breakage: str, reason: str) -> None:
    d = _copy(tiny_dir, tmp_path / breakage)
    if breakage == "no_config":
        (d / "config.json").unlink()
    elif breakage == "bad_config":
        (d / "config.json").write_text("{not json")
    else:
        (d / "tokenizer.json").unlink()
    with pytest.raises(ModelNotFound, match=reason):
        check_model_dir(d)


def test_check_model_dir_does_not_import_torch(tiny_dir: Path) -> None:
    code = (
        "import sys\n"
        "from worker.models.loading import check_model_dir\n"
        f"check_model_dir({str(tiny_dir)!r})\n"
        "heavy = {'torch', 'transformers', 'transformer_lens'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def _train(out: Path, seed: int) -> dict:
    return train_demo_model(
        EXAMPLES, out, seed=seed, n_layers=2, d_model=32, steps=3, tokenizer_texts=TEXTS
    )


def test_demo_training_is_deterministic_and_loadable(tmp_path: Path) -> None:
    first, second = _train(tmp_path / "a", 0), _train(tmp_path / "b", 0)
    other = _train(tmp_path / "c", 1)
    assert first["final_loss"] == second["final_loss"] != other["final_loss"]
    assert first["steps"] == 3 and first["n_params"] > 0 and first["seconds"] > 0
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (
        tmp_path / "b" / "model.safetensors"
    ).read_bytes()
    check_model_dir(tmp_path / "a")
    assert json.loads((tmp_path / "a" / "config.json").read_text())["model_type"] == "llama"

    model = load_model(str(tmp_path / "a"))
    tok = model.tokenizer
    text = tok.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text == "<|bos|><|user|>Hi<|end|><|assistant|>"
    assert tok.padding_side == "left" and tok.pad_token == "<|pad|>" and tok.eos_token == "<|end|>"
    ids = torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])
    with torch.inference_mode():
        out = model.bridge.generate(ids, max_new_tokens=3, do_sample=False, return_type="tokens")
    assert out.shape[1] > ids.shape[1]
