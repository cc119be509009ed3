"""The training memory estimate on a Llama-3-8B-shaped model, against numbers worked out by
hand from the architecture (docs/training.md, "Does it fit?")."""

from __future__ import annotations

import pytest

from worker.science.memory import (
    GiB,
    Plan,
    estimate,
    fitting_options,
    lora_params,
    model_shape,
    not_fitting_message,
)

LLAMA3_8B = {
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
}
QKVO = ("q_proj", "k_proj", "v_proj", "o_proj")


def llama3_8b_weights() -> dict[str, list[int]]:
    """Tensor name -> shape, as the safetensors headers of Llama-3-8B list them."""
    h, f, kv, v = 4096, 14336, 1024, 128256
    weights = {
        "model.embed_tokens.weight": [v, h],
        "model.norm.weight": [h],
        "lm_head.weight": [v, h],
    }
    for i in range(32):
        p = f"model.layers.{i}."
        weights |= {
            p + "self_attn.q_proj.weight": [h, h],
            p + "self_attn.k_proj.weight": [kv, h],
            p + "self_attn.v_proj.weight": [kv, h],
            p + "self_attn.o_proj.weight": [h, h],
            p + "mlp.gate_proj.weight": [f, h],
            p + "mlp.up_proj.weight": [f, h],
            p + "mlp.down_proj.weight": [h, f],
            p + "input_layernorm.weight": [h],
            p + "post_attention_layernorm.weight": [h],
        }
    return weights


SHAPE = model_shape(LLAMA3_8B, llama3_8b_weights())
# per layer: q, o 4096^2 = 16,777,216 each; k, v 1024 x 4096 = 4,194,304 each; gate, up, down
# 14336 x 4096 = 58,720,256 each; two norms of 4096: 218,112,000. x 32 = 6,979,584,000, plus
# embeddings and lm_head 128256 x 4096 = 525,336,576 each and the final norm's 4096.
N_PARAMS = 8_030_261_248
# LoRA rank 8 on q, k, v, o: 8 x ((4096 + 4096) x 2 + (1024 + 4096) x 2) = 212,992 per layer
LORA_PARAMS = 32 * 212_992
# Korthikanti et al.: per layer s b h (34 + 5 a s / h) bytes; s = 128, b = 4, h = 4096, a = 32:
# 2,097,152 x (34 + 5) = 81,788,928 at 16 bits; logits 4 x 128 x 128256 x (itemsize + 8)
LAYER_16BIT = 81_788_928
LOGITS_ELEMENTS = 4 * 128 * 128256


def test_parameter_counts() -> None:
    assert SHAPE.n_params == N_PARAMS
    assert (SHAPE.n_layers, SHAPE.d_model, SHAPE.n_heads, SHAPE.vocab) == (32, 4096, 32, 128256)
    assert lora_params(SHAPE, list(QKVO), 8) == LORA_PARAMS == 6_815_744
    assert lora_params(SHAPE, ["self_attn.q_proj"], 1) == 32 * 8192  # a dotted suffix


def test_full_fine_tune_in_bfloat16() -> None:
    e = estimate(SHAPE, Plan(batch=4, seq=128, itemsize=2))
    assert e.weights == e.gradients == 2 * N_PARAMS
    assert e.optimizer == 8 * N_PARAMS  # two fp32 AdamW states
    assert e.activations == 32 * LAYER_16BIT + LOGITS_ELEMENTS * 10
    assert e.total == 12 * N_PARAMS + 3_273_916_416  # 92.8 GiB: 12 bytes/param + 3.05 GiB


def test_lora_and_checkpointing_and_float32() -> None:
    lora = estimate(SHAPE, Plan(4, 128, 2, lora_rank=8, targets=QKVO))
    assert lora.weights == 2 * N_PARAMS + 2 * LORA_PARAMS
    assert (lora.gradients, lora.optimizer) == (2 * LORA_PARAMS, 8 * LORA_PARAMS)
    assert lora.activations == 32 * LAYER_16BIT + LOGITS_ELEMENTS * 10  # backward goes through
    checkpointed = estimate(SHAPE, Plan(4, 128, 2, checkpointing=True))
    # each layer keeps its input (s b h x 2 bytes), one layer is rebuilt at a time
    assert checkpointed.activations == 32 * 2_097_152 * 2 + LAYER_16BIT + LOGITS_ELEMENTS * 10
    fp32 = estimate(SHAPE, Plan(4, 128, 4))
    assert fp32.weights == 4 * N_PARAMS
    assert fp32.activations == 32 * 2 * LAYER_16BIT + LOGITS_ELEMENTS * 12
    fsdp = estimate(SHAPE, Plan(4, 128, 2, devices=4))
    assert fsdp.optimizer == 2 * N_PARAMS and fsdp.activations == lora.activations


def test_the_message_names_the_numbers_and_what_would_fit() -> None:
    plan = Plan(batch=4, seq=128, itemsize=2)
    lora = Plan(4, 128, 2, lora_rank=8, targets=QKVO)
    free = 80 * GiB  # an 80 GB GPU
    options = dict(fitting_options(SHAPE, plan, free, lora, multi_device=True))
    assert list(options) == [
        "lora_rank=8",
        "lora_rank=8, gradient_checkpointing=true",
        "2 devices with FSDP (per device)",
    ]
    assert options["lora_rank=8"].total == 16_074_153_984 + 68_157_440 + 3_273_916_416  # 18.08 GiB
    message = not_fitting_message(
        "finetune of 'llama'", SHAPE, plan, free, "cuda:0", lora=lora, multi_device=True
    )
    assert message.startswith(
        "finetune of 'llama' needs 92.8 GiB (weights 15.0, gradients 15.0, AdamW 59.8, "
        "activations 3.0) but cuda:0 has 80.0 GiB free; would fit: lora_rank=8 (18.1 GiB), "
    )
    tight = not_fitting_message("x", SHAPE, lora, 10 * GiB, "cpu", lora=lora, multi_device=False)
    assert tight.endswith(
        "nothing tried would fit (LoRA, gradient checkpointing, smaller batches, devices)"
    )


def test_a_smaller_batch_keeps_the_global_batch_with_accumulation() -> None:
    # s = 512, h = 4096, a = 32: 134,217,728 x b / 64 x (34 + 20) bytes per layer, x 32 layers,
    # + logits 512 x 128256 x 10 bytes per row + 16.07e9 bytes of weights and adapter + 68e6
    # of adapter gradients and AdamW: b = 4
    # needs 14.5e9 + 2.6e9 + 16.1e9 + 0.07e9 = 31.0 GiB, b = 8 47 GiB (over 40), checkpointing at
    # b = 64 69 GiB (the logits alone 39 GiB).
    plan = Plan(batch=64, seq=512, itemsize=2, lora_rank=8, targets=QKVO)
    options = dict(fitting_options(SHAPE, plan, 40 * GiB, plan, multi_device=False))
    assert list(options) == ["batch_size=4 with grad_accum x16"]
    assert options["batch_size=4 with grad_accum x16"].total / GiB == pytest.approx(31.0, abs=0.05)


def test_fsdp_splits_the_sharded_state_over_torchruns_ranks(monkeypatch) -> None:
    from types import SimpleNamespace

    from worker.science.memory import sharded_over

    monkeypatch.setenv("WORLD_SIZE", "4")
    assert sharded_over(SimpleNamespace(fsdp=True)) == 4
    assert sharded_over(SimpleNamespace(fsdp=False)) == 1  # DDP: a full copy on each rank
    monkeypatch.delenv("WORLD_SIZE")
    assert sharded_over(SimpleNamespace(fsdp=True)) == 1  # one process
