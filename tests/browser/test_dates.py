"""Dates in a real browser (issue 13, item 1): a future payment refused at its field, a Sunday payment
asked about and recorded once confirmed, and the date boxes typed, picked and shown as YYYY-MM-DD."""

from datetime import date

import pytest
from playwright.sync_api import expect

from servicing.models import Payment

pytestmark = pytest.mark.django_db(transaction=True)


def feedback(page, field):
    return page.locator(f"#error_1_id_{field}")


def test_a_payment_dated_in_the_future_is_refused_at_its_field(page, live_server, login, shoot, people, note):
    login("servicer")
    page.goto(f"{live_server.url}/notes/{note.pk}/record/payment/")
    page.fill("#id_received_on", "2099-01-01")
    page.fill("#id_amount", "10.00")
    page.click("button[name=save]")
    expect(feedback(page, "received_on")).to_contain_text("Received on 2099-01-01 is in the future")
    expect(feedback(page, "received_on")).to_be_visible()
    expect(page.locator("#id_confirm_date")).to_be_hidden()  # refused by the rule: nothing to confirm
    shoot("payment-in-the-future")
    assert not Payment.objects.exists()


def test_a_sunday_payment_asks_for_a_confirmation_and_is_recorded_once_confirmed(
    page, live_server, login, shoot, people, note
):
    login("servicer")
    page.goto(f"{live_server.url}/notes/{note.pk}/record/payment/")
    expect(page.locator("#id_confirm_date")).to_be_hidden()
    page.fill("#id_received_on", "2024-02-04")
    page.fill("#id_amount", "2200.00")
    page.click("button[name=save]")
    expect(feedback(page, "received_on")).to_have_text(
        "2024-02-04 is a Sunday: payments are rarely received on a weekend. Tick 'The date is right' to record it."
    )
    expect(feedback(page, "received_on")).to_be_visible()
    expect(page.get_by_label("The date is right")).to_be_visible()
    expect(page.locator("#id_received_on")).to_have_value("2024-02-04")  # kept as typed, in ISO
    assert not Payment.objects.exists()
    shoot("payment-on-a-sunday")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot("payment-on-a-sunday-390")
    # The date, its button and its question fit a phone (the four-eyes badge above does not: issue 13, item 7).
    for part in ("#div_id_received_on .iso-date", "#error_1_id_received_on", "#div_id_confirm_date"):
        box = page.locator(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, part
    page.set_viewport_size({"width": 1400, "height": 900})

    page.get_by_label("The date is right").check()
    page.click("button[name=save]")
    expect(page.locator(".alert-success")).to_contain_text("takes effect when another user approves it")
    payment = Payment.objects.get()
    assert (payment.note_id, payment.received_on, payment.approval) == (note.pk, date(2024, 2, 4), "pending")


def test_a_date_box_shows_iso_and_its_picker_writes_iso(page, live_server, login, people, note):
    login("servicer")
    page.goto(f"{live_server.url}/notes/{note.pk}/record/payment/")
    box = page.locator("#id_received_on")
    expect(box).to_have_attribute("placeholder", "YYYY-MM-DD")
    assert box.evaluate("e => e.type") == "text"  # the browser's date box would show mm/dd/yyyy in en-US
    expect(page.get_by_role("button", name="Pick a date for Received on")).to_be_visible()
    # The calendar itself is the browser's; what it hands back is written into the box as YYYY-MM-DD.
    page.locator("#div_id_received_on .iso-date-picker").fill("2024-02-05")
    expect(box).to_have_value("2024-02-05")


def test_the_matures_by_filter_refuses_a_bad_date_and_lists_nothing(page, live_server, login, shoot, people, note):
    login("viewer")
    page.goto(f"{live_server.url}/notes/")
    expect(page.locator("td", has_text=note.number)).to_have_count(1)
    page.fill("#id_matures_before", "2025-02-30")
    page.click("button:has-text('Filter')")
    expect(page.locator("#error_1_id_matures_before")).to_have_text("Enter a date as YYYY-MM-DD, such as 2026-11-27.")
    expect(page.locator("#error_1_id_matures_before")).to_be_visible()
    expect(page.locator("td", has_text=note.number)).to_have_count(0)
    shoot("notes-filter-bad-date")
