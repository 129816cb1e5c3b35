"""The agent desktop: /ui/agent, its live sections' stream, and its actions (status, answer, complete)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from workrouter.services.api.agent_context import AgentApi
from workrouter.services.api.streams import snapshot
from workrouter.services.api.ui import session
from workrouter.services.api.ui.actions import call_route
from workrouter.services.api.ui.forms import read_form
from workrouter.services.api.ui.live import SECTIONS, desk_events, digest, sections
from workrouter.services.api.ui.render import page
from workrouter.services.api.ui.views import desk


def desktop_routes(api: AgentApi) -> APIRouter:
    """/ui/agent and what its page calls."""
    router = APIRouter(prefix="/ui/agent", include_in_schema=False)

    @router.get("")
    async def agent_desktop(request: Request) -> Response:
        caller = await session.caller_of(api, request)
        if caller is None:
            return RedirectResponse("/ui/sign-in", status_code=303)
        context = desk(await snapshot(api, caller), api.routing)
        shown = sections(context)
        events = "/ui/agent/events?" + urlencode({name: digest(html) for name, html in shown.items()})
        return page(request, "agent/desktop.html", {**context, "sections": shown, "events": events})

    @router.get("/events")
    async def agent_stream(request: Request) -> Response:
        caller = await session.caller_of(api, request)
        if caller is None or api.inbox is None:
            return Response(status_code=204)  # an EventSource stops reconnecting on 204
        return StreamingResponse(
            desk_events(api, caller, request.is_disconnected, _shown(request)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.post("/presence")
    async def presence(request: Request) -> Response:
        state, _, reason = (await read_form(request)).get("status", "").partition(":")
        body: dict[str, Any] = {"presence": state, **({"reason": reason} if reason else {})}
        return await _act(request, "/v1/agent/presence", body, "Status changed.")

    @router.post("/offers/{task_id}/{answer}")
    async def answer_offer(task_id: str, answer: str, request: Request) -> Response:
        offer = (await read_form(request)).get("offer_id")
        path = f"/v1/agent/offers/{quote(task_id, safe='')}/{quote(answer, safe='')}"
        done = "Offer accepted." if answer == "accept" else "Offer rejected."
        return await _act(request, path, {"offer_id": offer} if offer else {}, done)

    @router.post("/tasks/{task_id}/complete")
    async def complete(task_id: str, request: Request) -> Response:
        code = (await read_form(request)).get("wrap_up_code")
        path = f"/v1/agent/tasks/{quote(task_id, safe='')}/complete"
        return await _act(request, path, {"wrap_up_code": code} if code else {}, "Task completed.")

    return router


def _shown(request: Request) -> dict[str, str]:
    """The section digests the page named in the stream's URL (16 hex digits each; anything else is ignored)."""
    found = {name: request.query_params.get(name, "") for name in SECTIONS}
    return {name: value for name, value in found.items() if len(value) == 16 and value.isalnum()}


async def _act(request: Request, path: str, body: dict[str, Any], done: str) -> Response:
    """Carry out one desktop action through its JSON route; the answer is a status line for the page (a session
    no longer accepted goes back to the sign-in form)."""
    if (refusal := session.cross_site(request)) is not None:
        return page(request, "agent/_flash.html", {"ok": False, "message": refusal}, 403)
    outcome = await call_route(request, path, body)
    if request.headers.get("hx-request") != "true":  # a plain form post (htmx not loaded yet): back to the page
        return RedirectResponse("/ui/agent", status_code=303)
    if outcome.status == 401:
        response = HTMLResponse("", headers={"HX-Redirect": "/ui/sign-in"})
        session.clear(response, request)
        return response
    message = done if outcome.ok else f"Refused ({outcome.status}): {outcome.detail}"
    return page(request, "agent/_flash.html", {"ok": outcome.ok, "message": message})
