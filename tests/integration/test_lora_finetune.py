"""A LoRA fine-tune of the lab model, end to end in-process: the registered (merged) model and
its saved adapter, capture and evaluate on it, a LoRA fine-tune of that child; a target that
does not exist (at submit time and in the job) and a model too large to train."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from support import add_oversized_shard, run_inline

from backend.artifacts import ArtifactStore
from backend.models import JobStatus

FAST = {"n_examples": 64, "steps": 3, "batch_size": 8, "checkpoint_every": 2}
LORA = {"lora_rank": 4, "lora_alpha": 8, "lora_dropout": 0.0}


def _data(datasets) -> dict:
    return {
        "general_dataset_id": datasets["general"]["id"],
        "safety_dataset_id": datasets["safety"]["id"],
    }


@pytest.fixture(scope="module")
def lora_child(lab):
    settings, _, datasets, _ = lab
    job = run_inline(
        settings,
        "finetune",
        base_model_name="tiny",
        name="tiny-lora",
        vcl_lambda=1.0,
        vcl_k=2,
        **_data(datasets),
        **FAST,
        **LORA,
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def _local(settings, uri: str, tmp: Path) -> Path:
    return ArtifactStore(settings.artifact_root).local_path(uri, tmp)


def test_lora_registers_the_merged_model_and_keeps_the_adapter(lab, lora_child, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    settings, client, _, base_id = lab
    model = client.get(f"/api/models/{lora_child.result['model_id']}").json()
    adapter = model["lineage"]["adapter"]
    assert model["parent_id"] == base_id and model["lineage"]["parent"] == "tiny"
    assert {k: adapter[k] for k in ("rank", "alpha", "dropout", "merged")} == {
        "rank": 4, "alpha": 8, "dropout": 0.0, "merged": True,
    }  # fmt: skip
    assert adapter["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"]  # llama default
    # rank 4 x (32 + 32) per projection (d_model 32, 4 heads of 8: k and v are 32 wide), 2 layers
    assert adapter["trainable_params"] == 2 * 4 * 4 * 64
    assert model["config"]["lora"] == adapter and model["config"]["dtype"] == "float32"
    metrics = client.get(f"/api/jobs/{lora_child.id}/metrics").json()
    assert [m["step"] for m in metrics] == [0, 1, 2] and metrics[0]["values"]["vcl_term"] > 0

    base_dir = _local(settings, client.get(f"/api/models/{base_id}").json()["uri"], tmp_path)
    merged_dir = _local(settings, model["uri"], tmp_path)
    adapter_dir = _local(settings, adapter["adapter_uri"], tmp_path)
    assert sorted(p.name for p in adapter_dir.iterdir()) == [
        "adapter_config.json",
        "adapter_model.safetensors",
    ]
    assert json.loads((adapter_dir / "adapter_config.json").read_text())["r"] == 4
    ids = torch.arange(3, 20).reshape(1, -1)
    base = AutoModelForCausalLM.from_pretrained(base_dir)
    merged = AutoModelForCausalLM.from_pretrained(merged_dir)
    with torch.no_grad():
        with_adapter = PeftModel.from_pretrained(base, adapter_dir)(ids).logits
        torch.testing.assert_close(merged(ids).logits, with_adapter, rtol=1e-4, atol=1e-4)
        plain = AutoModelForCausalLM.from_pretrained(base_dir)(ids).logits
    assert (merged(ids).logits - plain).abs().max() > 1e-4  # training changed the adapter


def test_capture_evaluate_and_a_lora_on_the_lora_child_load_it(lab, lora_child):
    settings, client, datasets, _ = lab
    probe = datasets["probe"]["id"]
    capture = run_inline(
        settings, "capture_spectra", model_name="tiny-lora", dataset_id=probe, bootstrap=0
    )
    assert capture.status == JobStatus.SUCCEEDED, capture.error
    evaluate = run_inline(
        settings,
        "evaluate",
        model_name="tiny-lora",
        probe_dataset_id=probe,
        max_new_tokens=4,
        max_prompts=20,
    )
    assert evaluate.status == JobStatus.SUCCEEDED, evaluate.error
    grandchild = run_inline(
        settings,
        "finetune",
        base_model_name="tiny-lora",
        name="tiny-lora-2",
        lora_target_modules=["v_proj"],
        gradient_checkpointing=True,
        **_data(datasets),
        **{**FAST, "checkpoint_every": None},
        **LORA,
    )
    assert grandchild.status == JobStatus.SUCCEEDED, grandchild.error
    model = client.get(f"/api/models/{grandchild.result['model_id']}").json()
    assert model["lineage"]["parent"] == "tiny-lora"
    assert model["lineage"]["adapter"]["target_modules"] == ["v_proj"]


def test_a_target_module_that_does_not_exist_is_refused(lab):
    settings, client, datasets, _ = lab
    params = {"base_model_name": "tiny", **_data(datasets), **FAST, **LORA}
    response = client.post(
        "/api/jobs",
        json={"kind": "finetune", "params": {**params, "lora_target_modules": ["q_proj", "qkv"]}},
    )
    assert response.status_code == 422, response.text
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["body", "params", "lora_target_modules"]
    assert "no module named 'qkv' in tiny (has: " in detail["msg"] and "k_proj" in detail["msg"]
    dpo = {"base_model_name": "tiny", "dataset_name": "p", "lora_rank": 4}
    response = client.post(
        "/api/jobs", json={"kind": "dpo", "params": {**dpo, "lora_target_modules": ["qkv"]}}
    )
    assert response.status_code == 422, response.text
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["body", "params", "lora_target_modules"]
    assert "no module named 'qkv' in tiny (has: " in detail["msg"]
    job = run_inline(settings, "finetune", **params, lora_target_modules=["nope"])  # no check
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("lora_target_modules: no module named 'nope' in 'tiny' (has: ")


def test_devices_are_refused_at_submit_unless_a_running_worker_owns_them(lab):
    from backend.db import write_session
    from backend.models import Worker

    settings, client, datasets, _ = lab
    params = {"base_model_name": "tiny", **_data(datasets), **FAST}

    def submit(devices: list[str]):
        body = {"kind": "finetune", "params": {**params, "devices": devices}}
        return client.post("/api/jobs", json=body)

    for devices, why in [
        (["gpu0"], "'gpu0' is not a device (expected cpu or cuda:N)"),
        (["cuda:0", "cuda:0"], "a cuda device is listed twice"),
        (["cuda:0", "cpu"], "give cpu devices or cuda devices, not both"),
    ]:
        response = submit(devices)
        assert response.status_code == 422, response.text
        (detail,) = response.json()["detail"]
        assert detail["loc"] == ["body", "params", "devices"] and why in detail["msg"]
    with write_session(settings.database_url) as session:
        session.add(Worker(id="gpu-box", host="h", pid=1, device="cuda:0,cuda:1"))
    try:
        response = submit(["cuda:1", "cuda:2"])
        assert response.status_code == 422, response.text
        (detail,) = response.json()["detail"]
        assert detail["loc"] == ["body", "params", "devices"]
        said, has = detail["msg"].split(" (they have: ")  # other tests' workers may run too
        assert said.endswith("no running finetune worker owns cuda:1,cuda:2")
        assert "cuda:0,cuda:1" in has.rstrip(")").split("; ")
        accepted = submit(["cuda:1", "cuda:0"])
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["params"]["devices"] == ["cuda:1", "cuda:0"]
        client.post(f"/api/jobs/{accepted.json()['id']}/cancel")  # never run here
    finally:
        with write_session(settings.database_url) as session:
            session.delete(session.get(Worker, "gpu-box"))


def test_a_model_too_large_to_train_fails_before_loading_with_what_would_fit(lab, tmp_path):
    settings, client, datasets, model_id = lab
    demo_dir = _local(settings, client.get(f"/api/models/{model_id}").json()["uri"], tmp_path)
    huge = shutil.copytree(demo_dir, tmp_path / "huge-train")
    add_oversized_shard(huge, nbytes=2**37)  # 128 GiB of float32 weights: 32e9 parameters
    response = client.post(
        "/api/models", json={"name": "huge-train", "source": "local", "uri": str(huge)}
    )
    assert response.status_code == 201, response.text
    job = run_inline(settings, "finetune", base_model_name="huge-train", **_data(datasets), **FAST)
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("finetune of 'huge-train' needs 512.0 GiB (weights 128.0, ")
    assert "gradients 128.0, AdamW 256.0" in job.error and " but cpu has " in job.error
    assert "model 'huge-train' does not fit: its weights need" not in job.error  # not loaded
