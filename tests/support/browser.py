"""A real browser for the UI tests and `make screenshots`: Playwright driving Debian's chromium, axe-core's
checks, and `workrouter up` with a configuration whose offers time out soon (RONA within a test's patience)."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Playwright

from tests.support.embedded_up import Up, up_in

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
INSTALL = "sudo apt-get install -y chromium   (or: bash deploy/local/install-system.sh)"
OFFER_TIMEOUT_SECONDS = 15  # the finance queue's offers in the UI tests: long enough to click, short enough to wait
SERIOUS = ("serious", "critical")


def chromium_path() -> str:
    """Debian's chromium; an error naming the command that installs it when it is missing (never a skip)."""
    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError(f"the UI tests need Debian's chromium, which is not installed: {INSTALL}")
    return path


def launch(playwright: Playwright) -> Browser:
    """Headless chromium as these machines can run it (`playwright install` cannot download browsers here)."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (id, impact, help, the nodes)."""
    results = Axe().run(page)
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


def quick_offers(config: Path, seconds: int = OFFER_TIMEOUT_SECONDS) -> None:
    """Make the finance queue's offers time out after `seconds` in the configuration folder."""
    path = config / "queues.yaml"
    doc = yaml.safe_load(path.read_text())
    for queue in doc["queues"]:
        if queue["name"] == "finance":
            queue["offer_timeout_seconds"] = seconds
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@contextmanager
def running_up(folder: Path) -> Iterator[Up]:
    """`workrouter up` on a fresh data folder, its finance offers quick, answering on /healthz."""
    with up_in(folder) as up:
        quick_offers(up.config)
        up.start()

        async def healthy() -> None:
            async with httpx.AsyncClient(timeout=10) as http:
                await up.wait_healthy(http)

        asyncio.run(healthy())
        yield up


def capture(up: Up, title: str, url: str | None = None) -> str:
    """A finance task captured through the source API as the CRM would; its external id."""
    external_id = f"ui-{uuid.uuid4().hex[:10]}"
    body: dict[str, Any] = {"external_id": external_id, "type": "invoice_dispute", "title": title}
    body["attributes"] = {"department": "Finance", "segment": "Gold"}
    if url is not None:
        body["url"] = url
    answer = httpx.post(f"{up.api}/v1/tasks", json=body, headers=up.source("crm"), timeout=10)
    assert answer.status_code == 202, answer.text
    return external_id


def token_of(up: Up, agent_id: str) -> str:
    """The agent's fresh API token (what the sign-in form takes)."""
    return up.agent(agent_id)["Authorization"].removeprefix("Bearer ")


def sign_in(page: Page, up: Up, agent_id: str) -> None:
    """Sign in through the form with the agent's API token, by keyboard."""
    page.goto(f"{up.api}/ui/sign-in")
    page.get_by_label("API token").fill(token_of(up, agent_id))
    page.get_by_label("API token").press("Enter")
    page.wait_for_url(f"{up.api}/ui/agent")


def tab_to(page: Page, name: str, *, most: int = 40) -> None:
    """Press Tab until the focused control's accessible name (or label) starts with `name`: it is reachable by
    keyboard alone, in the page's focus order."""
    for _ in range(most):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const e = document.activeElement; if (!e) return "";
                 const label = e.labels && e.labels[0] ? e.labels[0].textContent : "";
                 return (e.getAttribute("aria-label") || label || e.textContent || "").trim(); }"""
        )
        if str(focused).startswith(name):
            return
    raise AssertionError(f"{name!r} not reached with {most} presses of Tab")
