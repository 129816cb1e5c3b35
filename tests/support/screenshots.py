"""`make screenshots`: start `workrouter up`, sign in as a demo agent in chromium and save a PNG of every UI
page (and of the desktop in its states) into docs/screenshots/; prints axe-core's findings on each."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect, sync_playwright

from tests.support.browser import capture, launch, running_up, sign_in
from tests.support.infra import ROOT

LIVE = 60_000


def shoot(page: Page, folder: Path, name: str) -> None:
    """Save the page as `name`.png and print what axe-core finds on it (every impact)."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    found = [f"{v['id']} ({v['impact']})" for v in Axe().run(page).response["violations"]]
    print(f"{path.relative_to(ROOT)}: axe: {', '.join(found) or 'no violations'}")


def main() -> None:
    """Make the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, running_up(Path(tmp)) as up, sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
        page.goto(f"{up.api}/ui/sign-in")
        shoot(page, out, "sign-in")
        sign_in(page, up, "alice")
        page.get_by_label("Change status").select_option(label="Ready")
        page.get_by_role("button", name="Set status").click()  # the page may not have htmx yet: a plain post works too
        expect(page.get_by_test_id("presence")).to_have_text("Ready", timeout=LIVE)
        capture(up, "Invoice 4711 disputed", url="https://crm.example/cases/4711")
        expect(page.locator("#offers .offer")).to_be_visible(timeout=LIVE)
        shoot(page, out, "agent-desktop-offer")
        page.get_by_role("button", name="Accept Invoice 4711 disputed").click()
        expect(page.locator("#work tbody tr")).to_contain_text("assigned", timeout=LIVE)
        capture(up, "Refund for order 881 not received")
        expect(page.locator("#offers .offer")).to_be_visible(timeout=LIVE)
        shoot(page, out, "agent-desktop-my-work")
        page.set_viewport_size({"width": 768, "height": 1024})
        shoot(page, out, "agent-desktop-tablet")
        browser.close()


if __name__ == "__main__":
    main()
