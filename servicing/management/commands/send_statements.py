from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from servicing.deliveries import statements_run


class Command(BaseCommand):
    help = "Send each holder's statement for a month as an e-mailed PDF (a second run sends nothing new)."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--holder", type=int, action="append", help="only this holder's (repeatable)")

    def handle(self, *args, month, holder, **options):
        try:
            first = date.fromisoformat(f"{month}-01")
        except ValueError:
            raise CommandError(f"--month: {month!r} is not a month (YYYY-MM)") from None
        try:
            run = statements_run(month=first, holder_ids=holder)
        except ValidationError as e:
            raise CommandError("; ".join(e.messages)) from None
        s = run.summary
        self.stdout.write(
            f"statements for {s['month']}: {s['deliveries_created']} new deliveries, {s['queued']} queued "
            f"(job run {run.pk} counts their outcomes as they come; the admin's Statement deliveries has each)"
        )
