"""FlowLens's own errors: one base class, typed subclasses that carry their fields, so callers
branch on types and read attributes, never parse message strings. Torch-free (the CLI uses it)."""

from __future__ import annotations


class FlowLensError(Exception):
    """Base of the errors FlowLens raises on purpose."""


class FieldError(FlowLensError, ValueError):
    """One field's value is refused: ``field`` names it, ``message`` says why.

    A ValueError, so that Pydantic reports one raised in a validator (its ``ctx["error"]``); the
    API answers 422 with ``loc`` body.params.<field> and ``msg`` the message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def format_api_errors(detail) -> str:
    """An API error ``detail`` as one line: 422 lists as "<loc>: <msg>; ...", others as text."""
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(map(str, e.get('loc', [])[1:]))}: {e.get('msg')}" for e in detail
        )
    return str(detail)
