"""The monthly cycle on the real parts: a Celery worker on Redis posts the close and e-mails the
statements through an SMTP server; failures and a killed worker lose and repeat nothing."""

import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal as D
from email.header import decode_header, make_header

import pytest

from notes.models import Note
from servicing import clock, engine
from servicing.deliveries import due, statements_run
from servicing.models import JobRun, LedgerEntry, StatementDelivery
from servicing.selectors import note_balances, note_events, note_terms
from servicing.tasks import close_books_task
from tests.factories import HolderFactory
from tests.helpers import pdf_text
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
FEBRUARY = date(2024, 2, 1)
LONG_VISIBILITY = 3600  # Redis hands a dead worker's task out again only after an hour, as in production


def attachment(message) -> bytes:
    (part,) = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    return part.get_payload(decode=True)


def holders_with_notes(make_note, count):
    notes = []
    for i in range(count):
        holder = HolderFactory(name=f"Holder {i:02d}", email=f"holder{i:02d}@example.com")
        notes.append(make_note(holder=holder, number=f"N-{i:02d}"))
    return notes


def due_again() -> list[int]:
    """The deliveries whose retry time has come or whose claim has expired (what a run takes up)."""
    return list(due().values_list("pk", flat=True))


def close_on_worker(through: date, log):
    close_books_task.delay(through.isoformat())
    wait_for(
        lambda: JobRun.objects.filter(job="close_books", through=through, state="finished").exists(),
        what=f"the close through {through}",
        log=log,
    )


def test_the_worker_posts_the_close_and_emails_each_holder_their_statement(make_note, worker, mailbox):
    (note,) = holders_with_notes(make_note, 1)
    close_on_worker(date(2024, 3, 1), worker.log)
    note.refresh_from_db()
    assert note.closed_through == date(2024, 3, 1)
    assert list(LedgerEntry.objects.filter(note=note, kind="bill").values_list("amount", flat=True)) == [
        D("2200.00"),  # January: 22 days at 100.00
        D("2900.00"),  # February: 29 days
        D("861.94"),  # default interest on January's bill, late from 2 February
    ]
    statements_run(month=FEBRUARY)
    wait_for(lambda: len(mailbox.messages) == 1, what="the statement e-mail", log=worker.log)
    (message,) = mailbox.messages
    subject = f"Statement for February 2024 — Note {note.number}, {note.issuer.name}"
    assert (message["To"], str(make_header(decode_header(message["Subject"])))) == ("holder00@example.com", subject)
    text = pdf_text(attachment(message))
    assert "Feb 1, 2024 From Jan 10, 2024 $2,200.00 $0.00 $0.00 $2,200.00" in text
    assert "Feb 1 – Feb 29, 2024 29 Mar 1, 2024 $2,900.00 $861.94" in text
    wait_for(lambda: StatementDelivery.objects.filter(status="sent").count() == 1, what="the delivery to be recorded")


def test_with_smtp_down_the_statement_fails_is_retried_and_arrives_once(make_note, broker, worker, mailbox):
    holders_with_notes(make_note, 1)
    close_on_worker(date(2024, 3, 1), worker.log)
    mailbox.stop()
    statements_run(month=FEBRUARY)
    wait_for(
        lambda: StatementDelivery.objects.filter(status="failed", attempts__gte=2).exists(),
        what="two failed attempts",
        log=worker.log,
    )
    assert "Connection refused" in StatementDelivery.objects.get().last_error
    mailbox.start()
    wait_for(lambda: StatementDelivery.objects.filter(status="sent").exists(), what="the retry", log=worker.log)
    wait_for(broker.idle, what="every retry to be done", log=worker.log)
    assert len(mailbox.messages) == 1
    delivery = StatementDelivery.objects.get()
    assert delivery.attempts >= 3 and delivery.last_error == ""
    # The run's retries were its own: one delivery, failed tries, then sent, and the run finished.
    run = JobRun.objects.get(job="statements")
    assert (run.state, run.summary["queued"], run.summary["sent"]) == ("finished", 1, 1)
    assert run.summary["failed"] == delivery.attempts - 1


def test_a_worker_killed_mid_statement_run_leaves_a_rerun_that_sends_each_statement_once(
    make_note, broker, worker, mailbox
):
    holders_with_notes(make_note, 6)
    close_on_worker(date(2024, 3, 1), worker.log)
    mailbox.hold = True  # the first message waits at the server, unaccepted, while the worker is killed
    statements_run(month=FEBRUARY)
    wait_for(lambda: mailbox.holding, what="the worker to be sending", log=worker.log)
    worker.kill()
    mailbox.drop()
    wait_for(lambda: not mailbox.holding, what="the server to drop the dead worker's message")
    assert mailbox.messages == []
    (claimed,) = StatementDelivery.objects.filter(status="sending")  # by the dead worker

    wait_for(lambda: claimed.pk in due_again(), what="the dead worker's claim to expire")
    statements_run(month=FEBRUARY)  # the rerun, while no worker runs
    wait_for(broker.overdue, what="the dead worker's task to be overdue")
    worker.start()  # and brings the dead worker's task back as it starts
    wait_for(
        lambda: StatementDelivery.objects.filter(status="sent").count() == 6, what="every statement", log=worker.log
    )
    wait_for(broker.idle, timeout=150, what="the dead worker's task and the rerun's to be done", log=worker.log)
    assert Counter(m["To"] for m in mailbox.messages) == {f"holder{i:02d}@example.com": 1 for i in range(6)}
    # The rerun took up all six (the dead worker's claim expired, the others still queued): the first
    # run passed them on, and its tasks, coming back, tried them no more.
    first, rerun = JobRun.objects.filter(job="statements").order_by("pk")
    assert (first.state, first.summary["passed_on"], first.summary["sent"]) == ("finished", 6, 0)
    assert (rerun.state, rerun.summary["sent"], rerun.summary["waiting"]) == ("finished", 6, 0)


@pytest.mark.parametrize("worker_env", [{"CELERY_VISIBILITY_TIMEOUT": str(LONG_VISIBILITY)}])
def test_a_worker_killed_mid_close_leaves_a_run_abandoned_and_the_close_completed_by_the_next_worker_start(
    issuer, holder, broker, worker, worker_env
):
    # Notes created in bulk, never posted: the first close replays each from its agreement date.
    start = date(2024, 1, 10)
    Note.objects.bulk_create(
        Note(
            number=f"BULK-{i:04d}",
            issuer=issuer,
            holder=holder,
            agreement_date=start + timedelta(days=i % 10),
            maturity_date=date(2026, 1, 10),
            principal=D(100_000 + i),
            rate=D("0.075"),
            conversion_price=D("2.5"),
        )
        for i in range(2500)
    )
    through = date(2024, 12, 31)
    close_books_task.delay(through.isoformat())
    wait_for(lambda: Note.objects.filter(closed_through=through).exists(), what="a first batch", log=worker.log)
    worker.kill()
    posted = Note.objects.filter(closed_through=through).count()
    assert 0 < posted < 2500, "the close finished before the worker was killed: nothing was tested"
    killed = JobRun.objects.get(job="close_books")
    assert killed.state == "running" and killed.worker.startswith("test-")  # as the dead worker left it

    worker.start()  # the same node again: its earlier process is dead, and so is the run it held
    wait_for(
        lambda: JobRun.objects.filter(retry_of=killed).exclude(state="running").exists(),
        timeout=300,  # far below the visibility timeout: the take-up, not Redis, brings the close back
        what="the abandoned close to be taken up",
        log=worker.log,
    )
    killed.refresh_from_db()
    assert killed.state == "abandoned" and killed.finished_at is not None
    assert "started again" in killed.failures[-1]["error"]
    retry = JobRun.objects.get(retry_of=killed)
    assert (retry.state, retry.through, retry.failures) == ("finished", through, [])
    assert retry.notes_processed == 2500 - posted  # what the dead worker posted was skipped
    # Only the dead worker's task is left, held by Redis until its visibility timeout: it never came back.
    wait_for(lambda: broker.client.hlen("unacked") == 1, what="the take-up's task to be acknowledged")
    assert sum(broker.client.llen(key) for key in broker.client.scan_iter(_type="list")) == 0
    assert_everything_posted_once(through)

    # An hour later Redis hands the dead worker's task out again: it finds everything posted.
    (tag,) = broker.client.zrange("unacked_index", 0, -1)
    broker.client.zadd("unacked_index", {tag: time.time() - 2 * LONG_VISIBILITY})
    worker.stop()
    worker.start()
    wait_for(broker.idle, timeout=150, what="the dead worker's task to come back and be done", log=worker.log)
    late = JobRun.objects.exclude(pk__in=[killed.pk, retry.pk]).get()
    assert (late.state, late.retry_of, late.notes_processed, late.entries_posted) == ("finished", None, 0, 0)
    assert JobRun.objects.count() == 3
    assert_everything_posted_once(through)


def assert_everything_posted_once(through: date):
    assert Note.objects.filter(closed_through=through).count() == 2500
    keys = Counter(LedgerEntry.objects.exclude(kind="reversal").values_list("note", "kind", "account", "key"))
    assert max(keys.values()) == 1  # no entry posted twice
    for note in Note.objects.order_by("?")[:25]:
        with clock.pinned(through):
            expected = engine.run(note_terms(note), note_events(note), through).balances
        got = note_balances(note)
        assert (got.principal, got.interest_due, got.default_interest_due) == (
            expected.principal,
            expected.interest_due,
            expected.default_interest_due,
        )
