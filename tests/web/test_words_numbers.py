"""Words and numbers on the staff pages: money with separators and two places, rates as percentages,
prices with six places; messages name a field by its label; a form with nothing to choose says why;
a button the user may not use is not offered (and the server still refuses it)."""

import re
from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from servicing import clock, lifecycle, services
from servicing.models import DefaultEvent
from servicing.web import refusal_words
from tests.factories import HolderFactory, UserFactory

pytestmark = pytest.mark.django_db


def text(response) -> str:
    """The page's words without its tags, spaces folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def paid(make_note, staff, approve):
    """The note with 50,000.00 received on 2024-02-05, recorded by `staff` and approved by `approver`."""
    note = make_note()
    with clock.pinned(date(2024, 2, 5)):
        payment = approve(services.payment_record(note=note, received_on=date(2024, 2, 5), amount=D("50000"), by=staff))
    return note, payment


def test_the_note_page_writes_money_rates_and_prices_one_way(client, paid, staff):
    note, _ = paid
    client.force_login(staff)
    with clock.pinned(date(2024, 2, 10)):
        page = text(client.get(note.get_absolute_url() + "?on=2024-02-10"))
    assert "365,000.00" in page and "365000.00" not in page  # the terms card's principal
    assert "50,000.00" in page and "50000.00" not in page  # the payment
    assert "10% (default 13%)" in page and "0.10" not in page  # the rate, as a percentage
    assert "Conversion price 2.000000" in page  # six places (servicing-rules.md, "Conversion")
    assert re.search(r"at 2\.000000 → [\d,]+ shares", page)  # the what-if's price and shares


def test_the_lists_dashboard_and_holder_page_write_money_with_separators(client, make_note, staff, holder):
    make_note()
    client.force_login(staff)
    for url in (reverse("notes:list"), reverse("dashboard"), holder.get_absolute_url()):
        page = text(client.get(url))
        assert "365,000.00" in page, url
        assert "365000" not in page, url
    assert " 10% " in text(client.get(reverse("notes:list")))


def test_the_approvals_queue_and_the_message_write_the_amount_with_separators(client, make_note, staff, approver):
    note = make_note()
    client.force_login(staff)
    with clock.pinned(date(2024, 2, 5)):
        data = {"received_on": "2024-02-05", "amount": "1234567.5", "reference": "", "save": "1"}
        response = client.post(reverse("servicing:record", args=[note.pk, "payment"]), data | {"once": "x" * 16})
        page = text(client.get(response["Location"]))
    assert "Recorded: 1,234,567.50 received 2024-02-05." in page
    client.force_login(approver)
    assert "1,234,567.50 received 2024-02-05" in text(client.get(reverse("servicing:approvals")))


def test_closing_prices_and_participations_are_written_as_prices_and_percentages(client, make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 3, 1)):
        services.closing_price_record(issuer=note.issuer, date=date(2024, 2, 1), close=D("2.5"), by=staff)
        approve(
            lifecycle.participation_record(
                note=note,
                participant=HolderFactory(name="Bo Park"),
                share=D("0.25"),
                starts_on=date(2024, 2, 1),
                by=staff,
            )
        )
    client.force_login(staff)
    assert "2.500000" in text(client.get(reverse("servicing:closing_prices")))
    assert "Participation: Bo Park, 25% of each payment" in text(client.get(note.get_absolute_url()))


def test_a_refusal_above_the_page_names_the_field_by_its_label():
    error = ValidationError({"received_on": ["received_on 2099-01-01 is in the future"], "approval": ["not yours"]})
    assert refusal_words(error) == ["Received on 2099-01-01 is in the future", "not yours"]
    assert refusal_words(ValidationError({"ends_on": ["ends_on: give a date"]}), {"ends_on": "Last day"}) == [
        "Last day: give a date"
    ]


def test_a_message_of_a_button_names_the_field_by_its_label(client, make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 3, 1)):
        participation = approve(
            lifecycle.participation_record(
                note=note,
                participant=HolderFactory(name="Bo Park"),
                share=D("0.25"),
                starts_on=date(2024, 2, 1),
                by=staff,
            )
        )
    client.force_login(staff)
    url = reverse("servicing:participation_end", args=[participation.pk])
    page = text(client.post(url, {"ends_on": "soon"}, follow=True))
    assert "Ends on: give the date" in page and "ends_on" not in page


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("cure", "No covenant breach of {number} is open: a cure applies only to a covenant breach (7(a)(ii))"),
        ("waiver", "No covenant breach or misrepresentation of {number} is open"),
    ],
)
def test_a_form_with_nothing_to_choose_says_why_instead(client, make_note, staff, kind, says):
    note = make_note()
    client.force_login(staff)
    response = client.get(reverse("servicing:record", args=[note.pk, kind]))
    page = text(response)
    assert says.format(number=note.number) in page
    assert "A payment default (7(a)(i)) ends when the amount past due is paid: record a payment instead." in page
    assert 'name="event"' not in response.content.decode()  # no empty form
    assert reverse("servicing:record", args=[note.pk, "payment"]) in response.content.decode()
    # Posting anyway records nothing.
    data = {"event": "1", "cured_on": "2024-02-01", "waived_on": "2024-02-01", "save": "1", "once": "y" * 16}
    assert client.post(reverse("servicing:record", args=[note.pk, kind]), data).status_code == 200
    assert not note.default_events.exists()
    # The note page does not offer it, and says why.
    detail = client.get(note.get_absolute_url()).content.decode()
    assert f'data-unavailable="{kind}"' in detail
    assert reverse("servicing:record", args=[note.pk, kind]) not in detail


def test_a_form_is_offered_once_there_is_something_to_choose(client, make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 2, 5)):
        approve(
            services.default_record(note=note, kind=DefaultEvent.Kind.COVENANT, occurred_on=date(2024, 2, 1), by=staff)
        )
    client.force_login(staff)
    response = client.get(reverse("servicing:record", args=[note.pk, "cure"]))
    assert 'name="event"' in response.content.decode() and "is open" not in text(response)
    assert reverse("servicing:record", args=[note.pk, "cure"]) in client.get(note.get_absolute_url()).content.decode()


def test_a_pending_breach_is_named_as_awaiting_approval(client, make_note, staff):
    note = make_note()
    with clock.pinned(date(2024, 2, 5)):
        services.default_record(note=note, kind=DefaultEvent.Kind.COVENANT, occurred_on=date(2024, 2, 1), by=staff)
    client.force_login(staff)
    page = text(client.get(reverse("servicing:record", args=[note.pk, "cure"])))
    assert "One is recorded and awaits approval" in page


def test_the_approver_of_a_payment_is_not_offered_to_approve_its_reversal(client, paid, staff, approver):
    note, payment = paid
    client.force_login(staff)
    assert "Ask to reverse" in client.get(note.get_absolute_url()).content.decode()
    client.post(reverse("servicing:payment_reverse", args=[payment.pk]), {"reason": "wire returned"})
    reversal = payment.reversals.get()
    # Asked once: the page says a reversal awaits approval instead of offering a second.
    page = client.get(note.get_absolute_url()).content.decode()
    assert "a reversal awaits approval" in page and "Ask to reverse" not in page

    approve_url = reverse("servicing:decide", args=["paymentreversal", reversal.pk, "approve"])
    client.force_login(approver)  # who approved the payment
    queue = client.get(reverse("servicing:approvals")).content.decode()
    assert approve_url not in queue
    assert "You recorded or approved this payment: someone else must approve its reversal" in queue
    # The server still refuses it.
    page = text(client.post(approve_url, follow=True))
    assert "someone else must approve its reversal" in page
    reversal.refresh_from_db()
    assert reversal.approval == "pending"

    client.force_login(UserFactory(username="second", roles=["approver"]))
    assert approve_url in client.get(reverse("servicing:approvals")).content.decode()


def test_a_user_without_the_reversal_permission_is_not_offered_it_and_is_refused(client, paid, approver):
    note, payment = paid
    client.force_login(approver)
    assert "Ask to reverse" not in client.get(note.get_absolute_url()).content.decode()
    response = client.post(reverse("servicing:payment_reverse", args=[payment.pk]), {"reason": "x"})
    assert response.status_code == 403
    assert not payment.reversals.exists()


def test_who_recorded_an_item_is_offered_neither_approve_nor_reject(client, make_note):
    both = UserFactory(username="both", roles=["servicer", "approver"])
    note = make_note()
    with clock.pinned(date(2024, 2, 5)):
        payment = services.payment_record(note=note, received_on=date(2024, 2, 5), amount=D("10"), by=both)
    client.force_login(both)
    queue = client.get(reverse("servicing:approvals")).content.decode()
    assert reverse("servicing:decide", args=["payment", payment.pk, "approve"]) not in queue
    assert reverse("servicing:decide", args=["payment", payment.pk, "reject"]) not in queue
    assert "You recorded this: a different user must approve it (four-eyes)" in queue
