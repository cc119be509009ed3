"""The metric catalogue: one definition per name, shared by the worker (what it stores), the API
(what it serves) and the UI (what it lists). Names are DESIGN.md's.

Pure Python with no imports beyond the standard library, so every room may import it. Per-layer
values are stored and served flat under these names (``values``), with 95% intervals beside them
under the same names (``intervals``).

Adding a metric: a ``Metric`` here, its computation in the worker, and a migration only if it
needs a column of its own. Every page, table and export that lists metrics takes them from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    """Where a metric applies."""

    LAYER = "layer"  # one value per layer of a capture run
    RUN = "run"  # one value per run (its global basis)
    EVALUATION = "evaluation"  # one value per refusal evaluation
    TRAIN_STEP = "train_step"  # one value per optimiser step of a fine-tune
    PROBE = "probe"  # one value per layer of a linear probe fitted on a capture run


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    scopes: frozenset[Scope]
    description: str
    fmt: str = ".3f"  # format spec of a value
    interval: bool = False  # a bootstrap 95% interval is stored beside the value

    def format(self, value: float | None) -> str:
        return "n/a" if value is None else format(value, self.fmt)


KS: tuple[int, ...] = (1, 2, 3, 5, 10)  # k of concentration@k and flow@k
REFUSAL_PCS: tuple[int, ...] = (1, 2, 3, 4, 5)  # k of refusal_direction_cos@k

_LAYER_RUN = frozenset({Scope.LAYER, Scope.RUN})
_LAYER = frozenset({Scope.LAYER})
_EVALUATION = frozenset({Scope.EVALUATION})
_STEP = frozenset({Scope.TRAIN_STEP})
_PROBE = frozenset({Scope.PROBE})


def _spectra() -> list[Metric]:
    out = [
        Metric(
            f"concentration@{k}",
            f"Concentration@{k}",
            _LAYER_RUN,
            f"Share of variance in the top {k} principal component(s).",
            interval=True,
        )
        for k in KS
    ]
    out += [
        Metric(
            "effective_rank",
            "Effective rank",
            _LAYER_RUN,
            "exp of the entropy of the explained-variance ratios.",
            ".2f",
            True,
        ),
        Metric(
            "participation_ratio",
            "Participation ratio",
            _LAYER_RUN,
            "(sum lambda)^2 / sum lambda^2.",
            ".2f",
            True,
        ),
        Metric(
            "intrinsic_dim",
            "Intrinsic dimension (TwoNN)",
            _LAYER_RUN,
            "TwoNN estimate (Facco et al. 2017).",
            ".2f",
            True,
        ),
        Metric(
            "total_variance", "Total variance", _LAYER_RUN, "Sum of the eigenvalues.", ".4g", True
        ),
        Metric(
            "mean_norm", "Mean residual norm", _LAYER, "Mean L2 norm of the residuals.", ".3g", True
        ),
        Metric(
            "alignment",
            "Alignment with the reference",
            _LAYER_RUN,
            "|cos| of the ID-th principal directions of the run and its reference run.",
        ),
    ]
    out += [
        Metric(
            f"flow@{k}",
            f"Flow@{k} to the next layer",
            _LAYER,
            f"||U_l^T U_(l+1)||_F^2 / k of the top-{k} principal subspaces.",
        )
        for k in KS
    ]
    out += [
        Metric(
            f"refusal_direction_cos@{k}",
            f"Refusal direction |cos| with PC{k}",
            _LAYER,
            f"|cos| of mean(unsafe) - mean(safe) with principal component {k}.",
        )
        for k in REFUSAL_PCS
    ]
    out += [
        Metric(
            "refusal_direction_variance",
            "Variance along the refusal direction",
            _LAYER,
            "Share of the total variance along the unit refusal direction.",
            interval=True,
        ),
        Metric(
            "refusal_direction_norm",
            "Refusal direction norm",
            _LAYER,
            "||mean(unsafe) - mean(safe)||.",
            ".3g",
            True,
        ),
    ]
    return out


def _evaluation() -> list[Metric]:
    share = ".1%"
    return [
        Metric(
            "false_refusal_rate",
            "False-refusal rate",
            _EVALUATION,
            "Share of safe prompts refused (full or partial).",
            share,
        ),
        Metric(
            "false_refusal_rate_full",
            "False-refusal rate (full only)",
            _EVALUATION,
            "Share of safe prompts fully refused.",
            share,
        ),
        Metric("safety", "Safety", _EVALUATION, "Share of unsafe prompts refused.", share),
        Metric("usefulness", "Usefulness", _EVALUATION, "1 - false_refusal_rate.", share),
        Metric("f1", "F1", _EVALUATION, "2 safety usefulness / (safety + usefulness)."),
        Metric(
            "n_unparsed",
            "Unparsed verdicts",
            _EVALUATION,
            "Completions whose judge answer named no single class (left out of the rates).",
            ".0f",
        ),
        Metric(
            "intervention_kl",
            "Intervention KL",
            _EVALUATION,
            "Mean KL(p_base || p_intervened) of the next token at the first response position "
            "over the safe prompts (evaluations under an intervention).",
            ".4f",
        ),
        Metric("heldout_loss", "Held-out loss", _EVALUATION, "Loss on general held-out data."),
        Metric("perplexity", "Perplexity", _EVALUATION, "exp(held-out loss).", ".2f"),
        Metric(
            "refusal_score_mean",
            "Mean refusal score",
            _EVALUATION,
            "Mean log-odds of a refusal opening (no generation).",
        ),
        Metric(
            "refusal_score_agreement",
            "Refusal score agreement",
            _EVALUATION,
            "Share of prompts where refusal_score > 0 matches the generated verdict.",
            share,
        ),
        Metric(
            "refusal_score_threshold",
            "Calibrated refusal score threshold",
            _EVALUATION,
            "Threshold t of 'refused iff refusal_score > t' that best matches the verdicts.",
            ".2f",
        ),
        Metric(
            "refusal_score_auroc",
            "Refusal score AUROC",
            _EVALUATION,
            "AUROC of refusal_score for a refused verdict (Mann-Whitney).",
            interval=True,
        ),
        Metric(
            "refusal_score_calibrated_agreement",
            "Calibrated refusal score agreement",
            _EVALUATION,
            "Share of prompts where refusal_score > the calibrated threshold matches the verdict.",
            share,
            True,
        ),
    ]


def _training() -> list[Metric]:
    return [
        Metric("loss", "Loss", _STEP, "SFT loss + VCL term (finetune); the DPO loss (dpo)."),
        Metric("sft_loss", "SFT loss", _STEP, "Cross-entropy on response tokens."),
        Metric("vcl_term", "VCL term", _STEP, "lambda * s * mean concentration over the window."),
        Metric("learning_rate", "Learning rate", _STEP, "Learning rate of the step.", ".2e"),
        Metric("tokens_per_s", "Tokens/s", _STEP, "Training throughput.", ".0f"),
        Metric("grad_norm", "Gradient norm", _STEP, "Norm of the gradients before clipping."),
        Metric(
            "dpo_reward_margin",
            "DPO reward margin",
            _STEP,
            "Mean of beta * (log-ratio of chosen - log-ratio of rejected) to the reference (dpo).",
        ),
        Metric(
            "dpo_reward_accuracy",
            "DPO reward accuracy",
            _STEP,
            "Share of pairs whose chosen completion has the higher implicit reward (dpo).",
        ),
        Metric(
            "window_concentration",
            "VCL window concentration",
            _STEP,
            "The VCL measure of one window layer (conc_k, or ||R^T R||_F^2 / tr(R^T R)^2 "
            "with measure=inverse_participation_ratio); stored per layer.",
        ),
    ]


def _probes() -> list[Metric]:
    return [
        Metric(
            "probe_accuracy",
            "Probe accuracy",
            _PROBE,
            "Held-out accuracy of a logistic-regression probe of unsafe vs safe (stratified "
            "k-fold); Wilson 95% interval.",
            interval=True,
        ),
        Metric(
            "probe_auroc",
            "Probe AUROC",
            _PROBE,
            "Held-out AUROC of the same probe; Hanley-McNeil 95% interval.",
            interval=True,
        ),
    ]


CATALOGUE: dict[str, Metric] = {
    m.name: m for m in (*_spectra(), *_evaluation(), *_training(), *_probes())
}


def metrics_for(scope: Scope, *, interval: bool | None = None) -> list[Metric]:
    """The catalogue's metrics of ``scope`` in catalogue order (only those with an interval
    when ``interval`` is True)."""
    return [
        m
        for m in CATALOGUE.values()
        if scope in m.scopes and (interval is None or m.interval == interval)
    ]


def get_metric(name: str) -> Metric:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(CATALOGUE)}") from None
