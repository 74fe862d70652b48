"""The dashboard's figures, against the engine's and the ledger's."""

from datetime import date
from decimal import Decimal as D

import pytest

from notes.models import Note
from servicing import clock, engine, services
from servicing.close import close_books
from servicing.dashboard import dashboard
from servicing.quotes import conversion_quote
from servicing.selectors import note_events, note_terms

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_what_the_engine_has_past_due_as_the_day_begins(make_note, staff, approve):
    note = make_note()

    def engine_past_due(through):
        return engine.run(note_terms(note), note_events(note), through).balances.past_due

    close_books(through=date(2024, 2, 29))
    # On 1 March January's 2,200.00 is past due; February's bills (2,900.00 and 861.94) fall due that day.
    d = dashboard(date(2024, 3, 1))
    assert (d.past_due, d.notes_past_due) == (D("2200.00"), 1) == (engine_past_due(date(2024, 2, 29)), 1)
    close_books(through=date(2024, 3, 1))
    assert dashboard(date(2024, 3, 2)).past_due == D("2200.00") + D("2900.00") + D("861.94")
    with clock.pinned(date(2024, 3, 4)):
        approve(services.default_record(note=note, kind="insolvency", occurred_on=date(2024, 3, 4), by=staff))
    close_books(through=date(2024, 3, 4))
    # Accelerated on 4 March: principal and every bill past due from the 5th (1–3 March billed at 300.00,
    # default interest of 1–3 March 90.00 + 13 % on 2,200.00 for a day and on 5,100.00 for two = 4.42).
    expected = D("365000.00") + D("5961.94") + D("300.00") + D("94.42")
    assert dashboard(date(2024, 3, 5)).past_due == expected == engine_past_due(date(2024, 3, 4))


def test_the_dashboard_sums_principal_and_lists_what_is_in_default(make_note):
    make_note(number="ONE")
    make_note(number="TWO")
    close_books(through=date(2024, 2, 5))
    d = dashboard(date(2024, 2, 6))
    assert d.principal_outstanding == D("730000.00")
    assert d.in_default_count == 2 and [p.note.number for p in d.in_default] == ["ONE", "TWO"]
    # What converting each note in full on the 6th would issue, by the engine's what-if.
    assert d.shares_issuable == sum(conversion_quote(n, date(2024, 2, 6), None).shares for n in Note.objects.all())


def test_the_dashboard_lists_the_first_maturities_and_counts_them_all(make_note, monkeypatch):
    monkeypatch.setattr("servicing.dashboard.LISTED", 1)
    make_note(number="ONE")
    make_note(number="TWO", maturity_date=date(2025, 1, 5))
    make_note(number="LATER", maturity_date=date(2025, 6, 5))
    close_books(through=date(2024, 11, 30))
    d = dashboard(date(2024, 12, 1))
    assert ([n.number for n in d.maturities], d.maturities_count) == (["TWO"], 2)
