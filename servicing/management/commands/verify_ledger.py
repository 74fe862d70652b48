from django.core.management.base import BaseCommand, CommandError

from notes.models import Note
from servicing.verify import ledger_differences


class Command(BaseCommand):
    help = (
        "Recompute every note's balances from its ledger entries and from a full replay and compare them "
        "with what the note row keeps; print each difference and exit 1 if there is any."
    )

    def add_arguments(self, parser):
        parser.add_argument("--note", action="append", metavar="NUMBER", help="only this note (repeatable)")

    def handle(self, note, **options):
        notes = Note.objects.all()
        if note:
            notes = notes.filter(number__in=note)
            missing = set(note) - set(notes.values_list("number", flat=True))
            if missing:
                raise CommandError(f"--note: no note numbered {', '.join(sorted(missing))}")
        differences = 0
        for line in ledger_differences(notes):
            self.stdout.write(line)
            differences += 1
        if differences:
            raise CommandError(f"{differences} difference(s) between the note rows and the ledger", returncode=1)
        self.stdout.write(f"{notes.count()} note(s) agree with their ledger and a full replay")
