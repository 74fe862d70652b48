"""The close: bring every note up to a day (servicing rules, posted by servicing.posting).

Safe to run twice (a note closed through the day is skipped), catches up after downtime (each
missed day is replayed in order), and posts in batches: notes are locked in primary-key order,
their new events loaded in a few queries, and their entries written with bulk inserts.
"""

import gc
import logging
from contextlib import contextmanager
from datetime import date

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import Q

from notes.models import Note
from servicing import clock, jobruns, posting
from servicing.lifecycle import warrants_expire
from servicing.models import JobRun

log = logging.getLogger(__name__)
JOB = "close_books"


def close_books(
    *,
    through: date | None = None,
    by=None,
    note_ids=None,
    batch_size: int = 500,
    retry_of: JobRun | None = None,
    alert: bool = True,
) -> JobRun:
    """Post every note through the end of `through` (default: yesterday in TIME_ZONE).

    The run ends *failed* when a note could not be closed (its failures name each note), and the
    staff are told unless `alert` is off (the task turns it off when it will retry those notes). A
    close stopped by an error of its own (its time limit, the database gone) ends failed with that
    error, the staff are told, and the error goes on; a close whose worker is killed is found
    abandoned (servicing.jobruns).
    """
    through = through or clock.yesterday()
    run = jobruns.start(JOB, through=through, by=by, retry_of=retry_of)
    try:
        with jobruns.running(run):
            _close_all(run, through, by, note_ids, batch_size)
    except BaseException as exc:
        run.failures.append({"error": f"stopped: {type(exc).__name__}: {exc}"[:1000]})
        try:
            jobruns.finish(run)  # told at once, whatever follows: no retry of the notes will mend this
        except Exception:  # noqa: BLE001 - the database is gone: the run goes stale and is found abandoned
            log.exception("close run %s could not be recorded as stopped", run.pk)
        raise
    jobruns.finish(run, alert=alert)
    return run


def _close_all(run: JobRun, through: date, by, note_ids, batch_size: int) -> None:
    behind = Q(closed_through__isnull=True) | Q(closed_through__lt=through)
    started = Q(accrues_from__isnull=True, agreement_date__lte=through) | Q(accrues_from__lte=through)
    pending = Note.objects.filter(behind, started)
    if note_ids is not None:
        pending = pending.filter(pk__in=note_ids)
    ids = list(pending.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        try:
            _close(chunk, through, behind, run, by)
        except SoftTimeLimitExceeded:
            raise  # the task's time is up: stop, not go on note by note (the next close resumes)
        except Exception:
            # One bad note must not hold back the others: close this batch note by note.
            log.exception("close batch failed; closing its notes one by one")
            for pk in chunk:
                try:
                    _close([pk], through, behind, run, by)
                except SoftTimeLimitExceeded:
                    raise
                except Exception as exc:
                    log.exception("close failed for note %s", pk)
                    run.failures.append({"note": pk, "error": f"{type(exc).__name__}: {exc}"})
    if note_ids is None:
        run.summary["warrants_expired"] = warrants_expire(through=through)


@contextmanager
def _collector_paused():
    """A batch makes hundreds of thousands of short-lived objects, freed as they go; the cycle
    collector would scan the whole heap again and again meanwhile (a fifth of the close's time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _close(ids: list[int], through: date, behind: Q, run: JobRun, by) -> None:
    with _collector_paused(), transaction.atomic():
        locked = Note.objects.select_for_update().filter(behind, pk__in=ids).order_by("pk").only(*posting.READS)
        notes = list(locked)
        run.entries_posted += posting.post_notes(notes, through, by=by, job=JOB)
        run.notes_processed += len(notes)
