import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from notes.models import Issuer
from servicing import ocf


class Command(BaseCommand):
    help = "Write an issuer's notes, transfers, conversions and warrants as an Open Cap Format 1.2.0 package."

    def add_arguments(self, parser):
        parser.add_argument("directory", help="the folder to write the package in (created if missing)")
        parser.add_argument("--issuer", help="the issuer's name; needed when there is more than one issuer")

    def handle(self, directory, issuer, **options):
        if issuer is not None:
            found = Issuer.objects.filter(name=issuer).first()
            if found is None:
                raise CommandError(f"--issuer: no issuer is named {issuer!r}")
        else:
            issuers = list(Issuer.objects.order_by("name")[:2])
            if len(issuers) != 1:
                names = ", ".join(Issuer.objects.values_list("name", flat=True)) or "none"
                raise CommandError(f"name the issuer with --issuer (issuers here: {names})")
            found = issuers[0]
        folder = Path(directory)
        if folder.exists() and not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not os.access(folder, os.W_OK):
                raise PermissionError(f"{folder} is not writable")
            written = ocf.write_package(found, folder)
        except OSError as e:
            raise CommandError(f"cannot write the package in {folder}: {e}") from None
        for path in written:
            self.stdout.write(f"wrote {path}")
        self.stdout.write(self.style.SUCCESS(f"OCF {ocf.OCF_VERSION} package of {found} in {folder}"))
