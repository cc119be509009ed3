"""Fine-tuning on transformers' ``Trainer``: the VCL term added in ``compute_loss``, checkpoints
in Hugging Face format, and a callback that hands each step's numbers to the job.

The model trained is the bridge's own Hugging Face module (``bridge.original_model``): the
bridge wraps its blocks in place, so the Trainer's forward runs through the bridge's hook points
and ``capture_residuals`` reads the window layers' ``hook_resid_post`` with gradients, exactly
as the hand-written loop did. Why Trainer and not TRL's SFTTrainer: docs/training.md.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file
from transformers import Trainer, TrainerCallback
from transformers.trainer_callback import PrinterCallback

from backend.artifacts import remove_path
from worker.models.saving import hf_state_dict, save_hf, trainable_state_dict
from worker.science.vcl import capture_residuals, sft_loss, vcl_term

if TYPE_CHECKING:
    from worker.models.loading import LoadedModel

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
COMPLETE = "checkpoint-complete"  # rank 0 writes it once every rank has saved its part


@dataclass(frozen=True)
class VCLConfig:
    """The VCL options of a fine-tune: weight, window layers and how concentration is read."""

    lam: float
    layers: list[int]
    k: int = 3
    position: str = "last_prompt"
    sign: str = "penalise"
    measure: str = "topk"


@dataclass
class StepTotals:
    """Loss parts (named as the metrics they become), tokens and window concentrations summed
    over the micro-batches of the current optimiser step."""

    sums: dict[str, float] = field(default_factory=dict)
    tokens: int = 0
    batches: int = 0
    concentration: dict[int, float] = field(default_factory=dict)

    def add(self, tokens: int, conc: dict[int, float] | None = None, **parts: float) -> None:
        for name, value in parts.items():
            self.sums[name] = self.sums.get(name, 0.0) + value
        self.tokens += tokens
        self.batches += 1
        for layer, value in (conc or {}).items():
            self.concentration[layer] = self.concentration.get(layer, 0.0) + value

    def reset(self) -> None:
        """Start a new optimiser step."""
        self.__init__()

    def means(self) -> dict[str, Any]:
        n = max(self.batches, 1)
        return {name: value / n for name, value in self.sums.items()} | {
            "window_concentration": {str(k): v / n for k, v in self.concentration.items()}
        }


def across_ranks(totals: StepTotals, device) -> StepTotals:
    """The step's totals summed over every rank of a DDP run (each saw its share of the global
    batch), so rank 0 logs what one process with ``grad_accum`` x ranks would; unchanged in one
    process. Every rank calls it at the same step (the Trainer logs on all of them)."""
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return totals
    names, layers = sorted(totals.sums), sorted(totals.concentration)
    parts = [totals.sums[k] for k in names] + [totals.concentration[k] for k in layers]
    summed = torch.tensor([*parts, totals.tokens, totals.batches], dtype=torch.float64)
    summed = summed.to(device)
    dist.all_reduce(summed)
    *values, tokens, batches = summed.tolist()
    return StepTotals(
        dict(zip(names, values[: len(names)], strict=True)),
        round(tokens),
        round(batches),
        dict(zip(layers, values[len(names) :], strict=True)),
    )


def trainer_arguments(
    out_dir: str,
    device: str,
    *,
    steps: int,
    batch_size: int,
    learning_rate: float,
    warmup_steps: int,
    grad_clip: float,
    seed: int,
    checkpoint_every: int | None = None,
    bf16: bool = False,
    arguments_class: type | None = None,
    **settings: Any,
):
    """The Trainer's settings of every job that trains (``arguments_class``: TrainingArguments,
    or TRL's DPOConfig, with ``settings`` on top): nothing it would spend time on that we do not
    use (no evaluation, reporting, data-loader processes or progress bars; checkpoints only
    every ``checkpoint_every`` steps, the newest kept), a log entry each step for
    ``JobCallback``, the data order from ``seed``, and the job's device."""
    from transformers import TrainingArguments

    if device.startswith("cuda"):
        torch.cuda.set_device(device)
    return (arguments_class or TrainingArguments)(
        output_dir=out_dir,
        max_steps=steps,
        per_device_train_batch_size=batch_size,
        learning_rate=learning_rate,
        warmup_steps=warmup_steps,
        max_grad_norm=grad_clip,
        seed=seed,
        data_seed=seed,
        logging_strategy="steps",
        logging_steps=1,
        save_strategy="steps" if checkpoint_every else "no",
        save_steps=checkpoint_every or 500,
        save_total_limit=None,  # JobCallback.on_save removes the older ones, once marked
        eval_strategy="no",
        report_to=[],
        dataloader_num_workers=0,
        disable_tqdm=True,
        use_cpu=not device.startswith("cuda"),
        bf16=bf16,
        log_level="warning",
        **{"weight_decay": 0.0, **settings},
    )


# The parameters finetune and dpo share by name, passed on to ``trainer_arguments``
JOB_FIELDS = (
    "batch_size",
    "learning_rate",
    "warmup_steps",
    "grad_clip",
    "seed",
    "checkpoint_every",
)


def job_arguments(params: Any, out_dir: str, device: str, **settings: Any):
    """``trainer_arguments`` with the fields of ``JOB_FIELDS`` taken from a job's parameters
    (``FinetuneParams``, ``DPOParams``: the same names)."""
    return trainer_arguments(
        out_dir, device, **{name: getattr(params, name) for name in JOB_FIELDS}, **settings
    )


class VCLTrainer(Trainer):
    """``Trainer`` whose loss is ``sft_loss + lambda * vcl_term`` (DESIGN.md, "VCL").

    Inputs are ``collate_sft`` batches (``input_ids``, ``attention_mask``, ``labels`` -100 off
    the response, ``last_prompt_index``). The concentrations are computed (without gradient)
    when lambda is 0 too, for the live curves; ``vcl_term`` is then 0 as in the loss.
    """

    def __init__(self, loaded: LoadedModel, vcl: VCLConfig, totals: StepTotals, **kwargs):
        super().__init__(model=loaded.bridge.original_model, **kwargs)
        self.loaded, self.vcl, self.totals = loaded, vcl, totals
        self.model_accepts_loss_kwargs = False  # our loss is a per-micro-batch mean
        self.loss_is_scaled_for_ga = False  # so the Trainer divides it by the accumulation
        self.remove_callback(PrinterCallback)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        vcl, labels = self.vcl, inputs["labels"]
        where = (
            {"index": inputs["last_prompt_index"]}
            if vcl.position == "last_prompt"
            else {"mask": labels != -100}
        )
        with capture_residuals(
            self.loaded.bridge, vcl.layers, position=vcl.position, **where
        ) as resid:
            outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        sft = sft_loss(outputs.logits, labels)
        if vcl.lam > 0:
            term, conc = vcl_term(resid, vcl.k, vcl.measure, vcl.sign)
            loss = sft + vcl.lam * term
        else:
            with torch.no_grad():
                _, conc = vcl_term(resid, vcl.k, vcl.measure, vcl.sign)
            term, loss = torch.zeros(()), sft
        tokens = int(inputs["attention_mask"].sum())
        self.totals.add(tokens, conc, loss=loss.item(), sft_loss=sft.item(), vcl_term=term.item())
        return (loss, outputs) if return_outputs else loss

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        """The model as a plain Hugging Face directory (the bridge's wrapper names dropped), or
        with LoRA (frozen weights) only the weights that train, in ``adapter.safetensors``."""
        out = Path(output_dir or self.args.output_dir)
        if self.is_fsdp_enabled:  # every rank gathered ``state_dict``; rank 0 holds it
            if self.args.should_save:
                save_hf(self.loaded, out, state_dict)
        elif all(p.requires_grad for p in self.model.parameters()):
            save_hf(self.loaded, out)
        else:
            out.mkdir(parents=True, exist_ok=True)
            save_file(trainable_state_dict(self.loaded), str(out / "adapter.safetensors"))

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        if self.is_fsdp_enabled:  # accelerate's FSDP file (torch.load with weights_only)
            return super()._load_from_checkpoint(resume_from_checkpoint, model)
        saved: dict[str, torch.Tensor] = {}
        for file in sorted(Path(resume_from_checkpoint).glob("*.safetensors")):
            saved |= load_file(str(file))
        own = hf_state_dict(self.loaded)
        unknown = sorted(set(saved) - set(own))
        if unknown:
            raise ValueError(f"checkpoint: weights {unknown[:3]} are not in the model")
        with torch.no_grad():
            for weight_name, tensor in saved.items():
                own[weight_name].copy_(tensor)


def last_checkpoint(folder: Path) -> Path | None:
    """The newest complete ``checkpoint-N`` in ``folder``: one that ``JobCallback.on_save``
    marked ``COMPLETE`` (every rank's files written) with a readable ``trainer_state.json``."""
    found = []
    for path in folder.glob("checkpoint-*"):
        match = CHECKPOINT.match(path.name)
        try:
            if not (match and (path / COMPLETE).is_file()):
                continue
            if json.loads((path / "trainer_state.json").read_text()):
                found.append((int(match.group(1)), path))
        except (OSError, ValueError):
            continue
    return max(found)[1] if found else None


class JobCallback(TrainerCallback):
    """Per step: hands a metrics dict to ``write`` and reports progress to ``progress``.

    ``write(values, layer_values, step, flush)`` gets the step's numbers (``flush`` is true
    before a checkpoint and at the end, so every step before a saved checkpoint is stored);
    ``progress(fraction, message)`` may raise ``stop_on``: training then stops at this step,
    without saving, and the exception is kept in ``stopped`` for the caller to re-raise.
    """

    def __init__(
        self,
        totals: StepTotals,
        write: Callable[[dict, dict, int, bool], None],
        progress: Callable[[float, str], None],
        stop_on: type[BaseException],
    ) -> None:
        self.totals, self.write, self.progress, self.stop_on = totals, write, progress, stop_on
        self.stopped: BaseException | None = None
        self.last_loss: float | None = None
        self._step_start = self._run_start = time.perf_counter()
        self._first_step: int | None = None

    def on_step_begin(self, args, state, control, **kwargs):
        self.totals.reset()
        self._step_start = time.perf_counter()
        if self._first_step is None:
            self._first_step, self._run_start = state.global_step, self._step_start

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:
            control.should_save = False  # the final weights are saved as the model instead

    def on_save(self, args, state, control, **kwargs):
        """Mark the checkpoint complete once every rank has written its part (rank 0 writes the
        weights, optimizer and ``trainer_state.json``, each rank its own RNG state, with no
        wait between them), then remove the older ones: a complete one is always on disk."""
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.barrier()
        if not args.should_save:
            return
        newest = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        (newest / COMPLETE).touch()
        for older in Path(args.output_dir).glob("checkpoint-*"):  # only now: one is complete
            if older != newest and CHECKPOINT.match(older.name):
                remove_path(older)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "loss" not in logs or self.stopped is not None:
            return  # the Trainer's end-of-training summary, or already stopping
        elapsed = time.perf_counter() - self._step_start
        means = across_ranks(self.totals, args.device).means()
        layer_values = {"window_concentration": means.pop("window_concentration")}
        self.last_loss = means["loss"]
        values = {
            **means,
            "learning_rate": float(logs["learning_rate"]),
            "tokens_per_s": self.totals.tokens / max(elapsed, 1e-9),
            "grad_norm": logs.get("grad_norm"),
        }
        done, total = state.global_step, state.max_steps
        flush = bool(control.should_save) or done >= total
        rate = (time.perf_counter() - self._run_start) / max(done - (self._first_step or 0), 1)
        try:
            self.write(values, layer_values, done - 1, flush)
            self.progress(
                done / total,
                f"step {done}/{total} loss {means['loss']:.3f}, ETA {rate * (total - done):.0f} s",
            )
        except self.stop_on as exc:
            self.stopped = exc
            control.should_training_stop = True
            control.should_save = False
