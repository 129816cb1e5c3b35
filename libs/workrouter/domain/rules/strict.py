"""The base of every model in a rule file: immutable, strict, and refusing unknown keys and nulls by name."""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator


class StrictModel(BaseModel):
    """Base of every model in the file: immutable, strict types, unknown keys and nulls refused by name."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
    null_hint: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        allowed = [field.alias or name for name, field in cls.model_fields.items()]
        for key, value in data.items():
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ValueError(f"unknown key {key!r} ({hint}allowed: {', '.join(allowed)})")
            if value is None:
                raise ValueError(f"{key}: null is not allowed (leave the key out{cls.null_hint})")
        return data
