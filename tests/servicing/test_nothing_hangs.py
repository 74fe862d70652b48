"""Nothing hangs: a stalled SMTP server fails the e-mail within EMAIL_TIMEOUT, every task has time
limits, a close told its time is up stops, and WeasyPrint's layout steps stay out of the logs."""

import logging
import socket
import threading
import time
from datetime import date

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from servicing import tasks
from servicing.close import close_books
from servicing.deliveries import statement_deliver, statements_run
from servicing.documents import statement_produce
from servicing.models import StatementDelivery

pytestmark = pytest.mark.django_db
FEBRUARY = date(2024, 2, 1)


@pytest.fixture
def silent_smtp():
    """An SMTP server that accepts connections and never says a word; its port, and a list of
    the connections it accepted."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted, stop = [], threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            accepted.append(conn)  # held open, never answered

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_a_server_that_accepts_and_never_answers_fails_the_delivery_within_the_timeout(
    make_note, holder, settings, silent_smtp
):
    port, accepted = silent_smtp
    make_note()
    close_books(through=date(2024, 3, 1))
    statements_run(month=FEBRUARY, enqueue=lambda pk: None)
    delivery = StatementDelivery.objects.get()
    statement_produce(holder=holder, month=FEBRUARY)  # the PDF made beforehand: only the e-mail is timed
    delivery.document = holder.documents.get()
    delivery.save()
    assert settings.EMAIL_TIMEOUT == 30  # the default
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 1
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False

    started = time.monotonic()
    outcome = statement_deliver(delivery.pk)
    elapsed = time.monotonic() - started

    assert len(accepted) == 1  # it did reach the silent server
    assert 1 <= elapsed < 5
    delivery.refresh_from_db()
    assert (outcome.status, delivery.status) == ("failed", "failed")
    assert outcome.retry_in == settings.STATEMENT_RETRY_SECONDS and delivery.next_attempt_at is not None
    assert "timed out" in delivery.last_error


def test_every_task_has_a_soft_and_a_hard_time_limit_the_close_its_own(settings):
    named = {
        tasks.close_books_task: settings.CLOSE_TIME_LIMIT,
        tasks.send_statement_task: settings.STATEMENT_TIME_LIMIT,
        tasks.reminders_task: settings.TASK_TIME_LIMIT,
        tasks.statements_task: settings.TASK_TIME_LIMIT,
        tasks.import_step_task: settings.CLOSE_TIME_LIMIT,
    }
    for task, hard in named.items():
        assert task.time_limit == hard, task.name
        assert 0 < task.soft_time_limit < hard, task.name
    assert tasks.close_books_task.time_limit == 3300 < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert (tasks.send_statement_task.soft_time_limit, tasks.send_statement_task.time_limit) == (162, 180)
    assert settings.CELERY_TASK_TIME_LIMIT == 600 and settings.CELERY_TASK_SOFT_TIME_LIMIT == 540


def test_a_close_told_its_time_is_up_stops_rather_than_going_on_note_by_note(make_note, monkeypatch):
    make_note()
    calls = []

    def out_of_time(ids, *args):
        calls.append(ids)
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr("servicing.close._close", out_of_time)
    with pytest.raises(SoftTimeLimitExceeded):
        close_books(through=date(2024, 3, 1))
    assert len(calls) == 1  # not retried note by note


def test_weasyprint_layout_steps_stay_out_of_the_log(make_note, holder, caplog):
    make_note()
    close_books(through=date(2024, 3, 1))
    caplog.set_level(logging.DEBUG)  # the root and the capture at their most talkative
    assert logging.getLogger("weasyprint").level == logging.WARNING
    statement_produce(holder=holder, month=FEBRUARY)
    noisy = [r for r in caplog.records if r.name.split(".")[0] in ("weasyprint", "fontTools")]
    assert [r for r in noisy if r.levelno < logging.WARNING] == []
    # Without the setting, the same document logs its layout steps.
    caplog.clear()
    kept = logging.getLogger("weasyprint").level
    logging.getLogger("weasyprint").setLevel(logging.NOTSET)
    try:
        statement_produce(holder=holder, month=date(2024, 1, 1))
    finally:
        logging.getLogger("weasyprint").setLevel(kept)
    assert any(r.name.startswith("weasyprint") and r.levelno < logging.WARNING for r in caplog.records)
