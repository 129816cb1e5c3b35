"""The router's codes.yaml: the reasons an agent may give for not being ready, and the wrap-up codes."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from workrouter.config.routing_types import Label, located, refuse_repeats
from workrouter.domain.names import Name
from workrouter.domain.routing.model import RONA


class Code(BaseModel):
    """A code an agent picks from a list: a stable id for events and reports, and a label for people."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Name = Field(description="Stable id, sent in events and kept in reports.")
    label: Label = Field(description="What agents and supervisors see.")


class NotReadyReason(Code):
    """Why an agent is not ready."""

    system: StrictBool = Field(default=False, description="Set only by the router (e.g. rona); agents cannot pick it.")


class CodesConfigFile(BaseModel):
    """The codes.yaml document."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="workrouter codes")

    not_ready_reasons: list[NotReadyReason] = Field(min_length=1, description=f"Must include {RONA!r}.")
    wrap_up_codes: list[Code] = Field(min_length=1)

    @field_validator("not_ready_reasons")
    @classmethod
    def _with_rona(cls, reasons: list[NotReadyReason]) -> list[NotReadyReason]:
        _distinct(reasons)
        if all(r.id != RONA for r in reasons):
            raise located(f"no {RONA!r} reason: the router sets it when an offer is not answered in time")
        return reasons

    @field_validator("wrap_up_codes")
    @classmethod
    def _distinct_codes(cls, codes: list[Code]) -> list[Code]:
        _distinct(codes)
        return codes


def _distinct(codes: Sequence[Code]) -> None:
    refuse_repeats([c.id for c in codes], "id", "id")
    refuse_repeats([c.label for c in codes], "label", "label")
