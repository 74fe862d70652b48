import time
from datetime import date, timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import connection, reset_queries, transaction
from django.utils import timezone

from holders.models import Holder
from notes.models import Approval, Issuer, Note
from servicing.approvals import system_approver
from servicing.close import close_books
from servicing.models import LedgerEntry, Payment


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time the close for many notes over one month (on the configured database); everything is rolled back."

    def add_arguments(self, parser):
        parser.add_argument("--notes", type=int, default=10_000)

    def handle(self, notes, **options):
        try:
            with transaction.atomic():
                self._run(notes)
                raise Rollback
        except Rollback:
            pass

    def _run(self, count):
        issuer = Issuer.objects.create(name="Benchmark Issuer Inc.")
        holder = Holder.objects.create(name="Benchmark holder")
        start = date(2024, 1, 15)
        Note.objects.bulk_create(
            Note(
                number=f"BENCH-{i:06d}",
                issuer=issuer,
                holder=holder,
                agreement_date=start + timedelta(days=i % 14),
                maturity_date=date(2027, 1, 15),
                principal=Decimal(100_000 + i),
                rate=Decimal("0.075"),
                conversion_price=Decimal("2.5"),
            )
            for i in range(count)
        )
        t0 = time.perf_counter()
        close_books(through=date(2025, 1, 31))
        catch_up = time.perf_counter() - t0
        ids = list(Note.objects.filter(issuer=issuer).values_list("pk", flat=True))
        approver, now = system_approver(), timezone.now()
        Payment.objects.bulk_create(
            Payment(
                note_id=pk,
                received_on=date(2025, 2, 3),
                amount=Decimal("650.00"),
                approval=Approval.APPROVED,
                decided_by=approver,
                decided_at=now,
            )
            for pk in ids
        )
        entries_before = LedgerEntry.objects.count()
        reset_queries()
        t0 = time.perf_counter()
        run = close_books(through=date(2025, 2, 28))
        month = time.perf_counter() - t0
        self.stdout.write(
            f"{connection.vendor}: {count} notes\n"
            f"  first close, 13 months from funding: {catch_up:.1f} s\n"
            f"  close of one month (February 2025, a payment on every note): {month:.1f} s, "
            f"{run.notes_processed} notes, {LedgerEntry.objects.count() - entries_before} entries, "
            f"{len(run.failures)} failures"
        )
