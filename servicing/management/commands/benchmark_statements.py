import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal

from django.core import mail
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import override_settings

from holders.models import Holder
from notes.models import Issuer, Note
from servicing.close import close_books
from servicing.deliveries import statement_deliver, statements_run
from servicing.models import StatementDelivery


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Time the statement run for many holders (one note each, a month of history) on the configured "
        "database, on one process; e-mails are kept in memory and everything is rolled back."
    )

    def add_arguments(self, parser):
        parser.add_argument("--holders", type=int, default=200)

    def handle(self, holders, **options):
        with (
            tempfile.TemporaryDirectory() as media,
            override_settings(MEDIA_ROOT=media, EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
        ):
            mail.outbox = []
            try:
                with transaction.atomic():
                    self._run(holders)
                    raise Rollback
            except Rollback:
                pass

    def _run(self, count):
        issuer = Issuer.objects.create(name="Benchmark Issuer Inc.")
        people = Holder.objects.bulk_create(
            Holder(name=f"Benchmark holder {i}", email=f"holder{i}@example.com") for i in range(count)
        )
        Note.objects.bulk_create(
            Note(
                number=f"BENCH-S-{i:06d}",
                issuer=issuer,
                holder=holder,
                agreement_date=date(2025, 1, 15) + timedelta(days=i % 14),
                maturity_date=date(2027, 1, 15),
                principal=Decimal(100_000 + i),
                rate=Decimal("0.075"),
                conversion_price=Decimal("2.5"),
            )
            for i, holder in enumerate(people)
        )
        close_books(through=date(2025, 3, 1))
        t0 = time.perf_counter()
        run = statements_run(month=date(2025, 2, 1), enqueue=lambda pk: None)
        queued = time.perf_counter() - t0
        t0 = time.perf_counter()
        for pk in StatementDelivery.objects.filter(month=date(2025, 2, 1)).values_list("pk", flat=True):
            statement_deliver(pk)
        sent = time.perf_counter() - t0
        self.stdout.write(
            f"{count} holders: statement run queued {run.summary['queued']} deliveries in {queued:.1f} s; "
            f"produced and e-mailed {len(mail.outbox)} statements in {sent:.1f} s "
            f"({sent / max(1, len(mail.outbox)) * 1000:.0f} ms each, one process)"
        )
