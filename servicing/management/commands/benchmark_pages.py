import time
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from holders.models import Holder
from notes.models import Issuer, Note
from servicing.close import close_books
from servicing.models import LedgerEntry


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Time the note list, the holders list, the dashboard and a note page with many notes and years of "
        "ledger (on the configured database); everything is rolled back."
    )

    def add_arguments(self, parser):
        parser.add_argument("--notes", type=int, default=10_000)
        parser.add_argument("--years", type=int, default=5)

    def handle(self, notes, years, **options):
        try:
            with transaction.atomic(), override_settings(ALLOWED_HOSTS=["testserver"]):
                self._run(notes, years)
                raise Rollback
        except Rollback:
            pass

    def _run(self, count, years):
        issuer = Issuer.objects.create(name="Benchmark Pages Inc.")
        holders = Holder.objects.bulk_create(Holder(name=f"Page holder {i}") for i in range(count // 10 or 1))
        start = date(2020, 1, 15)
        Note.objects.bulk_create(
            Note(
                number=f"PAGE-{i:06d}",
                issuer=issuer,
                holder=holders[i % len(holders)],
                agreement_date=start + timedelta(days=i % 14),
                maturity_date=start.replace(year=start.year + years + 1),
                principal=Decimal(100_000 + i),
                rate=Decimal("0.075"),
                conversion_price=Decimal("2.5"),
            )
            for i in range(count)
        )
        t0 = time.perf_counter()
        close_books(through=start.replace(year=start.year + years))
        self.stdout.write(
            f"{count} notes, {LedgerEntry.objects.count():,} ledger entries over {years} years "
            f"(posted in {time.perf_counter() - t0:.0f} s)"
        )
        user = get_user_model().objects.create_superuser("benchmark-pages", password="unused-1")
        client = Client()
        client.force_login(user)
        note = Note.objects.filter(issuer=issuer).order_by("pk").first()
        pages = {
            "notes list": "/notes/",
            "notes list sorted by principal": "/notes/?sort=-principal_outstanding",
            "notes list filtered": "/notes/?q=PAGE-0001",
            "holders list": "/holders/",
            "dashboard": "/",
            "note page": note.get_absolute_url(),
            "note page, payoff quote": note.get_absolute_url() + "?on=2024-06-15&principal=1000",
        }
        for name, url in pages.items():
            connection.queries_log.clear()  # the close above filled it
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(url)
                took = time.perf_counter() - t0
            assert response.status_code == 200, (url, response.status_code)
            self.stdout.write(f"  {name}: {took * 1000:.0f} ms, {len(queries)} queries")
