"""The month-end state posting keeps (servicing/month_ends.py), and statements made from it: each is
checked against a replay of the note from its first day, never against what was stored before."""

from datetime import date
from decimal import Decimal as D

import pytest

from servicing import approvals, clock, engine, services
from servicing.close import close_books
from servicing.engine.calendar import add_months
from servicing.models import MonthEndState
from servicing.month_ends import replay_through
from servicing.selectors import note_events, note_terms
from servicing.simulate import simulate
from servicing.statements import statement_for
from tests.factories import DefaultEventFactory, PaymentFactory
from tests.helpers import scenario

pytestmark = pytest.mark.django_db


def months(first: date, last: date) -> list[date]:
    out, month = [], first.replace(day=1)
    while month <= last:
        out.append(month)
        month = add_months(month, 1)
    return out


def assert_statements_equal_full_replays(note, through: date) -> None:
    """Every month's statement of the note's holder, made from the kept states, equals the one made
    with none kept (each note replayed from its first day)."""
    assert MonthEndState.objects.filter(note=note).exists()
    every = months(note.agreement_date, through)
    kept = [statement_for(note.holder, m) for m in every]
    MonthEndState.objects.filter(note=note).delete()
    replayed = [statement_for(note.holder, m) for m in every]
    assert kept == replayed
    assert any(s.notes for s in kept)


def kept_state(note) -> tuple:
    kept = MonthEndState.objects.get(note=note)
    return kept.day, engine.State.from_json(kept.state)


def full_replay_state(note, through: date) -> tuple:
    """The state at the last month end through `through`, of one replay from the first day."""
    note.refresh_from_db()
    day, state = engine.run(note_terms(note), note_events(note), through, strict=False, month_end=True).month_end
    return day, engine.State.from_json(state)


@pytest.mark.parametrize("name", ["innovo-mixed-year", "late-payment-acceleration"])
def test_statements_from_kept_states_equal_full_replays_of_the_worked_scenarios(name):
    """Payments on time and late, a conversion, a prepayment; a payment default and an acceleration."""
    data = scenario(name)
    note, _ = simulate(data)
    assert_statements_equal_full_replays(note, date.fromisoformat(data["as_of"]))


def test_statements_from_states_kept_close_by_close_equal_full_replays(make_note, staff, approver):
    """Closed month by month, with a payment missed and paid late, a covenant breach (default
    interest), a partial conversion, and a payment recorded back-dated (a full replay)."""
    note = make_note()
    for month in months(date(2024, 2, 1), date(2024, 9, 1)):
        if month not in (date(2024, 4, 1), date(2024, 5, 1)):
            PaymentFactory(note=note, received_on=month, amount=D("3100.00"), approved_by=approver)
        if month == date(2024, 5, 1):
            DefaultEventFactory(note=note, occurred_on=date(2024, 5, 10), approved_by=approver)
        if month == date(2024, 7, 1):
            with clock.pinned(date(2024, 7, 2)):
                conversion = services.conversion_record(
                    note=note, notice_sent=date(2024, 7, 2), method="telecopy", principal=D("50000.00"), by=staff
                )
                approvals.approve(conversion, by=approver)
        close_books(through=month)
    # The missed April payment, received late in May and recorded in September.
    PaymentFactory(
        note=note, received_on=date(2024, 5, 20), amount=D("6000.00"), today=date(2024, 9, 2), approved_by=approver
    )
    close_books(through=date(2024, 10, 1))

    note.refresh_from_db()
    assert note.default_periods.exists()
    assert kept_state(note) == full_replay_state(note, date(2024, 10, 1))
    assert kept_state(note)[0] == date(2024, 9, 30)
    assert_statements_equal_full_replays(note, date(2024, 9, 1))


def test_a_full_replay_replaces_the_kept_state(make_note, approver):
    note = make_note()
    close_books(through=date(2024, 6, 1))
    before = kept_state(note)
    assert before[0] == date(2024, 5, 31)
    # January's interest, paid on time but recorded in June: every month end from February on changes.
    PaymentFactory(
        note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), today=date(2024, 6, 1), approved_by=approver
    )
    after = kept_state(note)
    assert after == full_replay_state(note, date(2024, 6, 1))
    assert after[0] == before[0] and after[1] != before[1]


def test_a_nightly_close_keeps_the_month_end_it_passes(make_note):
    note = make_note()
    close_books(through=date(2024, 5, 20))
    assert kept_state(note)[0] == date(2024, 4, 30)
    close_books(through=date(2024, 5, 31))
    assert kept_state(note) == full_replay_state(note, date(2024, 5, 31))
    assert kept_state(note)[0] == date(2024, 5, 31)


def test_it_replays_only_the_days_after_the_kept_month_end(make_note):
    note = make_note()
    close_books(through=date(2024, 6, 1))
    terms, events = note_terms(note), note_events(note)
    from_kept = replay_through(note, terms, events, date(2024, 6, 3))
    assert {p.effective_on for p in from_kept.postings} == {date(2024, 6, 1)}  # May billed; nothing earlier
    older = replay_through(note, terms, events, date(2024, 4, 3))  # kept after it: from the first day
    assert min(p.effective_on for p in older.postings) == note.agreement_date
    MonthEndState.objects.filter(note=note).delete()
    full = replay_through(note, terms, events, date(2024, 6, 3))
    assert min(p.effective_on for p in full.postings) == note.agreement_date
    assert (from_kept.balances, from_kept.state) == (full.balances, full.state)
