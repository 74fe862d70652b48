from datetime import date

from django.core.management.base import BaseCommand, CommandError

from servicing import clock
from servicing.close import close_books


class Command(BaseCommand):
    help = "Post every note through a day (default: yesterday in TIME_ZONE). Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--through", help="YYYY-MM-DD, the last day to post")

    def handle(self, through, **options):
        try:
            day = date.fromisoformat(through) if through else clock.yesterday()
        except ValueError:
            raise CommandError(f"--through: {through!r} is not a date (YYYY-MM-DD)") from None
        if day > clock.yesterday():
            # A day is posted once it is over: the ledger is append-only, and a posted future day
            # would have to be reversed when the events of that day arrive.
            raise CommandError(f"--through: {day} is not over yet; the latest day to post is {clock.yesterday()}")
        run = close_books(through=day)
        self.stdout.write(
            f"closed through {day}: {run.notes_processed} note(s), {run.entries_posted} entries posted, "
            f"{len(run.failures)} failure(s)"
        )
        for failure in run.failures:
            self.stderr.write(f"note {failure['note']}: {failure['error']}")
        if run.failures:
            raise CommandError("some notes were not closed; see the job run in the admin")
