"""The browser UI without a browser: the session cookie, the cross-site check, what the desktop shows (safe
screen pops only), that its buttons go through the agent API's own routes, and the vendored files' hashes."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.agent_api import T0, Harness, entry, harness, published, seed_routing
from workrouter.adapters.redis_agent_records import Holder
from workrouter.config.catalog import Catalog
from workrouter.contracts.agent_commands import AnswerOffer, ChangePresence, FinishTask
from workrouter.services.api.agent_context import AgentApi, StreamTimings
from workrouter.services.api.passwords import PasswordSignIn, hash_password
from workrouter.services.api.sign_in import SignIn
from workrouter.services.api.streams import KEEPALIVE
from workrouter.services.api.ui.live import desk_events, digest, render_sections, sse_html
from workrouter.services.api.ui.views import screen_pop

STATIC = Path(__file__).resolve().parents[2] / "services/workrouter/services/api/ui/static"
SAME_ORIGIN = {"Origin": "http://api", "Sec-Fetch-Site": "same-origin", "HX-Request": "true"}


@pytest.fixture
async def h(catalog: Catalog) -> AsyncIterator[Harness]:
    async with harness(catalog) as found:
        yield found


async def signed_in(h: Harness, agent_id: str = "alice") -> None:
    answer = await h.client.post("/ui/sign-in", data={"token": f"{agent_id}-demo-token"}, headers=SAME_ORIGIN)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/ui/agent"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://crm.example/cases/1", "https://crm.example/cases/1"),
        ("http://crm.example/x?a=1", "http://crm.example/x?a=1"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        (" javascript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:x", None),
        ("https:no-host", None),
        ("/relative/path", None),
        ("", None),
        (None, None),
        ("http://[bad", None),
    ],
)
def test_a_screen_pop_opens_only_http_and_https(url: str | None, shown: str | None) -> None:
    assert screen_pop(url) == shown


def test_a_section_is_one_sse_event_with_a_data_line_per_html_line() -> None:
    assert sse_html("work", "<p>a</p>\n<p>b</p>\n") == "event: work\ndata: <p>a</p>\ndata: <p>b</p>\n\n"


def test_the_vendored_files_are_the_published_ones() -> None:
    readme = (STATIC / "vendor" / "README.md").read_text()
    pinned = dict(re.findall(r"\| `([\w.-]+\.js)` \|.*\| `([0-9a-f]{64})` \|", readme))
    assert set(pinned) == {"htmx-2.0.11.min.js", "htmx-ext-sse-2.2.4.min.js"}
    for name, sha in pinned.items():
        assert hashlib.sha256((STATIC / "vendor" / name).read_bytes()).hexdigest() == sha, name
    assert (STATIC / "vendor" / "htmx-LICENSE").exists()
    assert (STATIC / "vendor" / "htmx-ext-sse-LICENSE").exists()


async def test_the_desktop_needs_a_session(h: Harness) -> None:
    answer = await h.client.get("/ui/agent")
    assert (answer.status_code, answer.headers["location"]) == (303, "/ui/sign-in")
    assert (await h.client.get("/ui/agent/events")).status_code == 204  # an EventSource stops retrying


async def test_sign_in_keeps_the_token_in_a_strict_http_only_cookie(h: Harness) -> None:
    answer = await h.client.post("/ui/sign-in", data={"token": "alice-demo-token"}, headers=SAME_ORIGIN)
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("wr_session=alice-demo-token;")
    assert {"HttpOnly", "Path=/ui", "SameSite=strict"} <= {p.strip() for p in cookie.split(";")}
    assert "Secure" not in cookie
    assert "Max-Age" not in cookie
    page = await h.client.get("/ui/agent")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "Signed in as <strong>alice</strong>" in page.text
    out = await h.client.post("/ui/sign-out", headers=SAME_ORIGIN)
    assert out.status_code == 303
    assert 'wr_session=""' in out.headers["set-cookie"]


async def test_the_cookie_is_secure_on_https(catalog: Catalog) -> None:
    async with harness(catalog) as h:
        h.client.base_url = "https://api"
        headers = {**SAME_ORIGIN, "Origin": "https://api"}
        answer = await h.client.post("/ui/sign-in", data={"token": "alice-demo-token"}, headers=headers)
        assert "Secure" in answer.headers["set-cookie"]


async def test_a_wrong_credential_stays_on_the_form_and_says_why(h: Harness) -> None:
    answer = await h.client.post("/ui/sign-in", data={"token": "nope"}, headers=SAME_ORIGIN)
    assert answer.status_code == 401
    assert 'role="alert"' in answer.text
    assert "unknown agent token" in answer.text
    answer = await h.client.post("/ui/sign-in", data={"agent_id": "alice", "password": "x"}, headers=SAME_ORIGIN)
    assert answer.status_code == 401
    assert "Password sign-in is off" in answer.text
    assert "set-cookie" not in answer.headers


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://api"},
    ],
)
async def test_cross_site_posts_are_refused_and_do_nothing(h: Harness, headers: dict[str, str]) -> None:
    await signed_in(h)
    answer = await h.client.post("/ui/agent/presence", data={"status": "ready"}, headers=headers)
    assert answer.status_code == 403
    assert "cross-site request refused" in answer.text
    assert published(h.bus.published) == []
    signing = await h.client.post("/ui/sign-in", data={"token": "bruno-demo-token"}, headers=headers)
    assert signing.status_code == 403
    assert "set-cookie" not in signing.headers


async def test_status_goes_through_the_presence_route(h: Harness) -> None:
    await signed_in(h)
    answer = await h.client.post("/ui/agent/presence", data={"status": "not_ready:lunch"}, headers=SAME_ORIGIN)
    assert answer.status_code == 200
    assert "Status changed." in answer.text
    (command,) = published(h.bus.published)
    assert isinstance(command.data, ChangePresence)
    assert (command.data.presence, command.data.reason) == ("not_ready", "lunch")
    refused = await h.client.post("/ui/agent/presence", data={"status": "not_ready:rona"}, headers=SAME_ORIGIN)
    assert "Refused (422)" in refused.text
    assert "set by the router only" in refused.text


async def test_a_plain_form_post_comes_back_to_the_page(h: Harness) -> None:
    await signed_in(h)
    headers = {k: v for k, v in SAME_ORIGIN.items() if k != "HX-Request"}
    answer = await h.client.post("/ui/agent/presence", data={"status": "ready"}, headers=headers)
    assert (answer.status_code, answer.headers["location"]) == (303, "/ui/agent")


async def test_the_desktop_shows_offers_and_work_with_safe_screen_pops(h: Harness) -> None:
    await h.ready("alice")
    h.store.queue(entry("t1", queue="finance", title="Offered one"))
    h.store.holds["t1"] = Holder("alice", "workitem", "offer", T0)
    h.store.queue(entry("t2", queue="finance", title="Safe one"))
    h.store.holds["t2"] = Holder("alice", "workitem", "assign", T0)
    h.store.queue(entry("t3", queue="finance", title="Evil one", url="javascript:alert(1)"))
    h.store.holds["t3"] = Holder("alice", "workitem", "assign", T0)
    await signed_in(h)
    page = (await h.client.get("/ui/agent")).text
    assert 'data-expires="2027-01-15T08:00:30Z"' in page  # the finance queue's 30 s offer timeout
    assert 'aria-label="Accept Offered one"' in page
    assert 'aria-label="Reject Offered one"' in page
    assert 'href="https://crm.example/t2"' in page
    assert "javascript:" not in page
    assert "Open Evil one" not in page
    assert page.count('<option value="processed">Processed</option>') == 2  # a picker per assigned task
    assert 'sse-connect="/ui/agent/events?status=' in page


async def test_answer_and_complete_go_through_the_agent_routes(h: Harness) -> None:
    await h.ready("alice")
    h.store.queue(entry("t1", queue="finance"))
    h.store.holds["t1"] = Holder("alice", "workitem", "offer", T0)
    await signed_in(h)
    accepted = await h.client.post("/ui/agent/offers/t1/accept", headers=SAME_ORIGIN)
    assert "Offer accepted." in accepted.text
    form = {"wrap_up_code": "processed"}
    refused = await h.client.post("/ui/agent/tasks/t1/complete", data=form, headers=SAME_ORIGIN)
    assert "Refused (409)" in refused.text  # not accepted yet, as the route says
    h.store.holds["t1"] = Holder("alice", "workitem", "assign", T0)
    done = await h.client.post("/ui/agent/tasks/t1/complete", data={"wrap_up_code": "cross_sell"}, headers=SAME_ORIGIN)
    assert "Task completed." in done.text
    answer, finish = published(h.bus.published)
    assert isinstance(answer.data, AnswerOffer)
    assert answer.data.accept
    assert isinstance(finish.data, FinishTask)
    assert finish.data.wrap_up_code == "cross_sell"


async def test_a_password_sign_in_keeps_an_issued_token_as_long_as_it_lives(catalog: Catalog) -> None:
    routing = seed_routing()
    passwords = PasswordSignIn({"alice": hash_password("s3cret-pass")}, b"k" * 32, ttl_seconds=900)
    async with harness(catalog, sign_in=SignIn(routing, passwords=passwords)) as h:
        form = {"agent_id": "alice", "password": "wrong"}
        wrong = await h.client.post("/ui/sign-in", data=form, headers=SAME_ORIGIN)
        assert wrong.status_code == 401
        assert "Wrong agent id or password." in wrong.text
        form["password"] = "s3cret-pass"
        answer = await h.client.post("/ui/sign-in", data=form, headers=SAME_ORIGIN)
        assert answer.status_code == 303
        assert "Max-Age=900" in answer.headers["set-cookie"]
        assert (await h.client.get("/ui/agent")).status_code == 200


async def test_the_stream_sends_only_the_sections_that_changed(catalog: Catalog) -> None:
    async with harness(catalog, timings=StreamTimings(keepalive_seconds=0.05, heartbeat_seconds=0.05)) as h:
        await h.ready("alice")
        api: AgentApi = h.client._transport.app.state.agent_api  # type: ignore[attr-defined]
        caller = await api.authenticate("Bearer alice-demo-token")
        shown = {name: digest(html) for name, html in (await render_sections(api, caller)).items()}
        closed = False

        async def disconnected() -> bool:
            return closed

        events = desk_events(api, caller, disconnected, shown)
        assert await anext(events) == KEEPALIVE  # the snapshot changed nothing the page shows
        h.store.queue(entry("t1", queue="finance", title="New one"))
        h.store.holds["t1"] = Holder("alice", "workitem", "offer", T0)
        h.inbox.notify("alice", {"event": "offered", "task_id": "t1"})
        chunk = await anext(events)
        assert chunk.startswith("event: offers\n")
        assert "New one" in chunk
        closed = True
        await events.aclose()
