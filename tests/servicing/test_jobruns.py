"""Job runs tell the truth: a heartbeat while they work, abandoned (once) and taken up when their
worker died, and a close with failed notes ends failed, is retried for those notes only and tells
the staff once."""

import os
import socket
import threading
import time
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from celery.exceptions import Retry, SoftTimeLimitExceeded
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from config.celery import take_up_dead_runs
from notes.models import Note
from servicing import jobruns, tasks
from servicing.models import JobRun

pytestmark = pytest.mark.django_db
THROUGH = date(2024, 2, 5)


def run_of(job="close_books", *, beat_ago: float = 0, worker="celery@box:1", **fields) -> JobRun:
    return JobRun.objects.create(
        job=job, worker=worker, heartbeat_at=timezone.now() - timedelta(seconds=beat_ago), **fields
    )


@pytest.fixture
def queued(monkeypatch):
    """What take_up queues, instead of the broker: (task name, kwargs)."""
    sent = []
    for task in (tasks.close_books_task, tasks.reminders_task):
        monkeypatch.setattr(
            type(task._get_current_object()),
            "apply_async",
            lambda self, kwargs=None, **options: sent.append((self.name.rsplit(".", 1)[1], kwargs)),
        )
    return sent


def wait_until(condition, what, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_is_renewed_while_the_run_works_and_stops_with_it(settings):
    settings.JOB_HEARTBEAT_SECONDS, settings.JOB_STALE_SECONDS = 0.1, 5
    run = jobruns.start("close_books")
    old = timezone.now() - timedelta(minutes=5)
    JobRun.objects.filter(pk=run.pk).update(heartbeat_at=old)

    def heartbeat():
        return JobRun.objects.get(pk=run.pk).heartbeat_at

    with jobruns.running(run):
        wait_until(lambda: heartbeat() > old, "a heartbeat")
        first = heartbeat()
        wait_until(lambda: heartbeat() > first, "a second heartbeat")
    assert not any(t.name == f"heartbeat-{run.pk}" for t in threading.enumerate())  # the thread ended
    last = heartbeat()
    time.sleep(0.5)  # five beats' time: none comes after the block
    assert heartbeat() == last


@pytest.mark.django_db(transaction=True)
def test_a_run_that_ended_is_no_longer_beaten_alive(settings):
    settings.JOB_HEARTBEAT_SECONDS, settings.JOB_STALE_SECONDS = 0.1, 5
    run = run_of(beat_ago=600)
    assert jobruns.abandon(run)
    beaten = JobRun.objects.get(pk=run.pk).heartbeat_at
    assert jobruns.beat(run.pk) is False
    with jobruns.running(run):
        time.sleep(0.5)
    assert JobRun.objects.get(pk=run.pk).heartbeat_at == beaten  # the conditional update left it


def test_the_stale_limit_must_exceed_the_heartbeat(settings):
    settings.JOB_HEARTBEAT_SECONDS, settings.JOB_STALE_SECONDS = 30, 30
    with pytest.raises(ImproperlyConfigured, match="JOB_STALE_SECONDS"):
        jobruns.stale_seconds()
    with pytest.raises(ImproperlyConfigured), jobruns.running(run_of()):
        pass


def test_a_run_records_the_node_and_process_it_runs_in():
    run = jobruns.start("close_books")
    assert run.worker == f"{socket.gethostname()}:{os.getpid()}"
    assert run.state == "running" and run.heartbeat_at is not None and run.finished_at is None


def test_a_stale_run_is_abandoned_once_and_queued_again_as_a_retry_of_it(queued, django_capture_on_commit_callbacks):
    stale = run_of(beat_ago=121, through=THROUGH)
    stale_reminders = run_of("reminders", beat_ago=3600, through=THROUGH)
    alive = run_of(beat_ago=60, through=THROUGH)
    done = run_of(beat_ago=600, state="finished", finished_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        taken = tasks.take_up_dead()
    with django_capture_on_commit_callbacks(execute=True):
        again = tasks.take_up_dead()

    assert [r.pk for r in taken] == [stale.pk, stale_reminders.pk] and again == []
    stale.refresh_from_db()
    assert stale.state == "abandoned" and stale.finished_at is not None
    (failure,) = stale.failures
    assert failure["error"].startswith("abandoned: its worker celery@box:1 died: no heartbeat since ")
    assert queued == [
        ("close_books_task", {"through": "2024-02-05", "retry_of": stale.pk}),
        ("reminders_task", {"retry_of": stale_reminders.pk}),
    ]
    alive.refresh_from_db()
    done.refresh_from_db()
    assert (alive.state, alive.finished_at) == ("running", None)
    assert done.state == "finished"


def test_a_statement_run_waiting_for_its_deliveries_is_not_abandoned(queued):
    """No one worker holds a statement run: it waits, without a heartbeat, for its deliveries'
    outcomes; a delivery whose worker died comes back by its claim expiring."""
    waiting = run_of("statements", beat_ago=3600, worker="celery@box:1")
    retries = run_of("statement_retries", beat_ago=3600, worker="celery@box:1")

    assert tasks.take_up_dead(node="celery@box") == [] and queued == []
    for run in (waiting, retries):
        run.refresh_from_db()
        assert run.state == "running" and not jobruns.is_stale(run)


def test_of_two_workers_taking_the_same_dead_run_only_one_does():
    read_by_one = run_of(beat_ago=600)
    read_by_other = JobRun.objects.get(pk=read_by_one.pk)
    assert jobruns.abandon(read_by_one) is True
    assert jobruns.abandon(read_by_other) is False
    assert len(JobRun.objects.get(pk=read_by_one.pk).failures) == 1


def test_a_run_that_beat_after_it_was_read_as_dead_is_left_alone():
    read = run_of(beat_ago=600)
    jobruns.beat(read.pk)  # its worker was only slow
    assert jobruns.abandon(read) is False
    assert JobRun.objects.get(pk=read.pk).state == "running"


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_starts_abandons_every_run_its_node_held_and_queues_them_again(queued):
    mine = run_of(beat_ago=1, worker="celery@box:4711", through=THROUGH)
    other_node = run_of(beat_ago=1, worker="celery@box2:12", through=THROUGH)
    by_hand = run_of(beat_ago=1, worker="box:77", through=THROUGH)  # manage.py close_books on the host
    stale_elsewhere = run_of(beat_ago=900, worker="celery@far:3", through=THROUGH)

    take_up_dead_runs(sender=SimpleNamespace(hostname="celery@box"))

    states = dict(JobRun.objects.values_list("pk", "state"))
    assert states == {
        mine.pk: "abandoned",
        other_node.pk: "running",
        by_hand.pk: "running",
        stale_elsewhere.pk: "abandoned",
    }
    mine.refresh_from_db()
    assert "node celery@box started again" in mine.failures[-1]["error"]
    assert queued == [
        ("close_books_task", {"through": "2024-02-05", "retry_of": mine.pk}),
        ("close_books_task", {"through": "2024-02-05", "retry_of": stale_elsewhere.pk}),
    ]


def test_a_scheduled_close_takes_up_a_dead_close_before_it_runs(make_note, queued, django_capture_on_commit_callbacks):
    make_note()
    dead = run_of(beat_ago=600, through=date(2024, 2, 4))
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.close_books_task(through=THROUGH.isoformat())
    assert JobRun.objects.get(pk=dead.pk).state == "abandoned"
    assert queued == [("close_books_task", {"through": "2024-02-04", "retry_of": dead.pk})]
    assert JobRun.objects.get(pk=result["run"]).state == "finished"


@pytest.fixture
def bad_and_good(make_note):
    good, bad = make_note(number="GOOD"), make_note(number="BAD")
    Note.objects.filter(pk=bad.pk).update(engine_state={"version": 1, "day": "garbage"})
    return bad, good


@pytest.fixture
def retries(monkeypatch):
    """The retries the close task asks Celery for: their options; raises Retry as Celery's does."""
    asked = []

    def retry(self, *, kwargs, countdown, max_retries, exc):
        asked.append({"kwargs": kwargs, "countdown": countdown, "max_retries": max_retries, "exc": exc})
        return Retry(exc=exc, when=countdown)

    monkeypatch.setattr(type(tasks.close_books_task._get_current_object()), "retry", retry)
    return asked


def test_a_close_with_a_failed_note_ends_failed_and_is_retried_for_that_note_only(
    bad_and_good, retries, mailoutbox, django_capture_on_commit_callbacks
):
    bad, good = bad_and_good
    task = tasks.close_books_task
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Retry):
        task(through=THROUGH.isoformat())  # as a worker runs it the first time (retries 0)
    first = JobRun.objects.get()
    assert (first.state, first.notes_processed) == ("failed", 1)
    assert [f["note"] for f in first.failures] == [bad.pk]
    (asked,) = retries
    assert asked["kwargs"] == {"through": "2024-02-05", "note_ids": [bad.pk], "retry_of": first.pk}
    assert (asked["countdown"], asked["max_retries"]) == (tasks.CLOSE_RETRY_SECONDS, tasks.CLOSE_RETRIES)
    assert isinstance(asked["exc"], tasks.CloseFailed) and f"notes [{bad.pk}]" in str(asked["exc"])
    assert mailoutbox == []  # a retry follows: the staff are told by the last run

    # The last retry: the note still fails, the task fails, and the staff are e-mailed once.
    task.push_request(retries=tasks.CLOSE_RETRIES, is_eager=False)
    try:
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(tasks.CloseFailed):
            task.run(**asked["kwargs"])
    finally:
        task.pop_request()
    last = JobRun.objects.exclude(pk=first.pk).get()
    assert (last.state, last.retry_of, last.notes_processed, last.entries_posted) == ("failed", first, 0, 0)
    assert [f["note"] for f in last.failures] == [bad.pk]  # only the failed note was tried again
    assert len(retries) == 1
    good.refresh_from_db()
    assert good.closed_through == THROUGH
    (mail,) = mailoutbox
    assert "close_books" in mail.subject and "1 failure" in mail.subject
    assert f"note {bad.number}: " in mail.body and "/jobs/" in mail.body


def test_a_retry_that_closes_the_note_finishes(bad_and_good, retries):
    bad, good = bad_and_good
    with pytest.raises(Retry):
        tasks.close_books_task(through=THROUGH.isoformat())
    Note.objects.filter(pk=bad.pk).update(engine_state=None)  # mended (replayed from the start)
    result = tasks.close_books_task(**retries[0]["kwargs"])
    retry = JobRun.objects.get(pk=result["run"])
    assert (retry.state, retry.retry_of_id, retry.notes_processed) == ("finished", retries[0]["kwargs"]["retry_of"], 1)
    bad.refresh_from_db()
    assert bad.closed_through == THROUGH


def test_in_process_a_close_with_a_failed_note_fails_at_once_and_tells_the_staff(
    bad_and_good, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(tasks.CloseFailed):
        tasks.close_books_task.delay(THROUGH.isoformat())  # no broker: run here, nothing to retry later
    assert JobRun.objects.get().state == "failed"
    assert len(mailoutbox) == 1


def test_a_close_stopped_by_its_time_limit_ends_failed_saying_so_and_tells_the_staff(
    make_note, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    make_note()

    def out_of_time(*args):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr("servicing.close._close", out_of_time)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(SoftTimeLimitExceeded):
        tasks.close_books_task(through=THROUGH.isoformat())  # as a worker runs it: a retry of notes may follow
    run = JobRun.objects.get()
    assert run.state == "failed" and run.finished_at is not None
    (failure,) = run.failures
    assert failure["error"].startswith("stopped: SoftTimeLimitExceeded")
    (mail,) = mailoutbox  # no retry mends a close out of time: told at once
    assert "stopped: SoftTimeLimitExceeded" in mail.body


def test_a_job_abandoned_again_and_again_is_taken_up_three_times_then_left_to_the_staff(
    queued, mailoutbox, django_capture_on_commit_callbacks
):
    """A close whose worker dies every time (killed by the same note) is not queued for ever."""
    taken_up = []
    retry_of = None
    for _ in range(tasks.TAKE_UPS + 1):
        # The run a take-up started (a retry of the one before) dies in its turn.
        run = run_of(beat_ago=600, through=THROUGH, retry_of=retry_of)
        with django_capture_on_commit_callbacks(execute=True):
            taken_up += tasks.take_up_dead()
        retry_of = run
    assert len(taken_up) == tasks.TAKE_UPS + 1  # every one abandoned
    assert [kwargs["retry_of"] for _, kwargs in queued] == [r.pk for r in taken_up[: tasks.TAKE_UPS]]
    (mail,) = mailoutbox
    last = taken_up[-1]
    assert mail.subject == f"Job not taken up: close_books, abandoned {tasks.TAKE_UPS + 1} times in a row"
    assert f"(run {last.pk})" in mail.body and "/jobs/" in mail.body
    assert "abandoned: its worker celery@box:1 died" in mail.body


def test_a_take_up_after_a_run_that_ended_by_itself_counts_afresh(queued, django_capture_on_commit_callbacks):
    older = None
    for _ in range(tasks.TAKE_UPS):
        older = run_of(beat_ago=600, through=THROUGH, retry_of=older, state="abandoned", finished_at=timezone.now())
    finished = run_of(through=THROUGH, retry_of=older, state="failed", finished_at=timezone.now())
    dead = run_of("close_books", beat_ago=600, through=THROUGH, retry_of=finished)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.take_up_dead()
    assert queued == [("close_books_task", {"through": "2024-02-05", "retry_of": dead.pk})]


def test_the_alert_of_a_failed_run_keeps_each_failure_on_one_line(mailoutbox):
    from servicing import alerts

    run = run_of(state="failed", finished_at=timezone.now())
    run.failures = [{"note": 3, "error": "bad\nJob runs: http://evil.example/\r\n<img src=x>"}]
    assert alerts.job_run_failed(run)
    (mail,) = mailoutbox
    assert "- note 3: bad Job runs: http://evil.example/ <img src=x>" in mail.body
    assert "\nJob runs: http://evil" not in mail.body
