import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from servicing import imports


class Command(BaseCommand):
    help = (
        "Import holders, closing prices, notes or payments from a CSV file: a dry run that prints every "
        "problem (exit 2 if any) unless --commit, which keeps all the rows or none."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(imports.KINDS))
        parser.add_argument("file", help="path of the CSV file (UTF-8, a header row)")
        parser.add_argument("--commit", action="store_true", help="keep the records (all rows or none)")
        parser.add_argument(
            "--user",
            help="the username that records them (required to commit payments: a second user approves them)",
        )

    def handle(self, kind, file, commit, user, **options):
        by = None
        if user:
            by = get_user_model().objects.filter(username=user, is_active=True).first()
            if by is None:
                raise CommandError(f"no active user is named {user}")
        elif commit and kind == "payments":
            raise CommandError("payments wait for a second user's approval: name who records them with --user")
        try:
            with open(file, "rb") as f:
                raw = f.read(imports.MAX_BYTES + 1)
        except OSError as e:
            raise CommandError(f"cannot read {file}: {e.strerror}") from None
        report = imports.run(kind, raw, commit=commit, by=by)
        if report.problems:
            for problem in report.problems:
                self.stdout.write(problem)
            self.stderr.write(f"{len(report.problems)} problems: nothing was imported")
            sys.exit(2)
        if not commit:
            for row in report.rows:
                outcome = "create" if row.outcome == "create" else "unchanged"
                self.stdout.write(f"row {row.number}: {outcome} {row.label}")
        self.stdout.write(report.summary())
