"""Every statement run, retries included, is a job run with its outcomes: sent, failed tries, given
up; it ends when the last delivery it queued has an outcome; a given-up statement alerts the staff."""

from datetime import date

import pytest
import time_machine

from servicing import deliveries, tasks
from servicing.close import close_books
from servicing.deliveries import settle, statement_deliver, statements_run
from servicing.models import JobRun, StatementDelivery, StatementOutcome
from tests.factories import HolderFactory

pytestmark = pytest.mark.django_db
FEBRUARY = date(2024, 2, 1)


@pytest.fixture
def three(make_note):
    """Three holders with a note each, closed through 1 March 2024: February's statements are due."""
    holders = [HolderFactory(name=name, email=f"{name.lower()}@example.com") for name in ("Ann", "Bob", "Cy")]
    for i, h in enumerate(holders):
        make_note(holder=h, number=f"N-{i}")
    close_books(through=date(2024, 3, 1))
    return holders


@pytest.fixture
def failing_for(monkeypatch):
    """The e-mail of the statements to these holders' addresses fails (an SMTP refusal)."""
    failing = set()
    send = deliveries._send

    def refusing(delivery, statement):
        if delivery.holder.email in failing:
            raise ConnectionRefusedError(111, "Connection refused")
        send(delivery, statement)

    monkeypatch.setattr(deliveries, "_send", refusing)
    return failing


def summary(run) -> dict:
    run.refresh_from_db()
    keys = ("queued", "sent", "failed", "given_up", "skipped", "passed_on", "waiting")
    return {k: run.summary[k] for k in keys}


def test_a_run_counts_its_outcomes_and_the_last_one_ends_it_failed_naming_who_was_given_up(
    three, failing_for, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.STATEMENT_MAX_ATTEMPTS, settings.STATEMENT_RETRY_SECONDS = 2, 0  # retried at once
    ann, bob, cy = three
    failing_for.update({"bob@example.com", "cy@example.com"})
    run = statements_run(month=FEBRUARY, enqueue=lambda pk: None)  # its tasks are run below, in turn
    assert (run.state, summary(run)) == (
        "running",
        {"queued": 3, "sent": 0, "failed": 0, "given_up": 0, "skipped": 0, "passed_on": 0, "waiting": 3},
    )
    by_holder = {d.holder_id: d.pk for d in StatementDelivery.objects.all()}
    assert statement_deliver(by_holder[ann.pk], run.pk).status == "sent"
    assert statement_deliver(by_holder[bob.pk], run.pk).status == "failed"
    assert statement_deliver(by_holder[cy.pk], run.pk).status == "failed"
    failing_for.discard("bob@example.com")
    assert statement_deliver(by_holder[bob.pk], run.pk).status == "sent"  # the run's retry
    run.refresh_from_db()
    assert run.state == "running" and run.finished_at is None  # Cy's statement has no outcome yet
    assert summary(run)["waiting"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert statement_deliver(by_holder[cy.pk], run.pk).status == "gave_up"  # the last outcome
    run.refresh_from_db()
    assert summary(run) == {
        "queued": 3,
        "sent": 2,
        "failed": 2,  # Bob's first try and Cy's
        "given_up": 1,
        "skipped": 0,
        "passed_on": 0,
        "waiting": 0,
    }
    assert run.state == "failed" and run.finished_at is not None
    (failure,) = run.failures
    assert failure["holder"] == cy.pk and failure["error"] == (
        "holder Cy, statement 2024-02 given up: ConnectionRefusedError: [Errno 111] Connection refused"
    )
    assert [o.tries for o in StatementOutcome.objects.filter(run=run).order_by("delivery__holder")] == [1, 2, 2]
    # A second settle (two tasks ending at once) changes nothing and tells the staff no more.
    sent_to = [m.to for m in mailoutbox]
    assert [m.subject for m in mailoutbox if m.to == ["servicing@localhost"]] == [
        "Statement given up: Cy, February 2024",
        "Job run failed: statements (1 failure(s))",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        settle(run.pk)
    run.refresh_from_db()
    assert run.state == "failed" and [m.to for m in mailoutbox] == sent_to


def test_a_task_of_a_run_that_passed_the_delivery_on_tries_it_no_more(three):
    first = statements_run(month=FEBRUARY, enqueue=lambda pk: None)
    rerun = statements_run(month=FEBRUARY, enqueue=lambda pk: None)  # takes up the three, still queued
    assert summary(first)["passed_on"] == 3 and first.state == "finished"
    delivery = StatementDelivery.objects.first()
    assert statement_deliver(delivery.pk, first.pk).status == "skipped"  # the first run's task, late
    assert StatementOutcome.objects.get(run=first, delivery=delivery).outcome == "passed_on"
    assert statement_deliver(delivery.pk, rerun.pk).status == "sent"
    assert summary(rerun)["sent"] == 1 and summary(rerun)["waiting"] == 2


def test_a_daily_run_that_only_retries_is_a_job_run_of_its_own(
    three, failing_for, settings, django_capture_on_commit_callbacks
):
    settings.STATEMENT_RETRY_SECONDS = 60
    failing_for.add("ann@example.com")
    with (
        time_machine.travel("2024-03-04 06:30 -05:00", tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = tasks.statements_task()  # the month's run: Ann's e-mail fails, a retry in a minute
    month_run = JobRun.objects.get(pk=result["run"])
    assert result["retries_run"] is None and summary(month_run)["waiting"] == 1
    failing_for.clear()
    with (
        time_machine.travel("2024-03-05 06:30 -05:00", tick=False),  # the run's own retry was lost
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = tasks.statements_task()
    assert result["run"] is None and result["retried"] == 1  # the month's run is done: only retries
    retries = JobRun.objects.get(pk=result["retries_run"])
    assert (retries.job, retries.state) == ("statement_retries", "finished")
    assert summary(retries) == {
        "queued": 1,
        "sent": 1,
        "failed": 0,
        "given_up": 0,
        "skipped": 0,
        "passed_on": 0,
        "waiting": 0,
    }
    month_run.refresh_from_db()
    assert (month_run.state, summary(month_run)["sent"], summary(month_run)["passed_on"]) == ("finished", 2, 1)
    assert StatementDelivery.objects.filter(status="sent").count() == 3
    with time_machine.travel("2024-03-06 06:30 -05:00", tick=False):
        assert tasks.statements_task() == {"run": None, "retries_run": None, "retried": 0}  # nothing: no run
    assert JobRun.objects.filter(job__startswith="statement").count() == 2


def test_a_task_queued_before_runs_held_deliveries_still_sends(three):
    statements_run(month=FEBRUARY, enqueue=lambda pk: None)
    delivery = StatementDelivery.objects.first()
    assert tasks.send_statement_task.apply(args=[delivery.pk]).get() == "sent"  # the old message: no run id


def test_a_given_up_statement_tells_the_staff_in_plain_one_line_words(
    make_note, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.STAFF_EMAILS = ["ops@example.com"]
    settings.SITE_URL = "https://servicing.example.com/"
    holder = HolderFactory(name="Eve", email="")
    # A name saved before names were checked (a holder's save refuses a line break now).
    type(holder).objects.filter(pk=holder.pk).update(name="Eve\nBcc: x@evil.example <img src=http://127.0.0.1:1/>")
    make_note(holder=holder)
    close_books(through=date(2024, 3, 1))
    statements_run(month=FEBRUARY, enqueue=lambda pk: None)
    delivery = StatementDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):  # the alerts go after commit
        statement_deliver(delivery.pk, delivery.run_id)  # no e-mail address: given up at once
    given_up, run_failed = mailoutbox
    assert given_up.to == ["ops@example.com"] and given_up.alternatives == []
    name = "Eve Bcc: x@evil.example <img src=http://127.0.0.1:1/>"
    assert given_up.subject == f"Statement given up: {name}, February 2024"
    assert "\n" not in given_up.subject and given_up.extra_headers == {}
    message = given_up.message()
    assert message["Bcc"] is None and message.get_content_type() == "text/plain"
    body = given_up.body
    assert (
        f"The statement for February 2024 to {name} (holder {holder.pk}) was given up after 1 attempt(s)."
    ) in body.splitlines()
    assert "Last error: the holder has no e-mail address; send it by post" in body
    assert "send it by post" in body and "no run tries a" in body
    assert f"Holder: https://servicing.example.com/holders/{holder.pk}/" in body
    assert "Statements: https://servicing.example.com/statements/" in body
    assert run_failed.subject == "Job run failed: statements (1 failure(s))"


def test_an_alert_that_cannot_be_sent_is_logged_not_raised(make_note, settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    from servicing import alerts

    holder = HolderFactory(name="Ann", email="")
    make_note(holder=holder)
    close_books(through=date(2024, 3, 1))
    statements_run(month=FEBRUARY, enqueue=lambda pk: None)
    delivery = StatementDelivery.objects.get()
    statement_deliver(delivery.pk, delivery.run_id)
    delivery.refresh_from_db()
    assert delivery.status == "gave_up"
    assert alerts.statement_given_up(delivery) is False
    assert "alert e-mail not sent: Statement given up: Ann, February 2024" in caplog.text
