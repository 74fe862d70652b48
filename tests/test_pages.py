from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse

from servicing import clock, services
from servicing.close import close_books

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["notes:list", "admin:index"])
def test_pages_need_a_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_note_page_needs_a_login(client, make_note):
    note = make_note()
    response = client.get(note.get_absolute_url())
    assert response.status_code == 302


def test_the_note_list_shows_each_note_with_its_balances(client, make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 2, 5)):
        approve(services.payment_record(note=note, received_on=date(2024, 2, 5), amount=D("1000.00"), by=staff))
    client.force_login(staff)
    page = client.get(reverse("notes:list")).content.decode()
    assert note.number in page
    assert "365,000.00" in page
    assert "1,200.00" in page  # January's 2,200.00 less the payment


def test_the_note_page_shows_terms_balances_and_ledger(client, make_note, staff):
    note = make_note()
    close_books(through=date(2024, 2, 1))
    client.force_login(staff)
    page = client.get(note.get_absolute_url()).content.decode()
    assert "2.000000" in page  # conversion price
    assert "2,200.00" in page  # January billed
    assert "Payoff (next day)" in page


def test_the_login_page_logs_in(client, staff):
    response = client.post(reverse("login"), {"username": "servicer", "password": "pw-servicer-1"})
    assert response.status_code == 302
    assert client.get(reverse("notes:list")).status_code == 200


def test_the_note_page_shows_what_awaits_approval_and_the_chain_of_title(client, make_note, staff, approve):
    from holders.services import holder_create
    from servicing import lifecycle

    note = make_note()
    bea = holder_create(name="Bea Assignee")
    with clock.pinned(date(2024, 3, 15)):
        assignment = approve(
            lifecycle.assignment_record(
                note=note, effective_on=date(2024, 3, 15), parts=[(bea, D("1000.00"))], by=staff
            )
        )
        services.payment_record(note=note, received_on=date(2024, 3, 15), amount=D("123.45"), by=staff)
    client.force_login(staff)
    page = client.get(note.get_absolute_url()).content.decode()
    assert "Awaiting approval" in page and "123.45 received 2024-03-15" in page
    substitute = assignment.parts.get().substitute
    page = client.get(substitute.get_absolute_url()).content.decode()
    assert "Chain of title" in page and note.number in page and "Bea Assignee, from 2024-03-15" in page
