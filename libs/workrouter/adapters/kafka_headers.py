"""The headers of the records the Kafka bus publishes, and reading one back (decisions D3)."""

from __future__ import annotations

from collections.abc import Sequence

CLOUDEVENTS_JSON = "application/cloudevents+json; charset=UTF-8"
# The event's type beside the structured body, named as in CloudEvents' binary mode: readers that
# go by content-type (structured) ignore it; our batch consumers skip types they do not take by it.
TYPE_HEADER = "ce_type"


def headers_for(event_type: str | None) -> dict[str, str]:
    """The record headers of a published value: its content type, and its event type when it is one."""
    headers = {"content-type": CLOUDEVENTS_JSON}
    if event_type is not None:
        headers[TYPE_HEADER] = event_type
    return headers


def header(headers: Sequence[tuple[str, bytes]] | None, name: str) -> str | None:
    """A record header's value as text, or None."""
    for key, value in headers or ():
        if key == name:
            return value.decode(errors="replace")
    return None
