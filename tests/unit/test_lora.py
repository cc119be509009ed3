"""LoRA through peft on the bridge's model: default targets per architecture, VCL through the
adapted model (gradients only to the adapter), gradient checkpointing leaves the VCL term
unchanged, and the saved adapter is a standard peft adapter of the plain model."""

from __future__ import annotations

import pytest
import test_trainer
import torch
import transformers as T
from transformers.pytorch_utils import Conv1D

from backend.errors import FieldError
from backend.jobs.lora_targets import DEFAULT_TARGETS, lora_targets
from worker.models.demo import encode_example
from worker.models.loading import LoadedModel, load_model
from worker.science.batching import collate_sft
from worker.science.lora import adapted_modules, add_lora, save_adapter
from worker.science.vcl import capture_residuals, vcl_term

SMALL = {
    "vocab_size": 32064,  # phi3's pad token id is 32000
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 1,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 8,
}
EXAMPLES = test_trainer.EXAMPLES
demo_dir = test_trainer.demo_dir  # the fixture: a random model of the demo's shape
CONFIGS = {
    "llama": (T.LlamaConfig, SMALL),
    "qwen2": (T.Qwen2Config, SMALL),
    "qwen3": (T.Qwen3Config, SMALL),
    "mistral": (T.MistralConfig, SMALL),
    "gemma2": (T.Gemma2Config, SMALL),
    "gemma3_text": (T.Gemma3TextConfig, SMALL),
    "olmo2": (T.Olmo2Config, SMALL),
    "phi3": (T.Phi3Config, {**SMALL, "pad_token_id": 0}),
    "gpt2": (T.GPT2Config, {"vocab_size": 64, "n_embd": 32, "n_layer": 1, "n_head": 4}),
    "gpt_neox": (T.GPTNeoXConfig, SMALL),
}


@pytest.mark.parametrize("model_type", sorted(CONFIGS))
def test_default_targets_are_attention_linears_of_the_real_architecture(model_type) -> None:
    config_class, kwargs = CONFIGS[model_type]
    config = config_class(**kwargs)
    assert config.model_type == model_type
    model = T.AutoModelForCausalLM.from_config(config)
    targets = list(DEFAULT_TARGETS[model_type])
    names = adapted_modules(model, targets, model_type)
    modules = dict(model.named_modules())
    for target in targets:  # each default names at least one linear layer of every block
        hits = [n for n in names if n.endswith("." + target)]
        assert hits and all(isinstance(modules[n], torch.nn.Linear | Conv1D) for n in hits)
        assert all("attn" in n or "attention" in n for n in hits)
    peft_model = add_lora(model, targets, 4, 8, 0.0, model_type)
    assert sum(p.numel() for p in peft_model.parameters() if p.requires_grad) > 0
    assert "gemma3" in DEFAULT_TARGETS  # the multimodal config's model_type too


def _lora_demo(demo_dir, targets=("q_proj", "v_proj")) -> tuple[LoadedModel, object]:
    demo = load_model(str(demo_dir))
    torch.manual_seed(1)  # peft draws A at random
    peft_model = add_lora(demo.bridge.original_model, list(targets), 4, 8, 0.0, "'demo'")
    with torch.no_grad():  # B starts at 0 (the adapter is a no-op); make it act
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.3)
    return demo, peft_model


def _vcl(demo: LoadedModel, layers=(1, 2)) -> tuple[torch.Tensor, torch.Tensor]:
    encoded = [encode_example(demo.tokenizer, p, r) for p, r in EXAMPLES]
    b = collate_sft(encoded, demo.tokenizer.pad_token_id)
    hf = demo.bridge.original_model
    with capture_residuals(demo.bridge, list(layers), index=b["last_prompt_index"]) as resid:
        out = hf(input_ids=b["input_ids"], attention_mask=b["attention_mask"])
    term, _ = vcl_term(resid, 2)
    return term, out.logits


def test_an_unknown_target_names_the_field_and_the_modules_there_are(demo_dir) -> None:
    demo = load_model(str(demo_dir))
    with pytest.raises(ValueError) as err:
        adapted_modules(demo.bridge.original_model, ["q_proj", "qkv"], "'demo'")
    message = str(err.value)
    assert message.startswith("lora_target_modules: no module named 'qkv' in 'demo' (has: ")
    assert all(m in message for m in ("q_proj", "k_proj", "v_proj", "o_proj", "down_proj"))


def test_an_architecture_without_defaults_is_a_field_error_naming_the_option() -> None:
    assert lora_targets("bert", ["query"]) == ["query"]
    with pytest.raises(FieldError) as err:
        lora_targets("bert", None)
    assert err.value.field == "lora_target_modules"
    assert err.value.message.startswith("no default targets for model type 'bert' (defaults ")


def test_vcl_reaches_only_the_adapter_weights(demo_dir) -> None:
    demo, peft_model = _lora_demo(demo_dir)
    term, _ = _vcl(demo)
    assert term.item() > 0.1  # the top-2 share of 10 residuals
    term.backward()
    grads = {n: p.grad for n, p in demo.bridge.original_model.named_parameters()}
    lora_b = [n for n in grads if "lora_B" in n]
    assert len(lora_b) == 2 * 4  # q_proj and v_proj of 4 layers
    # layers 1-2's adapters and layer 0's feed the window; layer 3's come after it
    for name in lora_b:
        reached = grads[name] is not None and grads[name].abs().sum() > 0
        assert reached == (".layers.3." not in name), name
    assert all(grads[n] is None for n in grads if "lora_" not in n)  # base weights frozen


def test_gradient_checkpointing_gives_the_same_vcl_term_and_gradients(demo_dir) -> None:
    results = []
    for checkpointing in (False, True):
        demo, _ = _lora_demo(demo_dir)
        hf = demo.bridge.original_model
        hf.train()
        if checkpointing:
            hf.activation_checkpointing_enable(
                activation_checkpointing_kwargs={"use_reentrant": False}
            )
            assert hf.is_activation_checkpointing
        calls = []  # the first layer's MLP runs again in the backward pass when checkpointed
        layer = dict(hf.named_modules())["model.layers.0._original_component.mlp"]
        layer.register_forward_pre_hook(lambda *_, calls=calls: calls.append(1))
        term, logits = _vcl(demo)
        (term + logits.float().pow(2).mean()).backward()
        assert len(calls) == (2 if checkpointing else 1)
        grads = {n: p.grad.clone() for n, p in hf.named_parameters() if p.grad is not None}
        results.append((term.item(), grads))
    (plain, plain_grads), (ckpt, ckpt_grads) = results
    assert ckpt == pytest.approx(plain, abs=1e-5)
    assert plain_grads.keys() == ckpt_grads.keys() and plain_grads
    for name, grad in plain_grads.items():
        torch.testing.assert_close(ckpt_grads[name], grad, rtol=1e-5, atol=1e-6)


def test_saved_adapter_loads_on_the_plain_model_and_equals_the_merge(demo_dir, tmp_path) -> None:
    from peft import PeftModel

    demo, peft_model = _lora_demo(demo_dir)
    ids = torch.randint(5, 300, (2, 9), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        adapted = demo.bridge.original_model(ids).logits
    save_adapter(peft_model, ["q_proj", "v_proj"], tmp_path / "adapter")
    plain = T.AutoModelForCausalLM.from_pretrained(demo_dir)
    reloaded = PeftModel.from_pretrained(plain, tmp_path / "adapter").eval()
    assert reloaded.peft_config["default"].target_modules == {"q_proj", "v_proj"}
    with torch.no_grad():
        torch.testing.assert_close(reloaded(ids).logits, adapted, rtol=1e-5, atol=1e-5)
        peft_model.merge_and_unload()
        merged = demo.bridge.original_model(ids).logits
    torch.testing.assert_close(merged, adapted, rtol=1e-4, atol=1e-4)


def test_the_schema_groups_the_lora_fields_under_human_labels() -> None:
    """The submit form (frontend/pages/submit.py) puts a schema "group" under one heading."""
    from backend.jobs.params.training import FinetuneParams

    props = FinetuneParams.model_json_schema()["properties"]
    lora = [name for name, prop in props.items() if prop.get("group") == "LoRA"]
    assert lora == ["lora_rank", "lora_alpha", "lora_dropout", "lora_target_modules"]
    assert props["lora_rank"]["title"] == "LoRA rank" and props["lora_rank"]["default"] is None
    assert props["lora_target_modules"]["default"] is None
    assert props["dtype"]["enum"] == ["auto", "float32", "bfloat16"]


def test_finetune_and_dpo_share_one_lora_shape_and_read_the_old_finetune_shape() -> None:
    from backend.jobs.params.training import DPOParams, FinetuneParams

    ft = {"base_model_id": 1, "general_dataset_id": 1, "safety_dataset_id": 1}
    dpo = {"base_model_id": 1, "dataset_id": 1}
    fields = ["lora_rank", "lora_alpha", "lora_dropout", "lora_target_modules"]
    for cls, base in ((FinetuneParams, ft), (DPOParams, dpo)):
        props = cls.model_json_schema()["properties"]
        assert [n for n, p in props.items() if p.get("group") == "LoRA"] == fields
        assert cls.model_validate(base).lora_rank is None  # a full fine-tune by default
        assert cls.model_validate({**base, "lora_rank": 4}).lora_rank == 4
    old = FinetuneParams.model_validate  # jobs stored before: lora true|false beside a rank
    assert old({**ft, "lora": True}).lora_rank == 8
    assert old({**ft, "lora": True, "lora_rank": 4}).lora_rank == 4
    assert old({**ft, "lora": False, "lora_rank": 4}).lora_rank is None
    assert "lora" not in old({**ft, "lora": True}).model_dump()


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"lora_rank": 8}, "LoRA trains on DDP"),
        ({"geometry_dataset_id": 3}, "geometry captures need the whole model on one rank"),
        ({"devices": ["cpu", "cpu"]}, "FSDP needs cuda devices"),
    ],
)
def test_fsdp_refuses_what_it_cannot_shard_naming_the_field(extra, why) -> None:
    """accelerate drops the FSDP plugin on CPU ranks (it would train DDP and say nothing); a
    merged adapter and rank 0's geometry captures need the whole model on one rank."""
    from pydantic import ValidationError

    from backend.jobs.params.training import FinetuneParams

    base = {"base_model_name": "m", "general_dataset_id": 1, "safety_dataset_id": 2}
    with pytest.raises(ValidationError) as raised:
        FinetuneParams.model_validate({**base, "fsdp": True, **extra})
    (error,) = raised.value.errors()
    assert why in error["msg"]
    FinetuneParams.model_validate({**base, "fsdp": True, "devices": ["cuda:0", "cuda:1"]})
