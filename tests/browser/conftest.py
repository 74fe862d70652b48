"""Playwright driving the machine's Chromium against the live server."""

import os
from pathlib import Path

import pytest

# The live server and the browser run beside Django's synchronous ORM in the test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
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


@pytest.fixture
def shoot(page):
    """Save a screenshot of the page as a test artifact (test-artifacts/screenshots/)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def shoot(name):
        page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)

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
