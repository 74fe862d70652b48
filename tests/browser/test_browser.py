"""A whole round of staff work in a real browser: log in, record, approve, see the balance change,
be refused, quote a payoff — and a screenshot of every page."""

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import expect

from servicing import documents
from servicing.reminders import reminders_run
from servicing.simulate import simulate
from tests.factories import UserFactory, exhibit_attached

pytestmark = pytest.mark.django_db(transaction=True)
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def test_a_servicer_records_a_payment_and_an_approver_approves_it(page, live_server, login, shoot, people, note):
    login("servicer")
    page.goto(live_server.url + note.get_absolute_url())
    expect(page.locator("[data-balance=interest]")).to_have_text("2,200.00")
    page.click("text=Record…")
    page.click("text=Record a payment")
    page.fill("#id_received_on", "2024-02-01")
    page.fill("#id_amount", "2200.00")
    page.fill("#id_reference", "wire 4411")
    shoot("record-payment")
    page.click("button[name=save]")
    expect(page.locator(".alert-success")).to_contain_text("takes effect when another user approves it")
    expect(page.locator("[data-balance=interest]")).to_have_text("2,200.00")  # pending: no change
    shoot("note-with-pending-payment")

    login("approver")
    page.goto(live_server.url + "/approvals/")
    row = page.locator("tr", has_text="2,200.00 received 2024-02-01")
    shoot("approvals")
    row.locator("button", has_text="Approve").click()
    expect(page.locator(".alert-success")).to_contain_text("Approved")
    page.goto(live_server.url + note.get_absolute_url())
    expect(page.locator("[data-balance=interest]")).to_have_text("0.00")
    shoot("note-after-approval")


def test_a_bad_form_shows_its_message_next_to_the_field(page, live_server, login, shoot, people, note):
    login("servicer")
    page.goto(f"{live_server.url}/notes/{note.pk}/record/payment/")
    page.fill("#id_received_on", "2024-01-02")
    page.fill("#id_amount", "10.00")
    page.click("button[name=save]")
    feedback = page.locator("#id_received_on ~ .invalid-feedback, #error_1_id_received_on")
    expect(feedback.first).to_contain_text("is before the agreement date 2024-01-10")
    shoot("bad-payment-form")
    assert not note.payments.exists()


def test_a_viewer_is_forbidden_to_record(page, live_server, login, shoot, people, note):
    login("viewer")
    page.goto(live_server.url + note.get_absolute_url())
    expect(page.locator("text=Record…")).to_have_count(0)  # no actions offered
    response = page.goto(f"{live_server.url}/notes/{note.pk}/record/payment/")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("Forbidden")
    shoot("forbidden")


def test_the_payoff_quote_matches_simulate(page, live_server, login, shoot, people):
    data = json.loads((SCENARIOS / "late-payment-acceleration.json").read_text())
    note, report = simulate(data)
    quote_on = date.fromisoformat(data["as_of"]) + timedelta(days=1)
    login("viewer")
    page.goto(live_server.url + note.get_absolute_url())
    page.fill("#id_on", quote_on.isoformat())
    page.click("text=Quote")
    expected = f"{Decimal(report['balances']['payoff_amount']):,.2f}"
    expect(page.locator("[data-payoff]")).to_have_text(expected)
    shoot("payoff-quote")


def test_each_page_opens_in_the_browser_and_is_captured(page, live_server, login, shoot, people, note, staff, approve):
    """Every staff page, as each role that uses it sees it, is captured and checked by axe-core
    (`shoot`): no serious or critical accessibility violation (issue 13, item 9)."""
    from servicing import services
    from servicing.forms import WORKFLOWS

    UserFactory(username="chief", roles=["admin"], is_staff=True)
    exhibit_attached(note)
    documents.agreement_produce(note=note)
    services.payment_record(note=note, received_on=date(2024, 2, 5), amount=Decimal("100.00"), by=staff)
    login("chief")
    pages = {
        "dashboard": "/",
        "notes": "/notes/",
        "note": note.get_absolute_url(),
        "note-what-if": note.get_absolute_url() + "?on=2024-03-01&principal=50000",
        "note-ledger": f"/notes/{note.pk}/ledger/",
        "holders": "/holders/",
        "holder": note.holder.get_absolute_url(),
        "approvals-queue": "/approvals/",
        "closing-prices": "/closing-prices/",
        "corporate-action": "/corporate-actions/new/",
        "statements": "/statements/",
        "reminders": "/reminders/",
        "jobs": "/jobs/",
        "password-change": "/password/",
        "exhibit-form": f"/notes/{note.pk}/exhibits/new/",
        "record-notice": f"/notes/{note.pk}/record/notice/",
        "record-prepayment": f"/notes/{note.pk}/record/prepayment/",
        "record-conversion": f"/notes/{note.pk}/record/conversion/",
        "record-assignment": f"/notes/{note.pk}/record/assignment/",
    }
    for name, url in pages.items():
        response = page.goto(live_server.url + url)
        assert response.status == 200, url
        shoot(name)
    response = page.goto(f"{live_server.url}/documents/{note.documents.get().pk}/")
    assert response.status == 200
    shoot("document-preview", html=response.text())  # sandboxed: axe checks its HTML beside it

    login("viewer")  # reads every page, records nothing
    viewer_pages = {"dashboard": "/", "notes": "/notes/", "note": note.get_absolute_url(), "holders": "/holders/"}
    viewer_pages |= {"holder": note.holder.get_absolute_url(), "approvals": "/approvals/", "jobs": "/jobs/"}
    viewer_pages |= {"note-ledger": f"/notes/{note.pk}/ledger/"}
    viewer_pages |= {"statements": "/statements/", "reminders": "/reminders/", "closing-prices": "/closing-prices/"}
    for name, url in viewer_pages.items():
        assert page.goto(live_server.url + url).status == 200, url
        shoot(f"viewer-{name}")
    assert page.goto(f"{live_server.url}/notes/{note.pk}/record/payment/").status == 403
    expect(page.locator("h1")).to_have_text("Forbidden")
    shoot("viewer-forbidden")

    login("servicer")  # every workflow's form, and a few refused with their errors shown
    for kind in WORKFLOWS:
        assert page.goto(f"{live_server.url}/notes/{note.pk}/record/{kind}/").status == 200, kind
        shoot(f"servicer-record-{kind}")
    for kind in ("payment", "notice", "cost", "assignment"):
        page.goto(f"{live_server.url}/notes/{note.pk}/record/{kind}/")
        page.click("button[name=save]")
        expect(page.locator(".is-invalid").first).to_be_visible()
        shoot(f"servicer-record-{kind}-errors")

    login("approver")
    page.goto(live_server.url + "/approvals/")
    shoot("approver-approvals")
    page.goto(live_server.url + note.get_absolute_url())
    shoot("approver-note")

    page.context.clear_cookies()
    page.goto(live_server.url + "/login/")
    shoot("login")
    page.fill("input[name=username]", "viewer")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    expect(page.locator(".alert-danger, .errornote, .invalid-feedback").first).to_be_visible()
    shoot("login-refused")


@time_machine.travel("2024-02-06 12:00 -0500", tick=True)
def test_paying_the_past_due_note_closes_its_reminder_on_the_dashboard(page, live_server, login, shoot, people, note):
    reminders_run(today=date(2024, 2, 6))
    login("servicer")
    reminder = page.locator("[data-reminder=past_due]")
    expect(reminder.locator("[data-badge]")).to_have_text("past due since 2024-02-02")
    shoot("dashboard-reminder-past-due")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot("dashboard-reminder-past-due-390")
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(live_server.url + note.get_absolute_url())
    page.click("text=Record…")
    page.click("text=Record a payment")
    page.fill("#id_received_on", "2024-02-06")
    page.fill("#id_amount", "2200.00")
    page.click("button[name=save]")
    expect(page.locator(".alert-success")).to_contain_text("takes effect when another user approves it")
    page.goto(live_server.url + "/")
    expect(reminder).to_have_count(1)  # pending: still past due

    login("approver")
    page.goto(live_server.url + "/approvals/")
    page.locator("tr", has_text="2,200.00 received 2024-02-06").locator("button", has_text="Approve").click()
    expect(page.locator(".alert-success")).to_contain_text("Approved")
    page.goto(live_server.url + "/")
    expect(reminder).to_have_count(0)
    expect(page.get_by_text("past due since 2024-02-02")).to_have_count(0)
    shoot("dashboard-after-payment")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot("dashboard-after-payment-390")
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(live_server.url + "/reminders/")
    # Ended since the last run: shown where it stood, as ended, with why.
    expect(page.locator("[data-ended=past_due]")).to_contain_text("ended: paid on 2024-02-06")
    expect(page.locator("[data-closed=past_due]")).to_have_count(0)
    shoot("reminders-ended")
    reminders_run(today=date(2024, 2, 6))  # the run stores what the page already said
    page.reload()
    expect(page.locator("[data-closed=past_due]")).to_contain_text("closed: paid on 2024-02-06")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot("reminders-closed-recently-390")
