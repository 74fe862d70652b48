"""Dates that make sense (issue 13, item 1): no payment received in the future, a weekend or holiday
asked about before it is recorded, and dates typed and shown as YYYY-MM-DD, filters' dates too."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse

from notes.models import Note
from servicing import services
from servicing.close import close_books
from servicing.models import Notice, Payment, SpentToken
from tests.conftest import once
from tests.factories import NoteFactory, UserFactory
from tests.helpers import refused, refused_at, row_counts

pytestmark = pytest.mark.django_db

SUNDAY = "2024-02-04"
ASKED = "2024-02-04 is a Sunday: payments are rarely received on a weekend. Tick 'The date is right' to record it."


@pytest.fixture
def note(make_note):
    note = make_note()
    close_books(through=date(2024, 2, 5))
    return note


def record_payment(client, note, **data):
    url = reverse("servicing:record", args=[note.pk, "payment"])
    return client.post(url, once({"received_on": SUNDAY, "amount": "2200.00", "reference": "wire 1"} | data))


def test_the_service_refuses_a_payment_received_in_the_future(note, staff):
    with refused("received_on", "received_on 2099-01-01 is in the future"):
        services.payment_record(note=note, received_on=date(2099, 1, 1), amount=D("10.00"), by=staff)
    assert not Payment.objects.exists()


def test_the_staff_page_refuses_a_payment_dated_2099_for_being_in_the_future(client, note, staff):
    client.force_login(staff)
    before = row_counts()
    # 2099-01-01 is also New Year's Day: the rule refuses it; the holiday is not what is asked about.
    response = record_payment(client, note, received_on="2099-01-01", confirm_date="on")
    said = refused_at(response, "received_on", "Received on 2099-01-01 is in the future")
    assert "New Year" not in said
    response = record_payment(client, note, received_on="2099-01-01")
    said = refused_at(response, "received_on", "in the future")
    assert "New Year" not in said
    assert row_counts() == before


def test_the_admin_refuses_a_payment_dated_2099_for_being_in_the_future(client, note):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    before = row_counts()
    form = {"note": note.pk, "received_on": "2099-01-01", "amount": "10.00"}
    response = client.post("/admin/servicing/payment/add/", once(form))
    refused_at(response, "received_on", "Received on 2099-01-01 is in the future")
    assert row_counts() == before


def test_a_sunday_payment_asks_for_a_confirmation_and_records_nothing_until_given(client, note, staff):
    client.force_login(staff)
    before = row_counts()
    response = record_payment(client, note)
    refused_at(response, "received_on", ASKED)
    page = response.content.decode()
    assert 'type="checkbox" name="confirm_date"' in page and "The date is right" in page
    assert row_counts() == before and not SpentToken.objects.exists()

    response = record_payment(client, note, confirm_date="on")
    assert response.status_code == 302
    payment = note.payments.get()
    assert (payment.received_on, payment.amount, payment.approval) == (date(2024, 2, 4), D("2200.00"), "pending")


def test_a_business_day_payment_is_recorded_without_a_question(client, note, staff):
    client.force_login(staff)
    response = record_payment(client, note, received_on="2024-02-05")  # a Monday
    assert response.status_code == 302
    assert note.payments.get().received_on == date(2024, 2, 5)


def test_a_holiday_is_named_as_the_calendar_names_it(client, note, staff):
    client.force_login(staff)
    response = record_payment(client, note, received_on="2024-11-28")
    refused_at(
        response,
        "received_on",
        "2024-11-28 is Thanksgiving Day, a bank holiday: payments are rarely received on a bank holiday.",
    )
    assert not note.payments.exists()


def test_a_notice_sent_on_a_saturday_asks_for_a_confirmation(client, note, staff):
    client.force_login(staff)
    url = reverse("servicing:record", args=[note.pk, "notice"])
    data = {"kind": "other", "direction": "company_to_holder", "method": "telecopy", "sent_on": "2024-02-10"}
    response = client.post(url, once(data))
    refused_at(response, "sent_on", "2024-02-10 is a Saturday: notices are rarely sent on a weekend.")
    assert not Notice.objects.exists()
    assert client.post(url, once(data | {"confirm_date": "on"})).status_code == 302
    assert Notice.objects.get().sent_on == date(2024, 2, 10)


def test_checking_a_notice_dated_on_a_saturday_says_the_date_is_unusual_and_records_nothing(client, note, staff):
    client.force_login(staff)
    url = reverse("servicing:record", args=[note.pk, "notice"])
    data = {"kind": "other", "direction": "company_to_holder", "method": "telecopy", "sent_on": "2024-02-10"}
    page = client.post(url, once(data | {"preview": ""})).content.decode()
    assert "Deemed received on Saturday 2024-02-10 (section 8(b))." in page
    assert "2024-02-10 is a Saturday: notices are rarely sent on a weekend." in page
    assert 'type="checkbox" name="confirm_date"' in page
    assert not Notice.objects.exists()


def test_a_conversion_notice_sent_on_a_sunday_asks_for_a_confirmation(client, note, staff):
    client.force_login(staff)
    url = reverse("servicing:record", args=[note.pk, "conversion"])
    response = client.post(url, once({"notice_sent": "2024-02-11", "method": "telecopy", "principal": "1000.00"}))
    refused_at(response, "notice_sent", "2024-02-11 is a Sunday: notices are rarely sent on a weekend.")
    assert not note.conversions.exists()


def test_the_date_fields_are_typed_and_shown_as_iso(client, note, staff):
    client.force_login(staff)
    page = client.get(reverse("servicing:record", args=[note.pk, "payment"])).content.decode()
    assert 'type="date"' not in page
    assert 'placeholder="YYYY-MM-DD"' in page and r'pattern="\d{4}-\d{2}-\d{2}"' in page
    response = record_payment(client, note, received_on="02/05/2024")  # a United States date is not read
    refused_at(response, "received_on", "Enter a date as YYYY-MM-DD, such as 2026-11-27.")
    assert not note.payments.exists()


def test_the_notes_filter_refuses_a_bad_date_and_lists_nothing(client, note, staff):
    NoteFactory(issuer=note.issuer, holder=note.holder, by=staff, maturity_date=date(2030, 1, 10))
    client.force_login(staff)
    response = client.get("/notes/", {"matures_before": "2024-13-45"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter a date as YYYY-MM-DD, such as 2026-11-27." in page
    assert "Nothing is listed: correct the filter above." in page
    assert note.number not in page
    assert 'placeholder="YYYY-MM-DD"' in page and 'type="date"' not in page


def test_the_notes_filter_lists_the_notes_maturing_by_a_good_date(client, note, staff):
    later = NoteFactory(issuer=note.issuer, holder=note.holder, by=staff, maturity_date=date(2030, 1, 10))
    client.force_login(staff)
    page = client.get("/notes/", {"matures_before": "2025-06-30"}).content.decode()
    assert f">{note.number}<" in page and f">{later.number}<" not in page
    assert Note.objects.count() == 2
