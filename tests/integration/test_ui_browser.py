"""The agent desktop in a real browser (Debian's chromium under Playwright) against a real `workrouter up`:
sign in, go ready, an offer pushed live with its countdown, accept, the screen pop and My work, complete with
a wrap-up code; an offer rejected, and one left unanswered, turn the agent not ready (RONA) on the page. Every
control is reached with Tab and used with Enter. axe-core finds no serious or critical violation on any page,
at 1280x720 and at tablet width."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from tests.support.browser import (
    OFFER_TIMEOUT_SECONDS,
    capture,
    chromium_path,
    launch,
    running_up,
    serious_violations,
    sign_in,
    tab_to,
    token_of,
)
from tests.support.embedded_up import Up

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]
DESKTOP: ViewportSize = {"width": 1280, "height": 720}
TABLET: ViewportSize = {"width": 768, "height": 1024}
LIVE = 60_000  # ms: what a live change may take to reach the page (routing is within seconds)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    with running_up(tmp_path_factory.mktemp("ui")) as process:
        yield process


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    yield context.new_page()
    context.close()


def no_serious_violations(page: Page) -> None:
    assert serious_violations(page) == [], page.url


def set_status(page: Page, label: str) -> None:
    """Choose a status by keyboard: Tab to the picker, pick, Tab to the button, Enter."""
    tab_to(page, "Change status")
    page.get_by_label("Change status").select_option(label=label)  # what arrow keys do in a focused select
    tab_to(page, "Set status")
    page.keyboard.press("Enter")


def test_an_agent_works_an_offer_from_sign_in_to_wrap_up(up: Up, page: Page) -> None:
    page.goto(f"{up.api}/ui/agent")
    expect(page).to_have_url(f"{up.api}/ui/sign-in")  # no session: the sign-in form
    no_serious_violations(page)

    sign_in(page, up, "alice")
    expect(page.get_by_test_id("presence")).to_have_text("Offline")
    no_serious_violations(page)
    set_status(page, "Ready")
    expect(page.get_by_test_id("presence")).to_have_text("Ready", timeout=LIVE)

    capture(up, "Invoice 4711 disputed", url="https://crm.example/cases/4711")
    offer = page.locator("#offers .offer")
    expect(offer).to_contain_text("Invoice 4711 disputed", timeout=LIVE)  # pushed: the page was not reloaded
    expect(page.get_by_test_id("announce")).to_have_text("New offer: Invoice 4711 disputed")  # screen readers
    expect(offer.locator(".timer")).to_have_text(re.compile(r"^\d+ s$"))
    left = int(offer.locator(".timer").inner_text().removesuffix(" s"))
    assert 0 < left <= OFFER_TIMEOUT_SECONDS
    no_serious_violations(page)

    tab_to(page, "Accept Invoice 4711 disputed")
    page.keyboard.press("Enter")
    row = page.locator("#work tbody tr", has_text="Invoice 4711 disputed")
    expect(row).to_contain_text("assigned", timeout=LIVE)
    expect(row).to_contain_text("finance")
    expect(page.locator("#offers")).to_contain_text("No offer right now")
    expect(page.locator("#offers-h")).to_be_focused()  # the accepted offer left; focus stays in its section
    pop = row.get_by_role("link", name=re.compile("Open Invoice 4711 disputed"))
    expect(pop).to_have_attribute("href", "https://crm.example/cases/4711")
    expect(pop).to_have_attribute("target", "_blank")
    no_serious_violations(page)

    page.set_viewport_size(TABLET)
    expect(row.get_by_role("button", name="Complete Invoice 4711 disputed")).to_be_visible()
    no_serious_violations(page)
    page.set_viewport_size(DESKTOP)

    tab_to(page, "Wrap-up code")
    row.get_by_label("Wrap-up code").select_option(label="Cross Sell")
    tab_to(page, "Complete Invoice 4711 disputed")
    page.keyboard.press("Enter")
    expect(page.locator("#flash")).to_have_text("Task completed.")
    expect(row).to_contain_text("after work", timeout=LIVE)  # finished; the capacity comes back after after-work

    me = httpx.get(f"{up.api}/v1/agent/me", headers=up.agent("alice"), timeout=10).json()
    assert [h["state"] for h in me["holds"]] in ([], ["after_work"])


def test_a_rejected_or_unanswered_offer_turns_the_agent_not_ready(up: Up, page: Page) -> None:
    sign_in(page, up, "alice")  # the one finance agent senior enough for the first tier: the offer is hers at once
    set_status(page, "Ready")
    expect(page.get_by_test_id("presence")).to_have_text("Ready", timeout=LIVE)
    capture(up, "Nobody answers this one")
    offer = page.locator("#offers .offer")
    expect(offer).to_contain_text("Nobody answers this one", timeout=LIVE)
    tab_to(page, "Reject Nobody answers this one")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("presence")).to_have_text("Not ready: RONA (offer not answered)", timeout=LIVE)
    expect(page.locator("#offers")).to_contain_text("No offer right now")

    set_status(page, "Ready")  # the same task comes back to her, and this time she lets it time out
    expect(offer).to_contain_text("Nobody answers this one", timeout=LIVE)
    expect(page.get_by_test_id("presence")).to_have_text(
        "Not ready: RONA (offer not answered)", timeout=(OFFER_TIMEOUT_SECONDS + 30) * 1000
    )
    expect(page.locator("#offers")).to_contain_text("No offer right now")
    no_serious_violations(page)


def test_a_not_ready_reason_and_sign_out(up: Up, page: Page) -> None:
    sign_in(page, up, "chloe")
    set_status(page, "Not ready: Lunch")
    expect(page.get_by_test_id("presence")).to_have_text("Not ready: Lunch", timeout=LIVE)
    page.locator("body").focus()
    tab_to(page, "Sign out")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{up.api}/ui/sign-in")
    page.goto(f"{up.api}/ui/agent")
    expect(page).to_have_url(f"{up.api}/ui/sign-in")  # the session is gone


def test_a_wrong_token_is_refused_on_the_form(up: Up, page: Page) -> None:
    page.goto(f"{up.api}/ui/sign-in")
    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown agent token")
    no_serious_violations(page)


def test_cross_site_posts_are_refused_and_the_cookie_is_strict(up: Up, page: Page) -> None:
    sign_in(page, up, "david")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "wr_session"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/ui")
    headers = {"Cookie": f"wr_session={token_of(up, 'david')}", "Origin": "https://evil.example"}
    answer = httpx.post(f"{up.api}/ui/agent/presence", data={"status": "ready"}, headers=headers, timeout=10)
    assert answer.status_code == 403, answer.text
    headers = {"Cookie": f"wr_session={token_of(up, 'david')}", "Sec-Fetch-Site": "cross-site"}
    answer = httpx.post(f"{up.api}/ui/agent/presence", data={"status": "ready"}, headers=headers, timeout=10)
    assert answer.status_code == 403, answer.text
    me = httpx.get(f"{up.api}/v1/agent/me", headers=up.agent("david"), timeout=10).json()
    assert me["presence"] == "offline"


def test_chromium_is_the_browser() -> None:
    """The tests run Debian's chromium, not a downloaded one: the launcher names its path."""
    assert Path(chromium_path()).name == "chromium"


def test_axe_reports_what_it_should(page: Page) -> None:
    """The accessibility check is live: an unlabelled field and an image without text are serious or critical."""
    page.set_content('<html lang="en"><title>t</title><main><input><img src="x.png"></main></html>')
    assert {v["id"] for v in serious_violations(page)} >= {"label", "image-alt"}
