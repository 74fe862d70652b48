"""The ledger page in Chromium: its running balances end at the note's balances card, a re-posting
opens from its summary, and at a phone's width the page does not scroll sideways."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from servicing import clock, services
from servicing.close import close_books
from tests.factories import DefaultEventFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path("/tmp/shots-ledger")
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"

# The card's row of each account (the note page's balances card) and the ledger's account.
CARD_ROWS = {
    "principal": "Principal outstanding",
    "interest": "Interest billed, unpaid",
    "default_interest": "Default interest billed, unpaid",
    "costs": "Costs of collection",
    "unapplied": "Unapplied funds",
}


@pytest.fixture
def note(make_note, staff, approve, approver):
    """A payment of 2,500.00 for January's 2,200.00, three months closed, then an insolvency backdated
    to 25 January: the payment and the periods re-posted."""
    UserFactory(username="viewer", roles=["viewer"])
    note = make_note()
    with clock.pinned(date(2024, 2, 5)):
        approve(services.payment_record(note=note, received_on=date(2024, 2, 1), amount=Decimal("2500.00"), by=staff))
    close_books(through=date(2024, 4, 5))
    with clock.pinned(date(2024, 4, 6)):
        DefaultEventFactory(
            note=note, kind="insolvency", occurred_on=date(2024, 1, 25), today=date(2024, 4, 6), approved_by=approver
        )
    return note


def test_the_ledgers_running_balance_equals_the_balances_card(page, live_server, login, shoot, note):
    SHOTS.mkdir(parents=True, exist_ok=True)
    login("viewer")
    page.goto(live_server.url + note.get_absolute_url())
    card = {}
    for account, heading in CARD_ROWS.items():
        row = page.locator("#balances tr").filter(has=page.locator("th", has_text=heading)).first
        card[account] = row.locator("td").inner_text().strip()
    assert card["default_interest"] != "0.00" and card["principal"] != "365,000.00"  # the re-posting shows
    page.click("text=Full ledger")
    expect(page.locator("h1")).to_contain_text("Ledger of")
    assert page.locator("a.page-link", has_text="Next").count() == 0  # one page: every account's last entry
    last = page.evaluate(
        """() => { const last = {};
        for (const td of document.querySelectorAll('[data-balance-after]'))
          last[td.dataset.balanceAfter] = td.textContent.trim();
        return last; }"""
    )
    assert {account: last.get(account, "0.00") for account in CARD_ROWS} == card
    # A re-posting is collapsed; its summary opens it.
    summary = page.locator("summary", has_text="Payment received 2024-02-01")
    entries = summary.locator("xpath=..").locator("tr[data-account]")
    expect(entries.first).to_be_hidden()
    page.screenshot(path=SHOTS / "ledger-wide.png", full_page=True)
    shoot("ledger")
    summary.click()
    expect(entries.first).to_be_visible()
    page.screenshot(path=SHOTS / "ledger-wide-open.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=SHOTS / "ledger-390.png", full_page=True)
    shoot("ledger-390")
    page.goto(live_server.url + note.get_absolute_url())
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.locator("#ledger").scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "note-latest-390.png")
