"""The lists, the dashboard and a note page run as many queries however many notes and months of
ledger there are: they read the balances each note row keeps and page in the database."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from holders.models import Holder
from servicing import clock, services
from servicing.close import close_books
from tests.factories import HolderFactory

pytestmark = pytest.mark.django_db

LISTS = [
    "/",
    "/notes/",
    "/notes/?sort=-principal_outstanding",
    "/notes/?sort=holder&owing=past_due",
    "/notes/?status=in_default&sort=status",
    "/notes/?owing=default&sort=-past_due",
    "/notes/?q=Holder",
    "/holders/",
    "/holders/?sort=-principal_outstanding",
    "/admin/notes/note/",
]


def queries(client, url) -> int:
    with clock.pinned(date(2024, 11, 1)), CaptureQueriesContext(connection) as run:
        assert client.get(url).status_code == 200, url
    return len(run)


def pages(client, note) -> dict[str, int]:
    holder = Holder.objects.order_by("pk").first()
    urls = [*LISTS, holder.get_absolute_url(), note.get_absolute_url(), note.get_absolute_url() + "?page=2"]
    return {url: queries(client, url) for url in urls}


def add_notes(make_note, staff, approve, count):
    for _ in range(count):
        note = make_note(holder=HolderFactory())
        with clock.pinned(date(2024, 3, 1)):
            approve(
                services.default_record(note=note, kind="misrepresentation", occurred_on=date(2024, 3, 1), by=staff)
            )


def test_pages_run_as_many_queries_with_twelve_notes_and_ten_months_as_with_three_and_five(
    client, admin_user, make_note, staff, approve
):
    client.force_login(admin_user)
    note = make_note()
    add_notes(make_note, staff, approve, 2)
    close_books(through=date(2024, 5, 31))
    few = pages(client, note)
    add_notes(make_note, staff, approve, 9)
    close_books(through=date(2024, 10, 31))
    assert pages(client, note) == few
