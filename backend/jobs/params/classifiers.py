"""Names of the refusal classifiers that evaluate, reclassify and preference_data take."""

from __future__ import annotations

from backend.errors import FieldError

# The rule classifiers of worker.science.refusal_classifier.CLASSIFIERS (a unit test keeps the
# two equal) and the model classifiers "<kind>:<registered model name>" of worker.science.judges.
RULE_CLASSIFIERS = ("rules", "string_match")
MODEL_CLASSIFIERS = ("judge", "wildguard")


def classifier_model(name: str) -> str | None:
    """The model a model classifier's name names ("judge:demo" -> "demo"); None for the rules."""
    kind, sep, model = name.partition(":")
    return model if sep and kind in MODEL_CLASSIFIERS and model else None


def classifier_name(name: str) -> str:
    """``name`` if it names a refusal classifier, else FieldError("classifier", why)."""
    if name in RULE_CLASSIFIERS or classifier_model(name) is not None:
        return name
    if name.startswith("llamaguard:"):
        raise FieldError(
            "classifier", "Llama Guard judges harm, not refusal: it is not a refusal classifier"
        )
    known = ", ".join(RULE_CLASSIFIERS + tuple(f"{k}:<model name>" for k in MODEL_CLASSIFIERS))
    raise FieldError("classifier", f"unknown classifier {name!r} (known: {known})")
