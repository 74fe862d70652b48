"""Playwright driving the machine's Chromium against the live server."""

import json
import os
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from servicing.close import close_books
from tests.factories import UserFactory

# The live server and the browser run beside Django's synchronous ORM in the test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
AXE_ARTIFACTS = ARTIFACTS.parent / "axe"
AXE = Axe()  # axe-core's axe.min.js ships inside the package: no network
BLOCKING = ("critical", "serious")  # the impacts a page may not have (issue 13, item 9)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 900}}


def axe_check(page, name: str | None = None, html: str | None = None) -> list[str]:
    """Run axe-core on the page as it stands; return its serious and critical violations, one line
    per rule: rule id, impact, what axe asks for, and the selectors of the offending elements.
    With a name, every violation's count by impact (moderate and minor too) is written to
    test-artifacts/axe/<name>.json. A sandboxed page (a document preview) runs no script, axe's
    neither: pass its HTML, which axe checks in a page of its own."""
    if html is None:
        violations = AXE.run(page).response["violations"]
    else:
        copy = page.context.new_page()
        copy.set_viewport_size(page.viewport_size)
        copy.set_content(html)
        violations = AXE.run(copy).response["violations"]
        copy.close()
    if name:
        AXE_ARTIFACTS.mkdir(parents=True, exist_ok=True)
        counts = Counter(v["impact"] for v in violations for _ in v["nodes"])
        rules = [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in violations]
        report = {"url": page.url, "counts": counts, "rules": rules}
        (AXE_ARTIFACTS / f"{name}.json").write_text(json.dumps(report, indent=1))
    return [_described(v) for v in violations if v["impact"] in BLOCKING]


def _described(violation: dict, shown: int = 8) -> str:
    """One violation on one line: the rule, its impact and help, where (the first `shown` elements'
    selectors) and, for the first element, what axe found (a contrast ratio and its colours)."""
    nodes = violation["nodes"]
    where = "; ".join(" ".join(map(str, node["target"])) for node in nodes[:shown])
    if len(nodes) > shown:
        where += f"; and {len(nodes) - shown} more"
    first = nodes[0]
    found = " / ".join(check["message"] for check in first.get("any", []) + first.get("all", []))
    return f"{violation['id']} ({violation['impact']}): {violation['help']} -- at {where} -- {found}"


@pytest.fixture
def axe(page):
    """`axe(name)` checks the page as it stands with axe-core; the test fails at its end, naming
    every page, rule and element, if any page had a serious or critical violation."""
    found = []

    def axe(name, html=None):
        found.extend(f"{name} <{page.url}>: {problem}" for problem in axe_check(page, name, html))

    yield axe
    if found:
        pytest.fail("serious or critical accessibility violations (axe-core):\n" + "\n".join(found), pytrace=False)


@pytest.fixture
def shoot(page, axe):
    """Save a screenshot of the page as a test artifact (test-artifacts/screenshots/) and check
    the page with axe-core (the `axe` fixture)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def shoot(name, html=None):
        page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
        axe(name, html)

    return shoot


@pytest.fixture
def login(page, live_server):
    def login(username):
        page.context.clear_cookies()
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", f"pw-{username}-1")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")

    return login


@pytest.fixture
def people(staff, approver):
    """The three roles the browser tests log in as."""
    return {"servicer": staff, "approver": approver, "viewer": UserFactory(username="viewer", roles=["viewer"])}


@pytest.fixture
def note(make_note):
    """A note closed through 2024-02-05: January's 2,200.00 billed, unpaid."""
    note = make_note()
    close_books(through=date(2024, 2, 5))
    return note
