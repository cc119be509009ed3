"""The rule-based refusal judgement (pure Python, no torch); see docs/classifier.md."""

from worker.science.refusal_rules.rules import rule_verdict

__all__ = ["rule_verdict"]
