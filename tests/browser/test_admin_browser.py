"""The admin on a laptop's screen: the ledger list fits 1280 px without scrolling sideways."""

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from servicing import documents, services
from tests.factories import UserFactory, exhibit_attached

pytestmark = pytest.mark.django_db(transaction=True)


def fits(page) -> dict:
    return page.evaluate(
        """() => {
            const table = document.querySelector('#result_list');
            const box = table.closest('.results') || table.parentElement;
            return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                    table: table.getBoundingClientRect().width, box: box.clientWidth};
        }"""
    )


def test_the_ledger_list_fits_a_laptop_screen(page, live_server, login, shoot, people, note, staff, approve):
    UserFactory(username="chief", roles=["admin"], is_staff=True)
    payment = services.payment_record(note=note, received_on=date(2024, 2, 5), amount=Decimal("2200.00"), by=staff)
    approve(payment)  # an entry posted and approved by people, beside the job's
    login("chief")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/admin/servicing/ledgerentry/")
    expect(page.locator("#result_list")).to_contain_text("365,000.00")
    expect(page.locator("#result_list")).to_contain_text("approved by")
    shoot("admin-ledger-1280")
    size = fits(page)
    assert size["scroll"] <= size["inner"], size
    assert size["table"] <= size["box"], size


def test_the_widest_lists_fit_a_laptop_screen(page, live_server, login, shoot, axe, people, note, staff):
    """...and each list passes axe-core (no serious or critical violation)."""
    UserFactory(username="chief", roles=["admin"], is_staff=True)
    exhibit_attached(note)
    documents.agreement_produce(note=note)
    services.payment_record(note=note, received_on=date(2024, 2, 5), amount=Decimal("2200.00"), by=staff)
    login("chief")
    page.set_viewport_size({"width": 1280, "height": 800})
    lists = ["notes/note", "servicing/payment", "servicing/period", "servicing/document", "servicing/jobrun"]
    lists += ["notes/warrant", "servicing/statementdelivery", "servicing/conversion", "servicing/prepayment"]
    wide = {}
    for name in lists:
        page.goto(f"{live_server.url}/admin/{name}/")
        axe(f"admin-{name.replace('/', '-')}")
        if page.locator("#result_list").count():
            size = fits(page)
            if size["scroll"] > size["inner"] or size["table"] > size["box"]:
                wide[name] = size
                shoot(f"admin-{name.replace('/', '-')}-1280")
    assert not wide, wide


def test_the_admin_note_page_and_history_are_captured_wide_and_narrow(page, live_server, login, shoot, people, note):
    UserFactory(username="chief", roles=["admin"], is_staff=True)
    login("chief")
    pages = {
        "admin-index": "/admin/",
        "admin-holder": f"/admin/holders/holder/{note.holder.pk}/change/",
        "admin-note": f"/admin/notes/note/{note.pk}/change/",
        "admin-note-history": f"/admin/notes/note/{note.pk}/history/",
        "admin-ledger": "/admin/servicing/ledgerentry/",
    }
    for width in (1400, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in pages.items():
            response = page.goto(live_server.url + url)
            assert response.status == 200, url
            shoot(f"{name}-{width}")
    page.goto(f"{live_server.url}/admin/notes/note/{note.pk}/change/")
    expect(page.locator(".field-principal .readonly")).to_have_text("365,000.00")
    expect(page.locator(".field-rate .readonly")).to_have_text("10%")
    expect(page.locator("body")).not_to_contain_text("Engine state")
