"""The what-if in a browser, on the demo's past-due note with its scheduled prepayment: it says what
it assumes, and leaving the prepayment out changes the figures to the engine's without it."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from notes.models import Note
from servicing.demo import load_demo
from servicing.quotes import payoff_quote
from servicing.selectors import note_events
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_what_if_lists_its_assumptions_and_leaving_one_out_changes_the_payoff(
    page, live_server, login, shoot, staff
):
    load_demo()
    late = Note.objects.get(number="DEMO-LATE")
    prepayment = late.prepayments.get()
    quote_on = prepayment.prepayment_date + timedelta(days=4)
    events = note_events(late)
    with_it = payoff_quote(late, quote_on, events=events).balances
    without = payoff_quote(late, quote_on, events=[e for e in events if e.ref != str(prepayment.pk)]).balances

    login("servicer")
    page.goto(live_server.url + late.get_absolute_url())
    page.fill("#id_on", quote_on.isoformat())
    page.click("text=Quote")
    assumptions = page.locator("#assumptions")
    expect(assumptions).to_contain_text(
        f"Includes a prepayment of 50,000.00 principal on {prepayment.prepayment_date:%Y-%m-%d}"
    )
    expect(assumptions).to_contain_text("Leaves out a payment of 750.00")  # the demo's, awaiting approval
    expect(page.locator("#payoff")).to_contain_text("principal 70,000.00")
    expect(page.locator("[data-payoff]")).to_have_text(f"{with_it.payoff_amount:,.2f}")
    card = page.locator(".card", has=page.locator("#what-if-items"))
    card.screenshot(path=_artifact("what-if-demo-late"))
    shoot("what-if-demo-late-page")

    page.uncheck(f"#include-prepayment-{prepayment.pk}")
    page.click("text=Quote")
    expect(assumptions).to_contain_text("Leaves out a prepayment of 50,000.00")
    expect(assumptions).to_contain_text("is assumed unpaid by the quote date")
    expect(page.locator("#payoff")).to_contain_text("principal 120,000.00")
    expect(page.locator("[data-payoff]")).to_have_text(f"{without.payoff_amount:,.2f}")
    assert with_it.principal == without.principal - 50000

    page.set_viewport_size({"width": 390, "height": 844})
    card.screenshot(path=_artifact("what-if-demo-late-390"))
    assert card.bounding_box()["width"] <= 390  # the card fits a phone; the page as a whole is issue 13's item 7


def _artifact(name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"
