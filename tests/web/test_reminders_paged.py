"""Reminders a page at a time: the reminders page pages the open reminders in the database and checks
only the page's (reminders.holding); the dashboard lists at most LISTED and links to the rest."""

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from servicing import clock
from servicing.close import close_books
from servicing.dashboard import LISTED, dashboard
from servicing.models import Reminder
from servicing.reminders import reminders_run

pytestmark = pytest.mark.django_db
TODAY = date(2024, 2, 3)


@pytest.fixture
def past_due(make_note):
    """A note past due since 2024-02-02, and its one reminder, which holds on TODAY."""
    note = make_note()
    close_books(through=date(2024, 2, 2))
    reminders_run(today=TODAY)
    assert Reminder.objects.get().kind == Reminder.Kind.PAST_DUE
    return note


def stale(note, n, first=date(2023, 1, 1), start=0):
    """`n` open interest reminders of `note` that no finding names any more (they have ended), due
    before the past-due one."""
    Reminder.objects.bulk_create(
        Reminder(
            kind=Reminder.Kind.INTEREST_DUE,
            key=f"interest_due:{note.pk}:stale{i}",
            due_on=first + timedelta(days=i),
            message=f"stale {i}",
            note=note,
            created_on=TODAY,
        )
        for i in range(start, start + n)
    )


def reminders_page(client, page=1):
    with clock.pinned(TODAY), CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("servicing:reminders"), {"page": page})
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_the_reminders_page_pages_the_open_ones_and_checks_only_its_own(
    client, staff, past_due, django_assert_max_num_queries
):
    stale(past_due, 119)  # 120 open
    client.force_login(staff)
    first, queries = reminders_page(client)
    assert "Page 1 of 3" in first
    assert first.count("data-ended=") == 50 and "data-reminder=" not in first
    assert "ended: due date 2023-01-01 reached" in first and "stale 49" in first and "stale 50" not in first
    last, _ = reminders_page(client, 3)
    assert "Page 3 of 3" in last and last.count("data-ended=") == 19  # stale 100..118
    assert 'data-reminder="past_due"' in last and "past due since 2024-02-02" in last
    # Nothing is closed by looking: the next run does that.
    assert Reminder.objects.filter(closed_at__isnull=True).count() == 120

    stale(past_due, 1000, start=119)  # 1,120 open: a page costs the same
    again, queries_then = reminders_page(client)
    assert "Page 1 of 23" in again and again.count("data-ended=") == 50
    assert queries_then == queries
    with django_assert_max_num_queries(20):  # 16: the session and user, a count, a page, its checking
        reminders_page(client, 23)


def test_the_closed_list_is_capped_with_its_count(client, staff, past_due):
    stale(past_due, 130)
    reminders_run(today=TODAY)  # closes the 130 stale ones
    client.force_login(staff)
    page, _ = reminders_page(client)
    assert page.count("data-closed=") == 100
    assert "the latest 100 of 130" in page
    assert page.count("data-reminder=") == 1 and "Page 1 of" not in page


def test_the_dashboard_lists_at_most_listed_and_links_to_the_rest(client, staff, past_due):
    stale(past_due, 29, first=date(2024, 3, 1))  # 30 open this week, the past-due one first
    d = dashboard(TODAY)
    assert [r.kind for r in d.reminders[:1]] == ["past_due"]
    # The first LISTED checked: the past-due one holds, the 19 stale ones after it have ended.
    assert len(d.reminders) == 1 and d.reminders_more == 30 - LISTED
    client.force_login(staff)
    with clock.pinned(TODAY):
        html = client.get(reverse("dashboard")).content.decode()
    more = re.search(r"data-reminders-more>(.*?)</td>", html).group(1)
    assert more.startswith("10 more from this week — ")
    assert f'href="{reverse("servicing:reminders")}">see all reminders</a>' in more


def test_the_dashboard_says_nothing_more_when_all_are_listed(past_due):
    stale(past_due, LISTED - 1, first=date(2024, 3, 1))
    d = dashboard(TODAY)
    assert d.reminders_more == 0 and [r.kind for r in d.reminders] == ["past_due"]
