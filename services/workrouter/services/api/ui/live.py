"""The desktop's live sections over Server-Sent Events, for htmx's sse extension.

It rides on the agent's own event stream (streams.agent_events: inbox subscribed before the snapshot,
heartbeats while open): whenever that stream has something to say, the sections are rendered again from
a fresh snapshot, and each one whose HTML changed is sent as an event named after it (`sse-swap`). A
section that did not change is not sent, so a keyboard user's focus in it (a wrap-up picker) stays put.
The page says which versions it shows (a digest per section in the stream's URL), so the stream's first
render does not overwrite a section the agent may already be using, unless it changed in between.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any

from workrouter.services.api.agent_context import AgentApi, Caller
from workrouter.services.api.streams import agent_events, snapshot
from workrouter.services.api.ui.render import fragment
from workrouter.services.api.ui.views import desk

SECTIONS = ("status", "offers", "work")


def sse_html(event: str, html: str) -> str:
    """One SSE event whose data is an HTML fragment (every line its own `data:` line)."""
    lines = "".join(f"data: {line}\n" for line in html.strip().splitlines())
    return f"event: {event}\n{lines}\n"


def digest(html: str) -> str:
    """A short digest of a section's HTML: which version of it a page shows."""
    return hashlib.sha256(html.encode()).hexdigest()[:16]


def sections(context: dict[str, Any]) -> dict[str, str]:
    """Each live section's HTML for a desktop context."""
    return {name: fragment(f"agent/_{name}.html", context) for name in SECTIONS}


async def render_sections(api: AgentApi, caller: Caller) -> dict[str, str]:
    """Each live section's HTML, from the agent's snapshot now."""
    return sections(desk(await snapshot(api, caller), api.routing))


async def desk_events(
    api: AgentApi, caller: Caller, disconnected: Callable[[], Awaitable[bool]], shown: Mapping[str, str]
) -> AsyncGenerator[str, None]:
    """The desktop's stream: changed sections after each notification, keep-alives passed on. `shown`: the
    digest of each section the page shows already."""
    sent = {name: shown[name] for name in SECTIONS if name in shown}
    async for chunk in agent_events(api, caller, disconnected):
        for name, html in (await render_sections(api, caller)).items():
            if sent.get(name) != (version := digest(html)):
                sent[name] = version
                yield sse_html(name, html)
        if chunk.startswith(":"):
            yield chunk
