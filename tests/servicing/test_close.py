import threading
from datetime import date
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notes.models import Note
from servicing import clock, engine, services
from servicing.close import close_books
from servicing.models import JobRun, LedgerEntry, Payment, Period
from servicing.posting import post_notes
from servicing.selectors import note_balances, note_events, note_terms
from servicing.tasks import close_books_task

pytestmark = pytest.mark.django_db


def test_closing_twice_posts_nothing_the_second_time(make_note):
    note = make_note()
    first = close_books(through=date(2024, 3, 5))
    count = LedgerEntry.objects.count()
    second = close_books(through=date(2024, 3, 5))
    assert first.entries_posted > 0 and first.notes_processed == 1
    assert (second.entries_posted, second.notes_processed) == (0, 0)
    assert LedgerEntry.objects.count() == count
    note.refresh_from_db()
    assert note.closed_through == date(2024, 3, 5)


def test_after_a_40_day_gap_every_missed_month_is_posted_in_order(make_note):
    note = make_note()
    close_books(through=date(2024, 1, 25))
    run = close_books(through=date(2024, 3, 5))  # 40 days later
    assert run.failures == []
    bills = LedgerEntry.objects.filter(note=note, kind="bill").order_by("pk")
    assert [(b.effective_on, b.account, b.amount) for b in bills] == [
        (date(2024, 2, 1), "interest", D("2200.00")),
        (date(2024, 3, 1), "interest", D("2900.00")),
        (date(2024, 3, 1), "default_interest", D("861.94")),
    ]
    assert list(Period.objects.filter(note=note).values_list("start", flat=True)) == [
        date(2024, 1, 10),
        date(2024, 2, 1),
    ]


def test_a_back_dated_payment_replays_the_note_and_reverses_only_what_changed(make_note, staff, approve, approver):
    note = make_note()
    close_books(through=date(2024, 3, 5))
    with clock.pinned(date(2024, 3, 6)):
        payment = approve(
            services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), by=staff)
        )
    reversals = LedgerEntry.objects.filter(note=note, kind="reversal")
    # Paid on time, February carries no default interest: that bill alone is reversed.
    assert [(r.reverses.kind, r.reverses.account, r.reverses.key, r.amount) for r in reversals] == [
        ("bill", "default_interest", "period:2024-02-01", D("-861.94"))
    ]
    assert reversals[0].posted_by == approver  # the approval posted it
    applied = LedgerEntry.objects.get(note=note, key=f"payment:{payment.pk}")
    assert (applied.posted_by, applied.approved_by, payment.recorded_by) == (approver, approver, staff)
    note.refresh_from_db()
    expected = engine.run(note_terms(note), note_events(note), date(2024, 3, 5)).balances
    got = note_balances(note)
    assert (
        (got.interest_due, got.default_interest_due, got.accrued_default_interest)
        == (
            expected.interest_due,
            expected.default_interest_due,
            expected.accrued_default_interest,
        )
        == (D("2900.00"), D("0.00"), D("124.13"))
    )  # February's bill is late from 2 March: 4 × 31.03
    assert Period.objects.get(note=note, start=date(2024, 2, 1)).default_interest == D("0.00")
    assert list(note.default_periods.values_list("kind", "start", "end")) == [("payment", date(2024, 3, 2), None)]


def test_a_payment_received_today_posts_at_once(make_note, staff, approve):
    note = make_note()
    close_books(through=date(2024, 1, 31))
    with clock.pinned(date(2024, 2, 1)):
        approve(services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), by=staff))
    note.refresh_from_db()
    assert note.closed_through == date(2024, 2, 1)
    assert note_balances(note).interest_due == D("0.00")


def test_one_bad_note_does_not_hold_back_the_others(make_note):
    good, bad = make_note(number="GOOD"), make_note(number="BAD")
    Note.objects.filter(pk=bad.pk).update(engine_state={"version": 1, "day": "garbage"})
    run = close_books(through=date(2024, 2, 5))
    good.refresh_from_db()
    assert good.closed_through == date(2024, 2, 5)
    assert [f["note"] for f in run.failures] == [bad.pk]
    assert JobRun.objects.get(pk=run.pk).finished_at is not None


def test_the_celery_task_runs_the_same_close(make_note):
    note = make_note()
    result = close_books_task.delay("2024-02-05").get()
    note.refresh_from_db()
    assert note.closed_through == date(2024, 2, 5)
    assert result["notes"] == 1
    assert LedgerEntry.objects.filter(note=note, kind="bill").get().amount == D("2200.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_payments_at_the_same_moment_are_both_applied_exactly_once(make_note, staff, approve):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL: run with DATABASE_URL=postgres://… (CI does)")
    note = make_note()
    close_books(through=date(2024, 2, 5))
    start = threading.Barrier(2)
    errors = []

    def pay(amount):
        from django.db import connections

        try:
            start.wait()
            with clock.pinned(date(2024, 2, 6)):
                approve(services.payment_record(note=note, received_on=date(2024, 2, 6), amount=amount, by=staff))
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=pay, args=(D(a),)) for a in ("1500.00", "1000.00")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Payment.objects.count() == 2
    for p in Payment.objects.all():
        assert LedgerEntry.objects.filter(key=f"payment:{p.pk}", kind="payment").exists()
    note.refresh_from_db()
    b = note_balances(note)
    # 2,200.00 billed; 2,500.00 received: 300.00 left over, nothing counted twice.
    assert (b.interest_due, b.unapplied) == (D("0.00"), D("300.00"))
    assert LedgerEntry.objects.filter(kind="reversal").count() == 0


def _never_posted_notes(issuer, holder, count, tag):
    return Note.objects.bulk_create(
        Note(
            number=f"{tag}-{i}",
            issuer=issuer,
            holder=holder,
            agreement_date=date(2024, 1, 10),
            maturity_date=date(2026, 1, 10),
            principal=D("100000.00") + i,
            rate=D("0.08"),
            conversion_price=D("2.50"),
        )
        for i in range(count)
    )


def test_a_close_and_a_full_replay_take_as_many_queries_for_twelve_notes_as_for_three(issuer, holder):
    counts = []
    for count, tag in ((3, "FEW"), (12, "MANY")):
        notes = _never_posted_notes(issuer, holder, count, tag)
        ids = [n.pk for n in notes]
        with CaptureQueriesContext(connection) as first_close:
            run = close_books(through=date(2024, 6, 30), note_ids=ids)  # unpaid: in default since February
        with CaptureQueriesContext(connection) as full_replay:
            post_notes(list(Note.objects.filter(pk__in=ids)), date(2024, 6, 30), full_ids=set(ids), job="test")
        assert run.notes_processed == count and LedgerEntry.objects.filter(note__in=ids, kind="bill").count() > count
        counts.append((len(first_close), len(full_replay)))
    assert counts[0] == counts[1]
