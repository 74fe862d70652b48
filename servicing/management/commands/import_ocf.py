from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from servicing import ocf


class Command(BaseCommand):
    help = (
        "Read an Open Cap Format 1.2.0 package into a book without its issuer: the issuer, the stakeholders as"
        " holders, the notes and warrants, and each transfer pending approval. Payments are not in OCF."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="the folder holding the package's manifest.ocf.json")
        parser.add_argument("--user", help="the username recorded as making the records (default: the import_ocf job)")

    def handle(self, directory, user, **options):
        by = None
        if user is not None:
            by = get_user_model().objects.filter(username=user, is_active=True).first()
            if by is None:
                raise CommandError(f"--user: no active user is named {user!r}")
            if not all(by.has_perm(p) for p in ("notes.add_issuer", "holders.add_holder", "notes.add_note")):
                raise CommandError(f"--user: {user} may not add issuers, holders and notes")
        folder = Path(directory)
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")
        try:
            counts = ocf.import_package(folder, by=by)
        except ocf.PackageError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"imported {counts['holders']} holder(s), {counts['notes']} note(s), {counts['warrants']} warrant(s);"
                f" {counts['transfers']} transfer(s) recorded pending approval"
            )
        )
        if counts["not imported"]:
            self.stdout.write(
                f"{counts['not imported']} other transaction(s) not imported (conversions, exercises: record them"
                " on the note's page, with the payments from CSV)"
            )
        self.stdout.write("Payments are not in OCF: import them from CSV.")
