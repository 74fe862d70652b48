"""Long notes stay usable (issue 13, item 6): a note's periods are grouped by year with the year's totals,
every period reachable; the notes list says each note's standing and totals what the filter lists."""

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal as D

import pytest

from notes.models import Note
from servicing import clock, services
from servicing.close import close_books
from servicing.models import Period
from tests.factories import IssuerFactory, NoteFactory

pytestmark = pytest.mark.django_db


def figure(text: str) -> D:
    return D(text.replace(",", ""))


def test_a_long_notes_periods_are_grouped_by_year_with_the_sums_of_its_periods(
    client, admin_user, make_note, django_assert_max_num_queries
):
    note = make_note(maturity_date=date(2027, 1, 10))  # never paid: in default from February 2024
    close_books(through=date(2026, 10, 31), note_ids=[note.pk])
    expected = defaultdict(lambda: [0, D(0), D(0)])
    for p in Period.objects.filter(note=note):
        expected[p.start.year][0] += 1
        expected[p.start.year][1] += p.interest
        expected[p.start.year][2] += p.default_interest
    assert set(expected) == {2024, 2025, 2026} and expected[2025][2] > 0

    client.force_login(admin_user)
    with clock.pinned(date(2026, 11, 2)), django_assert_max_num_queries(44):
        page = client.get(note.get_absolute_url()).content.decode()
    shown = re.findall(
        r'<details class="period-year"( open)? data-year="(\d+)">\s*'
        r"<summary><strong>\d+</strong> — (\d+) periods?, "
        r"interest <span [^>]*>([\d,.]+)</span>, default interest <span [^>]*>([\d,.]+)</span>",
        page,
    )
    assert [(year, opened) for opened, year, *_ in shown] == [("2026", " open"), ("2025", ""), ("2024", "")]
    for _, year, count, interest, default_interest in shown:
        assert [int(count), figure(interest), figure(default_interest)] == expected[int(year)], year
    # Every period is on the page (no "latest 24"), each once.
    starts = re.findall(
        r'<tr id="period-[\d-]+"><td class="date">(\d{4}-\d\d-\d\d)</td>'
        r'<td class="date">\d{4}-\d\d-\d\d</td><td class="num">',
        page,
    )
    assert sorted(starts) == sorted(f"{p.start:%Y-%m-%d}" for p in Period.objects.filter(note=note))
    assert (
        len(starts) == sum(n for n, *_ in expected.values()) == 33
    )  # January 2024 to September 2026: October's is billed on 1 November
    # The sticky summary reads the note row's balances.
    note.refresh_from_db()
    assert re.search(r'data-summary="principal">365,000.00<', page)
    assert figure(re.search(r'data-summary="past_due">([^<]+)<', page).group(1)) == note.past_due > 0
    for section in ("overview", "payments", "periods", "events", "documents", "ledger"):
        assert f'<section id="{section}"' in page and f'href="#{section}"' in page


def test_the_page_runs_as_many_queries_for_three_years_of_periods_as_for_one_month(client, admin_user, make_note):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    short, long = make_note(number="SHORT"), make_note(number="LONG", maturity_date=date(2027, 1, 10))
    close_books(through=date(2024, 2, 5), note_ids=[short.pk])
    close_books(through=date(2026, 10, 31), note_ids=[long.pk])
    client.force_login(admin_user)
    counts = []
    for note in (short, long):
        with CaptureQueriesContext(connection) as run:
            assert client.get(note.get_absolute_url()).status_code == 200
        counts.append(len(run))
    assert counts[0] == counts[1]


def status_cells(page: str) -> dict[str, str]:
    rows = re.findall(r'<a href="/notes/\d+/">([^<]+)</a>.*?data-status="([^"]+)"', page)
    return dict(rows)


def test_the_notes_list_says_each_notes_standing_and_filters_by_it(client, admin_user, make_note, staff, approve):
    notes = {n: make_note(number=n) for n in ("CURRENT", "LATE", "DEFAULTED", "MATURED")}
    close_books(through=date(2024, 1, 25), note_ids=[notes["CURRENT"].pk])  # nothing billed yet
    # January's interest, due 1 February, unpaid: past due, which is a payment default (7(a)(i)) at once,
    # so the note is in default, as its statement says.
    close_books(through=date(2024, 2, 5), note_ids=[notes["LATE"].pk])
    with clock.pinned(date(2024, 1, 20)):  # a misrepresentation: an Event of Default with nothing past due
        record = services.default_record(
            note=notes["DEFAULTED"], kind="misrepresentation", occurred_on=date(2024, 1, 20), by=staff
        )
        approve(record)
    close_books(through=date(2024, 1, 25), note_ids=[notes["DEFAULTED"].pk])
    close_books(through=date(2025, 2, 1), note_ids=[notes["MATURED"].pk])  # matured 10 January 2025, unpaid
    assert Note.objects.get(number="DEFAULTED").past_due == 0 < Note.objects.get(number="LATE").past_due
    client.force_login(admin_user)
    with clock.pinned(date(2025, 3, 1)):
        page = client.get("/notes/").content.decode()
        assert status_cells(page) == {
            "CURRENT": "current",
            "LATE": "in default",
            "DEFAULTED": "in default",
            "MATURED": "matured",
        }
        assert 'data-status="current">Current<' in page and 'data-status="matured">Matured<' in page
        assert list(status_cells(client.get("/notes/?status=in_default").content.decode())) == ["DEFAULTED", "LATE"]
        assert list(status_cells(client.get("/notes/?status=current").content.decode())) == ["CURRENT"]
        # The facets kept under Owing: anything past due, whatever the note's standing.
        owing = status_cells(client.get("/notes/?owing=past_due").content.decode())
        assert set(owing) == {"LATE", "MATURED"}
        csv = client.get("/notes/?export=csv").content.decode()
        assert "Status" in csv.splitlines()[0] and ",In default," in csv and ",Matured," in csv


def test_a_converted_note_says_so_in_the_list_and_on_its_page(client, admin_user, make_note, staff, approve):
    note = make_note(number="CONVERTED")
    with clock.pinned(date(2024, 2, 15)):
        approve(
            services.conversion_record(
                note=note, notice_sent=date(2024, 2, 15), method="telecopy", principal=None, by=staff
            )
        )
    close_books(through=date(2024, 4, 1), note_ids=[note.pk])
    client.force_login(admin_user)
    assert status_cells(client.get("/notes/?status=converted").content.decode()) == {"CONVERTED": "converted"}
    assert 'data-status="converted">Converted<' in client.get(note.get_absolute_url()).content.decode()


def test_the_totals_row_sums_every_note_the_filter_lists_not_only_the_page(client, admin_user, issuer, holder, staff):
    other = IssuerFactory(name="Other Issuer Corp.")
    ours = [NoteFactory(issuer=issuer, holder=holder, by=staff, number=f"N-{i:02}") for i in range(27)]
    theirs = [NoteFactory(issuer=other, holder=holder, by=staff, number=f"X-{i}") for i in range(2)]
    columns = ("principal_outstanding", "interest_due", "default_interest_due", "past_due", "unapplied")
    for i, note in enumerate(ours + theirs):  # distinct figures for each note and column
        Note.objects.filter(pk=note.pk).update(
            closed_through=date(2024, 2, 5),
            **{c: D(1000 * (i + 1) + 10 * k) + D("0.07") for k, c in enumerate(columns)},
        )
    expected = {c: sum(getattr(n, c) for n in Note.objects.filter(issuer=issuer)) for c in columns}
    client.force_login(admin_user)
    page = client.get(f"/notes/?issuer={issuer.pk}").content.decode()
    assert page.count('<a href="/notes/') == 25  # one page of 27
    assert "Totals for the 27 notes listed" in page
    tfoot = page[page.index("<tfoot") : page.index("</tfoot>")]
    shown = {c: figure(v) for c, v in re.findall(r'data-total="(\w+)">([^<]+)<', tfoot)}
    assert shown == expected
    assert shown["principal_outstanding"] == sum(D(1000 * (i + 1)) + D("0.07") for i in range(27))
