"""The dashboard's figures, against the engine's and the ledger's."""

from datetime import date
from decimal import Decimal as D

import pytest

from notes.models import Note
from servicing import engine
from servicing.close import close_books
from servicing.dashboard import dashboard
from servicing.selectors import note_events
from tests.factories import DefaultEventFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def engine_past_due(today: date) -> dict:
    """By note, what the engine has past due on `today` after replaying each note through its last
    posted day: what puts a note in payment default (7(a)(i)), every bill of interest or default
    interest unpaid after its due date, and principal unpaid after it fell due."""
    owed = {}
    for note in Note.objects.all():
        state = engine.run(note.terms, note_events(note), note.closed_through).state
        due = sum((i.unpaid for i in state.items if i.account != "costs" and i.due_date < today), D("0.00"))
        if state.principal_due_on is not None and state.principal_due_on < today:
            due += state.principal
        if due:
            owed[note.number] = due
    return owed


def test_past_due_is_what_the_engine_has_past_due(make_note, approver):
    late = make_note(number="LATE")
    on_time = make_note(number="ON-TIME")
    PaymentFactory(note=on_time, received_on=date(2024, 2, 1), amount=D("2200.00"), approved_by=approver)
    close_books(through=date(2024, 3, 1))
    for today in (date(2024, 3, 1), date(2024, 3, 2)):
        d, expected = dashboard(today), engine_past_due(today)
        assert (d.past_due, d.notes_past_due) == (sum(expected.values()), len(expected)), today
    # On 1 March January's 2,200.00 is past due; February's bills (2,900.00 and 861.94) fall due that day.
    assert engine_past_due(date(2024, 3, 1)) == {"LATE": D("2200.00")}
    assert engine_past_due(date(2024, 3, 2))["LATE"] == D("2200.00") + D("2900.00") + D("861.94")

    DefaultEventFactory(note=late, kind="insolvency", occurred_on=date(2024, 3, 4), approved_by=approver)
    close_books(through=date(2024, 3, 4))
    d, expected = dashboard(date(2024, 3, 5)), engine_past_due(date(2024, 3, 5))
    assert (d.past_due, d.notes_past_due) == (sum(expected.values()), len(expected))
    # Accelerated on 4 March: principal and every bill past due from the 5th (1–3 March billed at 300.00,
    # default interest of 1–3 March 90.00 + 13 % on 2,200.00 for a day and on 5,100.00 for two = 4.42).
    assert expected["LATE"] == D("365000.00") + D("5961.94") + D("300.00") + D("94.42")


def test_the_dashboard_sums_principal_and_lists_what_is_in_default(make_note):
    make_note(number="ONE")
    make_note(number="TWO")
    close_books(through=date(2024, 2, 5))
    d = dashboard(date(2024, 2, 6))
    assert d.principal_outstanding == D("730000.00")
    assert d.in_default_count == 2 and [p.note.number for p in d.in_default] == ["ONE", "TWO"]
    assert d.shares_issuable == 2 * (365000 + 2200) // 2  # (principal + January's bill) / 2.00, each
