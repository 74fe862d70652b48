"""`manage.py bench`: the heavy work of the app timed beside a floor measured in the same run.

Each workload builds its data in a scratch database (never the configured one's data), then runs
the app's work and its floor interleaved, three times over, so that a change in the machine's load
falls on both alike; the medians are compared. The close is measured against writing exactly the
rows it wrote with the driver alone, a statement against bare WeasyPrint of the same HTML.
"""

import multiprocessing
import os
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from psycopg.types.json import Jsonb

from holders.models import Holder
from notes.models import Approval, Issuer, Note
from servicing.approvals import system_approver
from servicing.close import close_books
from servicing.deliveries import statement_deliver, statements_run
from servicing.documents import pdf_from_html, statement_produce
from servicing.models import LedgerEntry, Payment, StatementDelivery

ROUNDS = 3
FUNDED = date(2024, 1, 2)  # the close's notes: funded over the first two weeks of January 2024
FIRST_THROUGH = date(2025, 1, 31)  # their first close: 13 months
MONTH_THROUGH = date(2025, 2, 28)  # the month closed after it, a payment on every note
STATEMENT_MONTH = date(2025, 2, 1)
STATEMENT_HOLDERS = 3
STATE = Note.POSTED  # what posting writes on the note row: its state and balances


@dataclass
class Line:
    """One line of the table: what was measured, its median, what it is compared with, the ratio."""

    what: str
    took: str
    against: str = ""
    ratio: str = ""


@dataclass
class Result:
    lines: list[Line]
    figures: dict[str, float]  # the last lines' figures (close_month_ratio…), by name
    sizes: str


def medians(*runs: Callable[[], float], rounds: int = ROUNDS) -> list[float]:
    """Call each of `runs` in turn, `rounds` times over; each returns the seconds it measured.
    The median of each, in the order given."""
    seen = [[] for _ in runs]
    for _ in range(rounds):
        for run, times in zip(runs, seen, strict=True):
            times.append(run())
    return [statistics.median(times) for times in seen]


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back():
    """A transaction that is always rolled back, so that every round starts from the same data."""
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


@contextmanager
def scratch_database():
    """A database of its own on the configured server (SQLite: a file in a temporary folder), and
    dropped at the end whatever happens. Django's test database machinery does the work; the tables
    are made from the models as they stand after the migrations (much faster than replaying them)."""
    test = connection.settings_dict.setdefault("TEST", {})
    saved = dict(test)
    folder = tempfile.TemporaryDirectory(prefix="bench_")
    name = os.path.join(folder.name, "bench.sqlite3") if connection.vendor == "sqlite" else f"bench_{os.getpid()}"
    test.update(NAME=name, MIGRATE=False)
    configured = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(configured, verbosity=0)
        test.clear()
        test.update(saved)
        folder.cleanup()


def fresh():
    """Empty every table of the scratch database (between workloads)."""
    call_command("flush", interactive=False, verbosity=0)


def analyze():
    """Fresh planner statistics, as a database in service has them."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def database_version() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
    return f"SQLite {sqlite3.sqlite_version}"


def make_notes(count: int, *, prefix: str, funded: date, maturity: date, holders: list[Holder]) -> None:
    issuer = Issuer.objects.create(name=f"{prefix} Issuer Inc.")
    Note.objects.bulk_create(
        Note(
            number=f"{prefix}-{i:06d}",
            issuer=issuer,
            holder=holders[i % len(holders)],
            agreement_date=funded + timedelta(days=i % 14),
            maturity_date=maturity,
            principal=Decimal(100_000 + i),
            rate=Decimal("0.075"),
            conversion_price=Decimal("2.5"),
        )
        for i in range(count)
    )


def make_holders(count: int, prefix: str) -> list[Holder]:
    return Holder.objects.bulk_create(
        Holder(name=f"{prefix} holder {i}", email=f"holder{i}@example.com") for i in range(count)
    )


# The close and its floor


class Floor:
    """Copies of the ledger table (its indexes and its rows, no foreign keys) and of the notes' state
    columns, into which the floor writes exactly what the close wrote, with the driver alone."""

    def __init__(self):
        self.postgres = connection.vendor == "postgresql"
        self.mark = "%s" if self.postgres else "?"
        fields, mark = LedgerEntry._meta.concrete_fields, self.mark
        columns, marks = ", ".join(field.column for field in fields), ", ".join([mark] * len(fields))
        # Column names and a placeholder only: no value is ever written into this SQL.
        self.read_entries = f"SELECT {columns} FROM servicing_ledgerentry WHERE id > {mark} ORDER BY id"  # noqa: S608
        self.read_states = f"SELECT {', '.join(STATE)}, id FROM notes_note WHERE closed_through = {mark}"  # noqa: S608
        self.insert = f"INSERT INTO bench_ledgerentry ({columns}) VALUES ({marks})"  # noqa: S608
        self.copy_in = f"COPY bench_ledgerentry ({columns}) FROM STDIN"
        assignments = ", ".join(f"{column} = {mark}" for column in STATE)
        self.update = f"UPDATE bench_note_state SET {assignments} WHERE id = {mark}"  # noqa: S608
        with connection.cursor() as cursor:
            if self.postgres:
                cursor.execute("CREATE TABLE bench_ledgerentry (LIKE servicing_ledgerentry INCLUDING ALL)")
            else:
                for sql in self._sqlite_ledger_ddl(cursor):
                    cursor.execute(sql)
            cursor.execute("INSERT INTO bench_ledgerentry SELECT * FROM servicing_ledgerentry")
            cursor.execute(f"CREATE TABLE bench_note_state AS SELECT id, {', '.join(STATE)} FROM notes_note")  # noqa: S608
            cursor.execute("CREATE UNIQUE INDEX bench_note_state_id ON bench_note_state (id)")
        analyze()

    def cursor(self):
        """The driver's own cursor (psycopg's server-side binding one, not Django's client-side)."""
        return psycopg.Cursor(connection.connection) if self.postgres else connection.connection.cursor()

    def drop(self):
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_ledgerentry")
            cursor.execute("DROP TABLE bench_note_state")

    @staticmethod
    def _sqlite_ledger_ddl(cursor) -> list[str]:
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'servicing_ledgerentry' AND sql IS NOT NULL "
            "ORDER BY type = 'index'"
        )
        copy = [sql.replace("servicing_ledgerentry", "bench_ledgerentry") for (sql,) in cursor.fetchall()]
        return [re.sub(r'INDEX "([^"]+)"', r'INDEX "bench_\1"', sql) for sql in copy]  # index names are global

    def written(self, after_id: int, through: date) -> tuple[list, list]:
        """The entries written after `after_id`, and the state of the notes closed through `through`,
        as the driver reads them (to be written back as they are)."""
        raw = self.cursor()
        raw.execute(self.read_entries, [after_id])
        entries = [self._writable(row) for row in raw.fetchall()]
        raw.execute(self.read_states, [through])
        states = [self._writable(row) for row in raw.fetchall()]
        return entries, states

    def _writable(self, row) -> tuple:
        if not self.postgres:
            return tuple(row)
        return tuple(Jsonb(value) if isinstance(value, dict | list) else value for value in row)

    def executemany(self, entries, states) -> float:
        with rolled_back():
            raw = self.cursor()
            start = time.perf_counter()
            raw.executemany(self.insert, entries)
            raw.executemany(self.update, states)
            return time.perf_counter() - start

    def copy(self, entries, states) -> float:
        with rolled_back():
            raw = self.cursor()
            start = time.perf_counter()
            with raw.copy(self.copy_in) as copy:
                for row in entries:
                    copy.write_row(row)
            raw.executemany(self.update, states)
            return time.perf_counter() - start


def close_against_floor(through: date, what: str) -> tuple[list[Line], float]:
    """Time `close_books(through=…)`, rolled back each round, beside the floor of what it wrote."""
    floor = Floor()
    after_id = LedgerEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    written = {}

    def close() -> float:
        with rolled_back():
            start = time.perf_counter()
            run = close_books(through=through)
            took = time.perf_counter() - start
            assert not run.failures, run.failures
            written["entries"], written["states"] = floor.written(after_id, through)
        return took

    def by_executemany() -> float:
        return floor.executemany(written["entries"], written["states"])

    def by_copy() -> float:
        return floor.copy(written["entries"], written["states"])

    runs = [close, by_executemany] + ([by_copy] if floor.postgres else [])
    try:
        took, *floors = medians(*runs)
    finally:
        floor.drop()
    entries, notes = len(written["entries"]), len(written["states"])
    lines = [
        Line(f"{what}: {notes:,} notes, {entries:,} entries", ms(took), f"executemany {ms(floors[0])}",
             f"{took / floors[0]:.2f}"),
        Line("", "", f"COPY {ms(floors[1])}" if floor.postgres else "COPY n/a (SQLite)",
             f"{took / floors[1]:.2f}" if floor.postgres else ""),
    ]  # fmt: skip
    return lines, took / floors[0]


def close_first(count: int) -> Result:
    """The first close of `count` never-posted notes, 13 months from funding."""
    make_notes(count, prefix="FIRST", funded=FUNDED, maturity=date(2027, 1, 15), holders=make_holders(1, "First"))
    analyze()
    lines, ratio = close_against_floor(FIRST_THROUGH, "first close, 13 months")
    return Result(lines, {"close_first_ratio": ratio}, f"close_first: {count:,} notes")


def close_month(count: int) -> Result:
    """The close of February 2025 for `count` notes closed through January, a payment on every one."""
    make_notes(count, prefix="MONTH", funded=FUNDED, maturity=date(2027, 1, 15), holders=make_holders(1, "Month"))
    close_books(through=FIRST_THROUGH)
    approver, now = system_approver(), timezone.now()
    Payment.objects.bulk_create(
        Payment(
            note_id=pk,
            received_on=FIRST_THROUGH + timedelta(days=3),
            amount=Decimal("650.00"),
            approval=Approval.APPROVED,
            decided_by=approver,
            decided_at=now,
        )
        for pk in Note.objects.values_list("pk", flat=True)
    )
    analyze()
    lines, ratio = close_against_floor(MONTH_THROUGH, "close of a month")
    return Result(lines, {"close_month_ratio": ratio}, f"close_month: {count:,} notes")


# Statements


def statement_holders(count: int) -> list[Holder]:
    """`count` holders with a note each, funded in January 2025 and closed through February."""
    holders = make_holders(count, "Statement")
    make_notes(count, prefix="STMT", funded=date(2025, 1, 15), maturity=date(2027, 1, 15), holders=holders)
    close_books(through=STATEMENT_MONTH.replace(month=3))
    analyze()
    return holders


def statement(count: int) -> Result:
    """One holder's statement as the app produces it, against bare WeasyPrint of the same HTML."""
    import weasyprint

    holders = statement_holders(min(count, STATEMENT_HOLDERS))
    html = {}

    def produce(holder) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            html[holder.pk] = statement_produce(holder=holder, month=STATEMENT_MONTH).html
            return time.perf_counter() - start

        return run

    def bare(holder) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            weasyprint.HTML(string=html[holder.pk], base_url=str(settings.BASE_DIR)).write_pdf()
            return time.perf_counter() - start

        return run

    produce(holders[0])(), bare(holders[0])()  # fonts and templates loaded once before timing
    times = medians(*[run for holder in holders for run in (produce(holder), bare(holder))])
    took, floor = statistics.median(times[0::2]), statistics.median(times[1::2])
    line = Line(f"one statement (median of {len(holders)} holders)", ms(took), f"bare WeasyPrint {ms(floor)}",
                f"{took / floor:.2f}")  # fmt: skip
    return Result([line], {"statement_ratio": took / floor}, f"statement: {len(holders)} holders")


def _deliver(ids: list[int]) -> None:
    """A worker process: deliver these statements on a connection of its own."""
    for pk in ids:
        outcome = statement_deliver(pk)
        if outcome.status != StatementDelivery.Status.SENT:
            raise RuntimeError(f"statement delivery {pk}: {outcome.status}")
    connections.close_all()


def workers(count: int) -> Result:
    """Deliver `count` statements on one worker process, then split across two."""
    statement_holders(count)
    pdf_warm_up()

    def deliver(processes: int) -> Callable[[], float]:
        def run() -> float:
            with connection.cursor() as cursor:  # the previous round's statements, not the app's data
                cursor.execute("DELETE FROM servicing_statementoutcome")  # the runs' records of them
                cursor.execute("DELETE FROM servicing_statementdelivery")
                cursor.execute("DELETE FROM servicing_document")
            statements_run(month=STATEMENT_MONTH, enqueue=lambda pk: None)
            ids = list(StatementDelivery.objects.order_by("pk").values_list("pk", flat=True))
            connections.close_all()  # each process opens its own
            fork = multiprocessing.get_context("fork")
            started = [fork.Process(target=_deliver, args=(ids[i::processes],)) for i in range(processes)]
            start = time.perf_counter()
            for process in started:
                process.start()
            try:
                for process in started:
                    process.join()
            finally:
                for process in started:
                    if process.is_alive():  # interrupted: none may keep the scratch database open
                        process.terminate()
                        process.join()
            took = time.perf_counter() - start
            failed = [process.exitcode for process in started if process.exitcode]
            assert not failed, f"a worker process failed (exit codes {failed})"
            return took

        return run

    one, two = medians(deliver(1), deliver(2))
    lines = [
        Line(f"statements delivered on one process ({count})", f"{count / one:.1f}/s"),
        Line(f"statements delivered on two processes ({count})", f"{count / two:.1f}/s", "speed-up",
             f"{one / two:.2f}"),
    ]  # fmt: skip
    return Result(lines, {}, f"workers: {count} statements")


def pdf_warm_up():
    """Load WeasyPrint (and Pango, its fonts) before the worker processes fork, as a worker would."""
    pdf_from_html("<p>warm-up</p>")


# Pages


def pages(count: int, years: int) -> Result:
    """The staff pages at `count` notes with `years` of ledger posted by the app's own close."""
    holders = make_holders(max(1, count // 10), "Page")
    through = date(2025, 1, 15)
    funded = through.replace(year=through.year - years)
    make_notes(count, prefix="PAGE", funded=funded, maturity=through.replace(year=through.year + 1), holders=holders)
    close_books(through=through)
    analyze()
    user = get_user_model().objects.create_superuser("bench", password="unused-bench-1")
    client = Client()
    client.force_login(user)
    note = Note.objects.order_by("pk").first()
    urls = {
        "notes list": "/notes/",
        "notes list, sorted by principal": "/notes/?sort=-principal_outstanding",
        "notes list, past due": "/notes/?owing=past_due",
        "notes list, searched": "/notes/?q=PAGE-0001",
        "holders list": "/holders/",
        "dashboard": "/",
        "a note page": note.get_absolute_url(),
        "a note page, its ledger's 2nd page": note.get_absolute_url() + "?page=2",
    }
    queries = {}

    def get(name: str, url: str) -> Callable[[], float]:
        def run() -> float:
            with CaptureQueriesContext(connection) as captured:
                start = time.perf_counter()
                response = client.get(url)
                took = time.perf_counter() - start
            assert response.status_code == 200, (url, response.status_code)
            queries[name] = len(captured)
            return took

        return run

    runs = [get(name, url) for name, url in urls.items()]
    for run in runs:  # templates compiled, caches filled: each page as a server in use serves it
        run()
    times = dict(zip(urls, medians(*runs), strict=True))
    lines = [Line(f"page: {name} ({urls[name]})", ms(took), f"{queries[name]} queries") for name, took in times.items()]
    entries = LedgerEntry.objects.count()
    sizes = f"pages: {count:,} notes × {years} years, {entries:,} ledger entries"
    return Result(lines, {"pages_ms_max": max(times.values()) * 1000}, sizes)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


WORKLOADS = ["close_month", "close_first", "statement", "pages", "workers"]
FIGURES = ["close_month_ratio", "close_first_ratio", "statement_ratio", "pages_ms_max"]


def bench(*, notes: int, years: int, only: list[str], say: Callable[[str], None]) -> dict[str, float]:
    """Run the chosen workloads in a scratch database; say the table; the figures by name."""
    statements = max(4, min(200, notes // 20))
    jobs = {
        "close_month": lambda: close_month(notes),
        "close_first": lambda: close_first(notes),
        "statement": lambda: statement(notes),
        "pages": lambda: pages(notes, years),
        "workers": lambda: workers(statements),
    }
    figures = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench_media_") as media,
        override_settings(
            DEBUG=False,  # as served: no query log kept
            ALLOWED_HOSTS=["testserver"],
            MEDIA_ROOT=media,
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        ),
        scratch_database(),
    ):
        say(f"{database_version()}, scratch database {connection.settings_dict['NAME']}; {ROUNDS} rounds, medians")
        table = []
        for i, name in enumerate(name for name in WORKLOADS if name in only):
            if i:
                fresh()  # the previous workload's data out
            start = time.perf_counter()
            result = jobs[name]()
            say(f"  {result.sizes} ({time.perf_counter() - start:.0f} s with its data)")
            table += result.lines
            figures |= result.figures
    say("")
    say_table(table, say)
    return {name: figures[name] for name in FIGURES if name in figures}


def say_table(lines: list[Line], say: Callable[[str], None]) -> None:
    header = Line("what", "median", "against", "ratio")
    rows = [header, *lines]
    widths = [max(len(getattr(row, field)) for row in rows) for field in ("what", "took", "against")]
    for row in rows:
        say(f"{row.what:<{widths[0]}}  {row.took:>{widths[1]}}  {row.against:<{widths[2]}}  {row.ratio:>5}".rstrip())
