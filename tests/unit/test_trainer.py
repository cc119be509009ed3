"""The fine-tuning trainer: residuals from hidden states vs the bridge's hook points, the loss
parts against Hugging Face's own loss, stopping on a lost job, and complete checkpoints."""

from __future__ import annotations

import json

import pytest
import torch
from model_fixtures import PROMPTS

from worker.models.demo import build_model, encode_example, train_tokenizer
from worker.models.loading import LoadedModel, load_model
from worker.science.batching import collate_sft
from worker.science.vcl import capture_residuals, vcl_term, vcl_window

RESPONSES = ["Use kill -9 with the pid.", "I'm sorry, but I can't help with that."]
EXAMPLES = [(p, RESPONSES[i % 2]) for i, p in enumerate(PROMPTS * 2)]  # 10 examples


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory):
    """A randomly initialised model of the demo model's shape (4 layers x 128)."""
    torch.manual_seed(0)
    tokenizer = train_tokenizer([t for pair in EXAMPLES for t in pair] * 5, vocab_size=400)
    model = build_model(tokenizer, n_layers=4, d_model=128)
    out = tmp_path_factory.mktemp("demo")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture()
def demo(demo_dir) -> LoadedModel:
    return load_model(str(demo_dir))


def _batch(model: LoadedModel) -> dict[str, torch.Tensor]:
    encoded = [encode_example(model.tokenizer, p, r) for p, r in EXAMPLES]
    return collate_sft(encoded, model.tokenizer.pad_token_id)


@pytest.mark.parametrize("position", ["last_prompt", "response"])
def test_hidden_states_equal_the_bridge_hook_residuals(demo: LoadedModel, position) -> None:
    """hidden_states[l + 1] is block l's resid_post for every block but the last, where
    Hugging Face returns it after the final norm."""
    b = _batch(demo)
    rows = torch.arange(len(EXAMPLES))
    response = b["labels"] != -100
    where = {"index": b["last_prompt_index"]} if position == "last_prompt" else {"mask": response}
    hf = demo.bridge.original_model
    layers = list(range(demo.n_layers))
    with capture_residuals(demo.bridge, layers, position=position, **where) as resid:
        out = hf(b["input_ids"], attention_mask=b["attention_mask"], output_hidden_states=True)

    def pick(h: torch.Tensor) -> torch.Tensor:
        return h[rows, b["last_prompt_index"]] if position == "last_prompt" else h[response]

    assert vcl_window(demo.n_layers) == [1]  # the demo's default window
    for layer in layers[:-1]:
        torch.testing.assert_close(
            pick(out.hidden_states[layer + 1]), resid[layer], rtol=1e-5, atol=1e-5
        )
    last = hf.model.norm(resid[layers[-1]])
    torch.testing.assert_close(pick(out.hidden_states[-1]), last, rtol=1e-5, atol=1e-5)


def _trainer(model: LoadedModel, tmp_path, lam: float, callbacks=(), steps: int = 4, every=None):
    from transformers import TrainingArguments

    from worker.science.trainer import StepTotals, VCLConfig, VCLTrainer

    totals = StepTotals()
    encoded = [encode_example(model.tokenizer, p, r) for p, r in EXAMPLES]
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=steps,
        per_device_train_batch_size=5,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="steps" if every else "no",
        save_steps=every or 500,
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        remove_unused_columns=False,
        dataloader_drop_last=True,
    )
    trainer = VCLTrainer(
        model,
        VCLConfig(lam, [0, 1], k=2, sign="encourage"),
        totals,
        args=args,
        train_dataset=encoded,
        data_collator=lambda ex: collate_sft(ex, model.tokenizer.pad_token_id),
        callbacks=list(callbacks),
    )
    return trainer, totals


@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_loss_is_hf_loss_plus_lambda_times_the_vcl_term(demo, tmp_path, lam) -> None:
    trainer, totals = _trainer(demo, tmp_path, lam)
    b = _batch(demo)
    hf = demo.bridge.original_model
    loss = trainer.compute_loss(hf, b)
    with torch.no_grad():  # independent references: HF's own loss, residuals from hidden states
        out = hf(b["input_ids"], attention_mask=b["attention_mask"], labels=b["labels"],
                 output_hidden_states=True)  # fmt: skip
        rows = torch.arange(len(EXAMPLES))
        resid = {i: out.hidden_states[i + 1][rows, b["last_prompt_index"]] for i in (0, 1)}
        term, conc = vcl_term(resid, 2, sign="encourage")
    assert totals.batches == 1
    assert totals.sums["sft_loss"] == pytest.approx(out.loss.item(), rel=1e-5)
    assert totals.sums["vcl_term"] == (pytest.approx(term.item(), rel=1e-5) if lam else 0.0)
    assert totals.concentration == pytest.approx(conc, rel=1e-5)
    assert loss.item() == pytest.approx(out.loss.item() + lam * term.item(), rel=1e-5)
    loss.backward()  # the VCL term's gradient reaches the embeddings
    assert hf.model.embed_tokens.weight.grad.abs().sum() > 0


def test_callback_writes_each_step_and_stops_when_the_job_is_lost(demo, tmp_path) -> None:
    from worker.science.trainer import COMPLETE, JobCallback, StepTotals

    class Lost(Exception):
        pass

    rows: list[tuple[int, dict, bool]] = []

    def progress(fraction: float, message: str) -> None:
        if len(rows) == 3:
            raise Lost("cancelled")

    callback = JobCallback(StepTotals(), lambda v, lv, s, f: rows.append((s, v, f)), progress, Lost)
    trainer, totals = _trainer(demo, tmp_path, 1.0, steps=50, every=2)
    callback.totals = totals
    trainer.add_callback(callback)
    trainer.train()
    assert isinstance(callback.stopped, Lost) and trainer.state.global_step == 3
    assert [s for s, _, _ in rows] == [0, 1, 2]
    assert [f for _, _, f in rows] == [False, True, False]  # flushed before the checkpoint
    assert set(rows[0][1]) == {"loss", "sft_loss", "vcl_term", "learning_rate", "tokens_per_s",
                               "grad_norm"}  # fmt: skip
    assert rows[0][1]["grad_norm"] > 0 and rows[1][1]["learning_rate"] > 0
    saved = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert saved == ["checkpoint-2"]  # nothing saved at the stop
    assert (tmp_path / "out" / "checkpoint-2" / COMPLETE).is_file()  # marked by on_save


def test_last_checkpoint_skips_a_partial_write(tmp_path) -> None:
    from worker.science.trainer import COMPLETE, last_checkpoint

    assert last_checkpoint(tmp_path) is None
    for step, state in [(10, {"global_step": 10}), (20, None), (3, {"global_step": 3})]:
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / COMPLETE).touch()
        if state:
            (folder / "trainer_state.json").write_text(json.dumps(state))
    (tmp_path / "checkpoint-30").mkdir()
    (tmp_path / "checkpoint-30" / "trainer_state.json").write_text('{"glob')  # cut short
    (tmp_path / "checkpoint-30" / COMPLETE).touch()
    (tmp_path / "checkpoint-40").mkdir()  # rank 0's files, not yet marked: a rank still saving
    (tmp_path / "checkpoint-40" / "trainer_state.json").write_text('{"global_step": 40}')
    assert last_checkpoint(tmp_path) == tmp_path / "checkpoint-10"


def test_under_fsdp_save_writes_the_gathered_state_and_only_on_rank_0(
    demo, tmp_path, monkeypatch
) -> None:
    """FSDP itself needs GPUs (docs/training.md); what our ``_save`` does with the state dict
    the Trainer gathers is checked here: rank 0 writes those weights as a Hugging Face
    directory (not the module's own, which are shards under FSDP), other ranks write nothing."""
    from safetensors.torch import load_file
    from transformers import TrainingArguments

    from worker.models.saving import hf_state_dict

    trainer, _ = _trainer(demo, tmp_path, 0.0)
    trainer.is_fsdp_enabled = True
    gathered = {k: v.detach() * 2 for k, v in demo.bridge.original_model.state_dict().items()}
    trainer._save(str(tmp_path / "rank0"), state_dict=gathered)
    saved = load_file(str(tmp_path / "rank0" / "model.safetensors"))
    expected = hf_state_dict(demo, gathered)
    assert saved.keys() and all(torch.equal(saved[k], expected[k]) for k in saved)
    live = hf_state_dict(demo)
    assert not any(torch.equal(saved[k], live[k]) for k in saved if live[k].abs().sum() > 0)
    monkeypatch.setattr(TrainingArguments, "should_save", property(lambda _: False))
    trainer._save(str(tmp_path / "rank1"), state_dict={})
    assert not (tmp_path / "rank1").exists()
