"""An SMTP server that accepts connections and never answers: the statement's e-mail fails within
EMAIL_TIMEOUT (not at the task's time limit), the run records it, and the worker carries on."""

import socket
import threading
from datetime import date

import pytest
from django.conf import settings

from servicing.deliveries import statements_run
from servicing.models import JobRun, StatementDelivery
from tests.factories import HolderFactory
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
FEBRUARY = date(2024, 2, 1)
EMAIL_TIMEOUT = 3


class SilentServer:
    """Accepts TCP connections, holds them open, and never sends a byte (no SMTP greeting)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted.append(conn)  # kept open, silent

    def close(self):
        self.stopping = True
        self.thread.join(5)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent():
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def worker_env(silent):
    return {
        "EMAIL_URL": f"smtp://127.0.0.1:{silent.port}",
        "EMAIL_TIMEOUT": str(EMAIL_TIMEOUT),
        "STATEMENT_MAX_ATTEMPTS": "2",
    }


def test_a_silent_smtp_server_fails_the_delivery_within_the_timeout_and_the_worker_carries_on(
    make_note, silent, broker, worker
):
    holder = HolderFactory(name="Holder 00", email="holder00@example.com")
    make_note(holder=holder, number="N-00")
    close = _close_on_worker(date(2024, 3, 1), worker.log)
    assert close.state == "finished"

    run = statements_run(month=FEBRUARY)
    # The first try fails on the e-mail timeout, well before the task's time limit would stop it.
    bound = settings.STATEMENT_TIME_LIMIT // 3
    assert bound > EMAIL_TIMEOUT * 3
    wait_for(
        lambda: StatementDelivery.objects.filter(attempts__gte=1).exclude(status__in=["queued", "sending"]).exists(),
        timeout=bound,
        what="the first try to fail",
        log=worker.log,
    )
    delivery = StatementDelivery.objects.get()
    assert delivery.status in ("failed", "gave_up") and "timed out" in delivery.last_error
    assert "SoftTimeLimitExceeded" not in delivery.last_error
    assert len(silent.accepted) >= 1  # the worker did reach the server

    # The retry fails the same way, and the delivery is given up (STATEMENT_MAX_ATTEMPTS=2); the
    # last outcome ends the run, failed, naming the holder.
    wait_for(lambda: JobRun.objects.get(pk=run.pk).state != "running", timeout=bound, what="the run", log=worker.log)
    run.refresh_from_db()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("gave_up", 2) and "timed out" in delivery.last_error
    assert run.state == "failed"
    assert {k: run.summary[k] for k in ("queued", "sent", "failed", "given_up", "waiting")} == {
        "queued": 1,
        "sent": 0,
        "failed": 1,
        "given_up": 1,
        "waiting": 0,
    }
    ((failure),) = run.failures
    assert failure["holder"] == holder.pk and "Holder 00" in failure["error"] and "timed out" in failure["error"]

    # The worker carries on: the alerts to the staff, that the silent server fails too, are logged
    # and not raised, and the next task (a close) is done.
    wait_for(lambda: "alert e-mail not sent" in worker.log.read_text(), timeout=bound, what="the alerts to fail")
    assert _close_on_worker(date(2024, 3, 2), worker.log).state == "finished"
    wait_for(broker.idle, timeout=bound, what="every task to be done", log=worker.log)


def _close_on_worker(through: date, log) -> JobRun:
    from servicing.tasks import close_books_task

    close_books_task.delay(through.isoformat())
    wait_for(
        lambda: JobRun.objects.filter(job="close_books", through=through, finished_at__isnull=False).exists(),
        what=f"the close through {through}",
        log=log,
    )
    return JobRun.objects.get(job="close_books", through=through)
