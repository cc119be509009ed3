"""What the parameters models share: the base model, a model named by id or by unique name,
the one-of-two-fields rule, and which devices a worker owns."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.errors import FieldError


class JobParams(BaseModel):
    """Base of all parameter models: unknown fields and non-finite numbers (NaN, infinities)
    are errors, not silently ignored or stored."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def exactly_one(first: str, second: str):
    """A model validator: FieldError on ``first`` unless exactly one of the two fields is set
    (assign it to a class attribute; validators run in the order of the class body)."""

    def check(self):
        if (getattr(self, first) is None) == (getattr(self, second) is None):
            raise FieldError(first, f"give exactly one of {first} and {second}")
        return self

    return model_validator(mode="after")(check)


# the name beside an id field: give one or the other
OrName = Annotated[str | None, Field(min_length=1, description="Or its unique name.")]


class ModelRef(JobParams):
    """A registered model, by id or by unique name (a sweep names models before they exist)."""

    model_id: int | None = Field(None, ge=1, description="Registered model id.")
    model_name: OrName = None

    _one_model = exactly_one("model_id", "model_name")


def devices_owned(owned: list[str], wanted: list[str]) -> bool:
    """Whether a worker with devices ``owned`` has every one of ``wanted`` (``cpu`` ranks:
    as many as it lists)."""
    if all(d == "cpu" for d in wanted):
        return owned.count("cpu") >= len(wanted)
    return set(wanted) <= set(owned)
