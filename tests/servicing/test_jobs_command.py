"""`manage.py jobs`: the recent job runs, newest first, each with its state in words."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from servicing.close import close_books
from servicing.models import JobRun

pytestmark = pytest.mark.django_db


def jobs(*args) -> list[str]:
    out = StringIO()
    call_command("jobs", *args, stdout=out)
    return out.getvalue().splitlines()


def started(run, at):
    JobRun.objects.filter(pk=run.pk).update(started_at=at)


def test_every_state_is_said_in_words(make_note, staff):
    make_note()
    close = close_books(through=date(2024, 1, 31))
    started(close, datetime(2024, 2, 1, 0, 30, tzinfo=UTC))
    failed = JobRun.objects.create(
        job="reminders",
        state="failed",
        through=date(2024, 2, 1),
        finished_at=datetime(2024, 2, 1, 6, 1, tzinfo=UTC),
        failures=[{"error": "SMTPException: refused"}, {"error": "OSError: timed out"}],
        summary={"found": 3, "closed": 0, "emailed": 0},
        started_by=staff,
    )
    started(failed, datetime(2024, 2, 1, 6, 0, tzinfo=UTC))
    abandoned = JobRun.objects.create(
        job="close_books",
        state="abandoned",
        through=date(2024, 2, 1),
        worker="celery@box:41",
        finished_at=datetime(2024, 2, 2, 1, 0, tzinfo=UTC),
    )
    started(abandoned, datetime(2024, 2, 2, 0, 30, tzinfo=UTC))
    retry = JobRun.objects.create(
        job="close_books", through=date(2024, 2, 1), retry_of=abandoned, heartbeat_at=timezone.now()
    )
    started(retry, timezone.now())
    # Said running, but its worker stopped beating ten minutes ago: more than JOB_STALE_SECONDS.
    silent = JobRun.objects.create(
        job="reminders", through=date(2024, 2, 2), heartbeat_at=timezone.now() - timedelta(minutes=10)
    )
    silent_beat = timezone.localtime(silent.heartbeat_at)
    started(silent, timezone.now() - timedelta(minutes=11))

    header, newest, doubted, was_abandoned, middle, oldest = jobs()
    assert header.split() == [
        *("Run", "Job", "Started", "Finished", "Through", "Notes", "Entries", "State"),
        *("Retry", "of", "Worker", "By", "What", "else"),
    ]
    state_at = header.index("State")
    said = [line[state_at:].split("  ")[0] for line in (newest, doubted, was_abandoned, middle, oldest)]
    assert said == [
        "running",
        f"running? no heartbeat since {silent_beat:%H:%M}",
        "abandoned",
        "failed (2 failures)",
        "finished",
    ]
    retry_at = header.index("Retry of")
    assert newest[retry_at : retry_at + len("Retry of")].strip() == str(abandoned.pk)
    assert "celery@box:41" in was_abandoned
    assert middle.split()[1] == "reminders" and "servicer" in middle
    assert "found: 3; closed: 0; emailed: 0" in middle
    assert oldest.split()[1] == "close_books" and "2024-01-31" in oldest
    # The close's one note, right-aligned under its heading.
    notes_at = header.index("Notes")
    assert oldest[notes_at : notes_at + len("Notes")] == "    1"


def test_limit_and_job_choose_the_runs(staff):
    base = datetime(2024, 3, 1, 12, tzinfo=UTC)
    for i in range(5):
        run = JobRun.objects.create(
            job="statements" if i % 2 else "reminders", state="finished", finished_at=base + timedelta(days=i)
        )
        started(run, base + timedelta(days=i))
    assert len(jobs("--limit", "2")) == 1 + 2
    lines = jobs("--job", "statements")
    assert len(lines) == 1 + 2 and all(line.split()[1] == "statements" for line in lines[1:])
    assert lines[1].split()[2] == "2024-03-04"  # newest first
    assert jobs("--job", "nothing") == ["No runs of 'nothing'."]


@pytest.mark.parametrize("limit", ["0", "1001", "-3", "many"])
def test_a_limit_out_of_bounds_is_refused(limit):
    with pytest.raises(CommandError, match="--limit"):
        call_command("jobs", f"--limit={limit}", stdout=StringIO())
