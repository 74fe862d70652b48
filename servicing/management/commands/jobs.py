from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from servicing import jobruns
from servicing.models import JobRun

MOST = 1000  # runs listed at most


def state(run: JobRun, *, now=None) -> str:
    """What became of a run, in words; a run said running whose heartbeat is stale is doubted."""
    if run.state == JobRun.State.FAILED:
        n = len(run.failures)
        return f"failed ({n} failure{'s' if n != 1 else ''})"
    return jobruns.state_words(run, now=now)  # running (or doubted), finished, abandoned


def _when(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M:%S}" if moment else "—"


def _limit(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise CommandError(f"--limit: {text[:20]!r} is not a whole number") from None
    if not 1 <= n <= MOST:
        raise CommandError(f"--limit: {n} is not between 1 and {MOST}")
    return n


class Command(BaseCommand):
    help = (
        "List the most recent job runs (the close, reminders, statements), newest first, with what each did "
        "and its state in words: running, finished, failed (N failures) or abandoned (its worker died); a run "
        'said running whose worker has stopped beating shows as "running? no heartbeat since HH:MM".'
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=_limit, default=20, help=f"how many runs (1-{MOST}, default 20)")
        parser.add_argument("--job", metavar="NAME", help="only runs of this job (e.g. close_books, reminders)")

    def handle(self, limit, job, **options):
        runs = JobRun.objects.select_related("started_by").order_by("-started_at", "-pk")
        if job:
            runs = runs.filter(job=job[:40])
        runs = list(runs[:limit])
        if not runs:
            self.stdout.write(f"No runs{f' of {job[:40]!r}' if job else ''}.")
            return
        header = ("Run", "Job", "Started", "Finished", "Through", "Notes", "Entries", "State", "Retry of", "Worker")
        header += ("By", "What else")
        now = timezone.now()
        rows = [
            (
                f"{run.pk}",
                run.job,
                _when(run.started_at),
                _when(run.finished_at),
                f"{run.through}" if run.through else "—",
                f"{run.notes_processed:,}",
                f"{run.entries_posted:,}",
                state(run, now=now),
                f"{run.retry_of_id}" if run.retry_of_id else "—",
                run.worker or "—",
                run.started_by.get_username() if run.started_by else "—",
                "; ".join(f"{k}: {v}" for k, v in (run.summary or {}).items()),
            )
            for run in runs
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        numeric = {0, 5, 6, 8}  # right-aligned
        for r in [header, *rows]:
            cells = [c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
            self.stdout.write("  ".join(cells).rstrip())
