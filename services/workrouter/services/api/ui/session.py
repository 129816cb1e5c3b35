"""The browser session: the api-issued token in an HttpOnly, SameSite=Strict cookie, and the cross-site check
every state-changing UI request passes (docs/security.md)."""

from __future__ import annotations

from fastapi import Request, Response

from workrouter.services.api.agent_context import AgentApi, Caller
from workrouter.services.api.errors import HttpError

COOKIE = "wr_session"
SAME_ORIGIN_FETCH = ("same-origin", "none")  # Sec-Fetch-Site values of a request the page itself made


def keep(response: Response, request: Request, token: str, max_age: int | None) -> None:
    """Put the token in the session cookie: never readable by scripts, never sent cross-site, Secure on https."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear(response: Response, request: Request) -> None:
    """Forget the session cookie."""
    response.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="strict", secure=request.url.scheme == "https")


def bearer(request: Request) -> str | None:
    """The session's token as an Authorization header value, or None when signed out."""
    token = request.cookies.get(COOKIE)
    return f"Bearer {token}" if token else None


async def caller_of(api: AgentApi, request: Request) -> Caller | None:
    """The signed-in agent, or None when there is no session or its token is no longer accepted (expired,
    revoked, an agent removed): the page then asks to sign in again."""
    authorization = bearer(request)
    if authorization is None:
        return None
    try:
        return await api.authenticate(authorization)
    except HttpError as exc:
        if exc.response.status_code in (401, 403):
            return None
        raise


def cross_site(request: Request) -> str | None:
    """Why a state-changing request must be refused as cross-site, or None when it comes from our own pages.

    Browsers say where a request comes from: `Sec-Fetch-Site` (all current ones) and `Origin` (every POST
    from a page). Either naming another site refuses it. A request with neither comes from no browser, so
    no browser's cookie can be abused by it; the SameSite=Strict cookie is the second guard."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in SAME_ORIGIN_FETCH:
        return f"cross-site request refused (Sec-Fetch-Site: {site})"
    origin = request.headers.get("origin")
    if origin is not None and origin != own_origin(request):
        return f"cross-site request refused (Origin: {origin})"
    return None


def own_origin(request: Request) -> str:
    """The origin this request was addressed to (scheme, host and port as the browser sees them)."""
    host = request.headers.get("host") or request.url.netloc
    return f"{request.url.scheme}://{host}"
