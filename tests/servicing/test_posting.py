"""Posting (servicing/posting.py): a note's ledger, periods, Events of Default and outcomes stored from
the engine's replay, whether it goes on from the saved state or replays the note in full.

What posting stores is checked against the engine's own run on the note's terms and events (and a
few figures by hand), never against what posting wrote before."""

import threading
from collections import Counter
from dataclasses import astuple
from datetime import date
from decimal import Decimal as D

import pytest
from django.db import connection, connections, transaction

from notes.models import Note
from servicing import approvals, clock, engine, services
from servicing.close import close_books
from servicing.models import Conversion, LedgerEntry, Payment, Period
from servicing.posting import post_notes
from servicing.selectors import note_events, note_terms
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db
MARCH_5 = date(2024, 3, 5)


def post(note, through, *, full=False, by=None, job="close_books") -> int:
    """post_notes as its callers call it: the note's row locked, inside a transaction."""
    with transaction.atomic():
        locked = list(Note.objects.select_for_update().filter(pk=note.pk))
        return post_notes(locked, through, full_ids={note.pk} if full else set(), by=by, job=job)


def replay(note, through) -> engine.Result:
    """The engine's run from the agreement date on the note's terms and every approved event."""
    note.refresh_from_db()
    return engine.run(note_terms(note), note_events(note), through)


def as_posting(e: LedgerEntry) -> engine.Posting:
    return engine.Posting(e.effective_on, e.kind, e.account, e.key, e.amount)


def standing(note) -> Counter:
    """The entries in force: posted and not reversed, reversals aside."""
    entries = LedgerEntry.objects.filter(note=note, reversed_by__isnull=True).exclude(kind=LedgerEntry.Kind.REVERSAL)
    return Counter(as_posting(e) for e in entries)


def periods(note) -> list[tuple]:
    fields = ("start", "end", "days", "due_date", "reason", "interest", "default_interest")
    return list(Period.objects.filter(note=note).order_by("start").values_list(*fields))


def defaults(note) -> list[tuple]:
    return list(note.default_periods.order_by("start", "kind").values_list("kind", "start", "end"))


def outcome(c: Conversion) -> tuple:
    return (c.principal, c.interest, c.default_interest, c.amount, c.shares)


def assert_stored_as_replayed(note, expected: engine.Result) -> None:
    """The note's ledger, periods, Events of Default and saved state are the replay's."""
    note.refresh_from_db()
    assert standing(note) == Counter(expected.postings)
    assert periods(note) == [astuple(p) for p in expected.periods]
    assert defaults(note) == [(d.kind, d.start, d.end) for d in expected.defaults]
    b = expected.balances
    assert (note.closed_through, note.accrued_interest, note.accrued_default_interest) == (
        b.as_of,
        b.accrued_interest,
        b.accrued_default_interest,
    )
    assert note.engine_state == expected.state.to_json()


def test_it_posts_a_note_through_a_day_as_the_engine_replays_it(make_note):
    note = make_note()  # posted through its agreement date when it was made: the funding
    written = post(note, MARCH_5)
    expected = replay(note, MARCH_5)
    assert_stored_as_replayed(note, expected)
    assert written == len(expected.postings) - 1
    bills = LedgerEntry.objects.filter(note=note, kind="bill").order_by("pk")
    # January's 22 days at 100.00; February's 29; and default interest on January's bill, late from
    # 2 February: 28 days × (30.00 + 2,200.00 × 13 % / 365) = 840.00 + 21.94.
    assert [(b.effective_on, b.account, b.amount) for b in bills] == [
        (date(2024, 2, 1), "interest", D("2200.00")),
        (date(2024, 3, 1), "interest", D("2900.00")),
        (date(2024, 3, 1), "default_interest", D("861.94")),
    ]
    assert defaults(note) == [("payment", date(2024, 2, 2), None)]


def test_it_posts_nothing_past_the_notes_last_day(make_note):
    note = make_note()  # matures 10 January 2025: replayed to 20 years after, 10 January 2045
    post(note, date(2046, 3, 1))
    note.refresh_from_db()
    assert note.closed_through == date(2045, 1, 10)
    assert not LedgerEntry.objects.filter(note=note, effective_on__gt=date(2045, 1, 10)).exists()
    assert post(note, date(2047, 1, 1)) == 0


def test_posting_again_through_the_same_day_writes_nothing_whether_it_goes_on_or_replays_in_full(make_note):
    note = make_note()
    post(note, MARCH_5)
    entries = list(LedgerEntry.objects.filter(note=note).values_list("pk", flat=True))
    default_ids = list(note.default_periods.values_list("pk", flat=True))
    assert post(note, MARCH_5) == 0
    assert post(note, MARCH_5, full=True) == 0
    assert list(LedgerEntry.objects.filter(note=note).values_list("pk", flat=True)) == entries
    assert list(note.default_periods.values_list("pk", flat=True)) == default_ids  # unchanged: not rewritten
    assert_stored_as_replayed(note, replay(note, MARCH_5))


def test_a_state_saved_by_another_engine_version_is_replayed_in_full_and_changes_no_entry(make_note):
    note = make_note()
    post(note, MARCH_5)
    Note.objects.filter(pk=note.pk).update(engine_state={"version": -1})
    assert post(note, MARCH_5) == 0
    assert not LedgerEntry.objects.filter(note=note, kind="reversal").exists()
    assert_stored_as_replayed(note, replay(note, MARCH_5))
    post(note, date(2024, 4, 5))
    assert_stored_as_replayed(note, replay(note, date(2024, 4, 5)))


def test_posting_in_steps_from_the_saved_state_gives_what_one_replay_gives(make_note, staff, approver):
    note = make_note()
    PaymentFactory(note=note, received_on=date(2024, 2, 12), amount=D("1000.00"), approved_by=approver)
    with clock.pinned(date(2024, 3, 11)):
        # Sent by certified mail on 10 March: received, and converted, on 15 March, after today.
        conversion = services.conversion_record(
            note=note, notice_sent=date(2024, 3, 10), method="certified_mail", principal=D("50000.00"), by=staff
        )
        approvals.approve(conversion, by=approver)
    post(note, date(2024, 3, 20))
    PaymentFactory(note=note, received_on=date(2024, 4, 2), amount=D("9000.00"), approved_by=approver)
    post(note, date(2024, 5, 31))

    expected = replay(note, date(2024, 5, 31))
    assert_stored_as_replayed(note, expected)
    # Each step appended the new days' entries in the replay's order, and corrected nothing.
    assert [as_posting(e) for e in LedgerEntry.objects.filter(note=note).order_by("pk")] == expected.postings
    (done,) = expected.conversions
    stored = Conversion.objects.get(pk=conversion.pk)
    assert stored.status == "converted"
    assert outcome(stored) == (done.principal, done.interest, done.default_interest, done.amount, done.shares)
    assert done.conversion_date == date(2024, 3, 15)


def test_a_full_replay_reverses_only_what_the_replay_no_longer_produces_and_posts_only_what_is_new(
    make_note, staff, approver
):
    note = make_note()
    payment = PaymentFactory(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), approved_by=approver)
    with clock.pinned(date(2024, 2, 20)):
        conversion = services.conversion_record(
            note=note, notice_sent=date(2024, 2, 15), method="telecopy", principal=D("100000.00"), by=staff
        )
        approvals.approve(conversion, by=approver)
    post(note, MARCH_5)
    first = replay(note, MARCH_5)
    assert_stored_as_replayed(note, first)
    before = {e.pk: as_posting(e) for e in LedgerEntry.objects.filter(note=note)}

    # The payment's amount corrected where it is kept: only 1,000.00 of January's interest was paid.
    Payment.objects.filter(pk=payment.pk).update(amount=D("1000.00"))
    written = post(note, MARCH_5, full=True, by=staff, job="")
    second = replay(note, MARCH_5)
    assert_stored_as_replayed(note, second)
    new = LedgerEntry.objects.filter(note=note).exclude(pk__in=before)
    reversals = new.filter(kind="reversal")
    gone = Counter(first.postings) - Counter(second.postings)
    came = Counter(second.postings) - Counter(first.postings)
    assert Counter(as_posting(r.reverses) for r in reversals) == gone
    assert all((r.amount, r.key, r.effective_on) == (-r.reverses.amount, r.reverses.key, r.reverses.effective_on)
               for r in reversals)  # fmt: skip
    assert Counter(as_posting(e) for e in new.exclude(kind="reversal")) == came
    assert written == new.count() == sum(gone.values()) + sum(came.values())
    # By hand: the payment's entry of 2,200.00 gives way to one of 1,000.00, and the 1,200.00 left
    # unpaid is late from 2 February: default interest of 13 days × (30.00 + 1,200.00 × 13 % / 365)
    # before the conversion on 15 February.
    key = engine.keys.payment(payment.pk)
    assert [(r.reverses.key, r.amount) for r in reversals if r.reverses.kind == "payment"] == [(key, D("2200.00"))]
    assert [e.amount for e in new.filter(kind="payment")] == [D("-1000.00")]
    assert reversals.get(reverses__kind="payment").approved_by == approver  # a reversal names the approval
    assert {(e.posted_by, e.job) for e in new} == {(staff, "")}
    assert defaults(note)[0] == ("payment", date(2024, 2, 2), date(2024, 2, 15))
    assert Period.objects.get(note=note, start=date(2024, 2, 1)).default_interest == D("395.56")  # 390.00 + 5.56
    (done,) = second.conversions
    stored = Conversion.objects.get(pk=conversion.pk)
    assert outcome(stored) == (done.principal, done.interest, done.default_interest, done.amount, done.shares)
    assert stored.amount != first.conversions[0].amount  # the conversion took the unpaid interest too

    # Corrected back: the 2,200.00 is posted again as a new entry, and what the 1,000.00 brought is reversed.
    Payment.objects.filter(pk=payment.pk).update(amount=D("2200.00"))
    post(note, MARCH_5, full=True, by=staff, job="")
    assert_stored_as_replayed(note, replay(note, MARCH_5))
    assert standing(note) == Counter(first.postings)
    paid = LedgerEntry.objects.filter(note=note, kind="payment").order_by("pk")
    assert [(e.amount, hasattr(e, "reversed_by")) for e in paid] == [
        (D("-2200.00"), True),
        (D("-1000.00"), True),
        (D("-2200.00"), False),
    ]


def test_each_entry_names_who_or_which_job_posted_it_and_who_approved_what_it_is_for(make_note, staff, approver):
    note = make_note()
    payment = PaymentFactory(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), approved_by=approver)
    post(note, MARCH_5)
    stamps = {
        (e.kind, e.key): (e.posted_by, e.job, e.approved_by)
        for e in LedgerEntry.objects.filter(note=note).select_related("posted_by", "approved_by")
    }
    assert stamps[("funding", "funding")] == (staff, "", None)  # made by the servicer
    assert stamps[("payment", engine.keys.payment(payment.pk))] == (approver, "", approver)  # the approval posted it
    assert stamps[("bill", engine.keys.period(date(2024, 2, 1)))] == (None, "close_books", None)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_closes_and_an_approval_at_the_same_moment_post_each_entry_once(make_note, staff, approver):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL: run with DATABASE_URL=postgres://… (CI does)")
    note = make_note()
    with clock.pinned(date(2024, 2, 1)):
        payment = services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), by=staff)
    start = threading.Barrier(3)
    errors = []

    def approve():
        with clock.pinned(date(2024, 3, 6)):
            approvals.approve(payment, by=approver)

    def at_once(work):
        try:
            start.wait()
            work()
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            connections.close_all()

    works = [lambda: close_books(through=MARCH_5), lambda: close_books(through=MARCH_5), approve]
    threads = [threading.Thread(target=at_once, args=(work,)) for work in works]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert_stored_as_replayed(note, replay(note, MARCH_5))
