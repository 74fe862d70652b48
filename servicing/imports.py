"""CSV import of a book: holders, closing prices, notes and payments, one kind of record a file.

One engine for `manage.py import_csv`, the staff page *Operations → Import* and its Celery task.
Every row goes through the same service as the form that records one such record
(`holder_create`, `closing_price_record`, `note_create`, `payment_record`), inside one transaction:
a dry run rolls it back, so it runs exactly the checks a commit runs; a commit keeps all the rows or,
if any row is refused, none. Each problem is reported as `row N, column C: message`, row numbers as a
spreadsheet shows them (the header is row 1), every problem of every row, not the first.

A row whose record already exists, identically, by its natural key (a holder's name and e-mail, an
issuer and date's close, a note's number, a payment's note, date, amount and reference) is
"unchanged": importing the same file twice creates nothing the second time. The same key with other
values is a problem named at the column that differs.

A file comes from outside, so it is read with bounds before any of it is used: its size, its rows,
the length of every cell; text that is one line in its record (a name, a reference) is checked as
such (`holders.validators.one_line`).
"""

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from holders.models import Holder
from holders.services import holder_create
from holders.validators import one_line
from notes.models import ClosingPrice, Issuer, Note
from servicing import selectors, services
from servicing.models import ImportRun, Payment

JOB = "import_csv"
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
MAX_CELL = 1000  # characters; a notice address of a few lines fits
PROGRESS_EVERY = 100

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,20}(\.[0-9]{1,20})?")
WHOLE = re.compile(r"-?[0-9]{1,6}")


@dataclass(frozen=True)
class Kind:
    name: str
    noun: str  # plural, for counts
    required: tuple[str, ...]  # columns the header must have
    optional: tuple[str, ...] = ()  # columns it may have
    needed: tuple[str, ...] = ()  # columns whose value may not be empty
    dates: tuple[str, ...] = ()
    decimals: tuple[str, ...] = ()
    wholes: tuple[str, ...] = ()
    multiline: tuple[str, ...] = ()  # text that may have line breaks
    renamed: dict = field(default_factory=dict)  # the service's field name → the column
    fallback: str = ""  # the column of a refusal naming no column
    permission: str = ""
    example: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


KINDS = {
    k.name: k
    for k in [
        Kind(
            "holders",
            "holders",
            required=("name", "kind", "email", "notice_address", "telecopy"),
            needed=("name", "kind"),
            multiline=("notice_address",),
            fallback="name",
            permission="holders.add_holder",
            example="name,kind,email,notice_address,telecopy\n"
            'Ann Lee,individual,ann@example.com,"1 Main St, Springfield",\n'
            'Harbor Point Capital LLC,entity,ops@harborpoint.example,"200 Pier Ave, Boston, MA",+1 617 555 0100\n',
        ),
        Kind(
            "closing_prices",
            "closing prices",
            required=("issuer", "date", "close"),
            needed=("issuer", "date", "close"),
            dates=("date",),
            decimals=("close",),
            fallback="close",
            permission="notes.add_closingprice",
            example="issuer,date,close\nInnovo Group Inc.,2026-01-05,2.41\nInnovo Group Inc.,2026-01-06,2.38\n",
        ),
        Kind(
            "notes",
            "notes",
            required=("number", "issuer", "holder", "agreement_date", "maturity_date", "principal", "rate"),
            optional=(
                "default_spread",
                "lawful_rate_cap",
                "lockout_months",
                "conversion_premium",
                "conversion_price",
            ),
            needed=("number", "issuer", "holder", "agreement_date", "maturity_date", "principal", "rate"),
            dates=("agreement_date", "maturity_date"),
            decimals=(
                "principal",
                "rate",
                "default_spread",
                "lawful_rate_cap",
                "conversion_premium",
                "conversion_price",
            ),
            wholes=("lockout_months",),
            renamed={
                "default_rate_spread": "default_spread",
                "max_lawful_rate": "lawful_rate_cap",
                "prepayment_lockout_months": "lockout_months",
                "reference_closes": "conversion_price",
                "calendar": "number",
            },
            fallback="number",
            permission="notes.add_note",
            example="number,issuer,holder,agreement_date,maturity_date,principal,rate,conversion_price\n"
            "N-2026-01,Innovo Group Inc.,Ann Lee,2026-01-12,2027-01-12,250000.00,0.08,2.75\n",
        ),
        Kind(
            "payments",
            "payments",
            required=("note", "received_on", "amount", "reference"),
            needed=("note", "received_on", "amount"),
            dates=("received_on",),
            decimals=("amount",),
            fallback="amount",
            permission="servicing.add_payment",
            example="note,received_on,amount,reference\nN-2026-01,2026-02-12,1666.67,wire 0212\n",
        ),
    ]
}

# The note's optional columns and the arguments of note_create they give.
NOTE_TERMS = {
    "default_spread": "default_rate_spread",
    "lawful_rate_cap": "max_lawful_rate",
    "lockout_months": "prepayment_lockout_months",
    "conversion_premium": "conversion_premium",
    "conversion_price": "conversion_price",
}


class FileRefused(Exception):
    """The file as a whole cannot be read (too large, not UTF-8 text, no header)."""


@dataclass
class Row:
    number: int  # as a spreadsheet shows it: the header is row 1
    values: dict
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column, message)
    outcome: str = ""  # "create", "unchanged" or "" (refused)
    label: str = ""


@dataclass
class Report:
    kind: Kind
    rows: list[Row] = field(default_factory=list)
    file_problems: list[str] = field(default_factory=list)
    committed: bool = False

    @property
    def problems(self) -> list[str]:
        return self.file_problems + [f"row {r.number}, column {c}: {m}" for r in self.rows for c, m in r.problems]

    @property
    def created(self) -> int:
        return sum(r.outcome == "create" for r in self.rows)

    @property
    def unchanged(self) -> int:
        return sum(r.outcome == "unchanged" for r in self.rows)

    def summary(self) -> str:
        verb = "created" if self.committed else "would create"
        return f"{verb} {self.created:,} {self.kind.noun}, {self.unchanged:,} unchanged"


def template(kind: str) -> str:
    """The header of a kind's file (with every column it may have)."""
    return ",".join(KINDS[kind].columns) + "\n"


def decode(raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise FileRefused(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FileRefused(f"the file is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})") from None


def run(
    kind_name: str,
    raw: bytes,
    *,
    commit: bool = False,
    by=None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Check every row through its service in one transaction; keep them only if `commit` and no
    row has a problem."""
    kind = KINDS[kind_name]
    report = Report(kind)
    try:
        header, records = _read(kind, decode(raw))
    except FileRefused as e:
        report.file_problems.append(f"row 1: {e}")
        return report
    report.file_problems += _header_problems(kind, header)
    if report.file_problems:
        return report
    total = len(records)
    # Payments are recorded awaiting approval: no row changes the approved events the next is checked
    # against, so each note's are read once (selectors.events_kept), not once a row.
    kept = selectors.events_kept() if kind_name == "payments" else nullcontext()
    with transaction.atomic(), kept:
        counts = Counter()
        for i, cells in enumerate(records):
            if cells is None:  # a blank line: nothing to record, but the rows after keep their numbers
                continue
            row = Row(number=i + 2, values=dict(zip(header, cells, strict=False)))
            if len(cells) != len(header):
                row.problems.append((header[-1], f"{len(cells)} cells, the header has {len(header)} columns"))
            else:
                _check_row(kind, row, by, counts)
            report.rows.append(row)
            if progress and (i + 1) % PROGRESS_EVERY == 0:
                progress(i + 1, total)
        report.committed = commit and not report.problems
        if not report.committed:
            transaction.set_rollback(True)
    if progress:
        progress(total, total)
    return report


def _read(kind: Kind, text: str) -> tuple[list[str], list[list[str] | None]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [c.strip() for c in next(reader)]
    except StopIteration:
        raise FileRefused("the file is empty: it needs a header row") from None
    except csv.Error as e:
        raise FileRefused(f"the header cannot be read: {e}") from None
    records = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                records.append(None)  # a blank line keeps its row number
                continue
            records.append(cells)
            if len(records) > MAX_ROWS:
                raise FileRefused(f"the file has more than {MAX_ROWS:,} rows")
    except csv.Error as e:
        raise FileRefused(f"row {reader.line_num} cannot be read: {e}") from None
    while records and records[-1] is None:
        records.pop()
    return header, records


def _header_problems(kind: Kind, header: list[str]) -> list[str]:
    problems = []
    for c in header:
        if c not in kind.columns:
            listed = ", ".join(kind.columns)
            problems.append(f"row 1, column {_shown(c)[1:-1]}: not a column of {kind.noun} (the columns are {listed})")
    for c in kind.required:
        if c not in header:
            problems.append(f"row 1, column {c}: missing (the required columns are {', '.join(kind.required)})")
    for c, n in Counter(header).items():
        if n > 1 and c in kind.columns:
            problems.append(f"row 1, column {c}: given {n} times")
    return problems


def _parse(kind: Kind, row: Row) -> dict:
    """Each cell as the value its service takes; a problem for each that is not."""
    parsed = {}
    for column in kind.columns:
        text = row.values.get(column, "")
        text = text.strip() if column not in kind.multiline else text.strip("\r\n ")
        if len(text) > MAX_CELL:
            row.problems.append((column, f"at most {MAX_CELL} characters (it has {len(text)})"))
            continue
        if not text:
            if column in kind.needed:
                row.problems.append((column, "a value is required"))
            parsed[column] = None
            continue
        if column in kind.dates:
            try:
                if not ISO_DATE.fullmatch(text):
                    raise ValueError
                parsed[column] = date.fromisoformat(text)
            except ValueError:
                row.problems.append((column, f"{_shown(text)} is not a date as YYYY-MM-DD"))
        elif column in kind.decimals:
            try:
                if not PLAIN_DECIMAL.fullmatch(text):
                    raise InvalidOperation
                parsed[column] = Decimal(text)
            except InvalidOperation:
                row.problems.append((column, f"{_shown(text)} is not a plain decimal number (such as 1250.50)"))
        elif column in kind.wholes:
            if WHOLE.fullmatch(text):
                parsed[column] = int(text)
            else:
                row.problems.append((column, f"{_shown(text)} is not a whole number"))
        else:
            if column not in kind.multiline:
                try:
                    one_line(text)
                except ValidationError as e:
                    row.problems.append((column, e.messages[0]))
                    continue
            elif "\x00" in text:
                row.problems.append((column, "must not contain a NUL character"))
                continue
            parsed[column] = text
    return parsed


def _shown(text: str) -> str:
    text = "".join(c if c.isprintable() else "?" for c in text)
    return repr(text if len(text) <= 40 else f"{text[:37]}...")


def _check_row(kind: Kind, row: Row, by, counts: Counter) -> None:
    values = _parse(kind, row)
    if not row.problems:
        _check_values(kind, row, values, by, counts)
    if row.problems:
        row.outcome = ""
    if not row.label:  # refused before it could be described: its cells as given
        text = ", ".join(row.values[c] for c in kind.columns if c in row.values)
        text = "".join(c if c.isprintable() else " " for c in text)
        row.label = text if len(text) <= 80 else f"{text[:77]}..."


def _check_values(kind: Kind, row: Row, values: dict, by, counts: Counter) -> None:
    try:
        with transaction.atomic():
            CHECKS[kind.name](row, values, by, counts)
    except ValidationError as e:
        _add_refusal(kind, row, e)


def _add_refusal(kind: Kind, row: Row, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        for m in error.messages:
            row.problems.append((kind.fallback, m))
        return
    for name, messages in error.message_dict.items():
        column = kind.renamed.get(name, name)
        if column not in kind.columns:
            column = kind.fallback
        for m in messages:
            row.problems.append((column, m.removeprefix(f"{name}: ")))


def _differs(row: Row, record, values: dict, fields: dict, what: str) -> None:
    """A problem at each column whose value differs from the record already there."""
    for column, attr in fields.items():
        if values.get(column) is None:
            continue
        have = getattr(record, attr)
        if have != values[column]:
            row.problems.append((column, f"{what} already exists with {column} {have}"))


def _issuer(row: Row, name: str) -> Issuer | None:
    issuer = Issuer.objects.filter(name=name).first()
    if issuer is None:
        row.problems.append(("issuer", f"no issuer is named {name}"))
    return issuer


def _holders(row: Row, values: dict, by, counts: Counter) -> None:
    name, email = values["name"], values["email"] or ""
    fields = {"kind": "kind", "notice_address": "notice_address", "telecopy": "telecopy"}
    row.label = f"holder {name}" + (f" <{email}>" if email else "")
    if values["kind"] not in Holder.Kind.values:
        row.problems.append(("kind", f"{_shown(values['kind'])}: individual or entity"))
        return
    existing = Holder.objects.filter(name=name, email=email).first()
    if existing:
        _differs(row, existing, values, fields, f"holder {name} <{email}>")
        row.outcome = "unchanged"
        return
    holder_create(by=by, **{"name": name, "email": email} | {c: values[c] or "" for c in fields})
    row.outcome = "create"


def _closing_prices(row: Row, values: dict, by, counts: Counter) -> None:
    row.label = f"close of {values['issuer']} on {values['date']}: {values['close']}"
    issuer = _issuer(row, values["issuer"])
    if issuer is None:
        return
    existed = ClosingPrice.objects.filter(issuer=issuer, date=values["date"], close=values["close"]).exists()
    services.closing_price_record(issuer=issuer, date=values["date"], close=values["close"], by=by)
    row.outcome = "unchanged" if existed else "create"


def _notes(row: Row, values: dict, by, counts: Counter) -> None:
    number = values["number"]
    row.label = f"note {number}: {values['principal']} to {values['holder']} from {values['agreement_date']}"
    issuer = _issuer(row, values["issuer"])
    holders = list(Holder.objects.filter(name=values["holder"])[:2])
    if not holders:
        row.problems.append(("holder", f"no holder is named {values['holder']}"))
    elif len(holders) > 1:
        row.problems.append(("holder", f"more than one holder is named {values['holder']}"))
    if row.problems:
        return
    existing = Note.objects.filter(number=number).select_related("issuer", "holder").first()
    if existing:
        terms = {c: c for c in ("agreement_date", "maturity_date", "principal", "rate")}
        _differs(row, existing, values, terms | NOTE_TERMS, f"note {number}")
        for column, record in (("issuer", issuer), ("holder", holders[0])):
            if getattr(existing, column) != record:
                row.problems.append((column, f"note {number} already exists with {column} {getattr(existing, column)}"))
        row.outcome = "unchanged"
        return
    given = {NOTE_TERMS[c]: values[c] for c in NOTE_TERMS if values.get(c) is not None}
    services.note_create(
        number=number,
        issuer=issuer,
        holder=holders[0],
        agreement_date=values["agreement_date"],
        maturity_date=values["maturity_date"],
        principal=values["principal"],
        rate=values["rate"],
        **given,
        by=by,
        job=JOB,
    )
    row.outcome = "create"


def _payments(row: Row, values: dict, by, counts: Counter) -> None:
    reference = values["reference"] or ""
    row.label = f"payment of {values['amount']} on note {values['note']} received {values['received_on']}"
    note = Note.objects.filter(number=values["note"]).first()
    if note is None:
        row.problems.append(("note", f"no note is numbered {values['note']}"))
        return
    if values["amount"] <= 0:
        row.problems.append(("amount", f"amount {values['amount']} must be above zero"))
        return
    # The same payment twice in a file is two payments; a second import finds both.
    key = (note.pk, values["received_on"], values["amount"], reference)
    counts[key] += 1
    there = Payment.objects.filter(
        note=note, received_on=values["received_on"], amount=values["amount"], reference=reference
    ).count()
    if counts[key] <= there:
        row.outcome = "unchanged"
        return
    services.payment_record(
        note=note, received_on=values["received_on"], amount=values["amount"], reference=reference, by=by
    )
    row.outcome = "create"


CHECKS = {"holders": _holders, "closing_prices": _closing_prices, "notes": _notes, "payments": _payments}


# The staff page's steps, run by a Celery task (servicing.tasks.import_step_task).


def progress_key(run_id: int) -> str:
    return f"import-run:{run_id}:progress"


def progress_of(import_run) -> tuple[int, int]:
    """Rows gone through and rows in all, of the step running now (or the last one)."""
    from django.core.cache import cache

    seen = cache.get(progress_key(import_run.pk))
    return tuple(seen) if seen else (import_run.done, import_run.rows)


UPDATE_PROGRESS = "UPDATE servicing_importrun SET done = %s, rows = %s WHERE id = %s"


def _progress_writer(run_id: int):
    """Report the progress where the page reads it while the step's own transaction is open: in the
    cache, and (PostgreSQL) on the run's row through a second connection, outside that transaction.
    SQLite has one writer at a time: there the cache alone tells (the embedded default runs the task
    in the web process, whose cache the page reads)."""
    from django.core.cache import cache
    from django.db import connection, connections

    other = connections.create_connection("default") if connection.vendor == "postgresql" else None

    def write(done: int, total: int) -> None:
        cache.set(progress_key(run_id), [done, total], 3600)
        if other is not None:
            other.set_autocommit(True)
            with other.cursor() as cursor:
                cursor.execute(UPDATE_PROGRESS, [done, total, run_id])

    return other, write


def step(run_id: int, *, commit: bool, by):
    """Check (a dry run) or import the uploaded file of an ImportRun, recording what was found; the
    records are made by `by`, who started the step."""
    upload = ImportRun.objects.get(pk=run_id)
    other, progress = _progress_writer(run_id)
    try:
        report = run(upload.kind, bytes(upload.content), commit=commit, by=by, progress=progress)
    finally:
        if other is not None:
            other.close()
    upload.report = report_json(report)
    upload.rows = upload.done = len(report.rows)
    upload.status = ImportRun.Status.IMPORTED if report.committed else ImportRun.Status.CHECKED
    upload.finished_at = timezone.now()
    upload.save(update_fields=["report", "rows", "done", "status", "finished_at"])
    return upload


def report_json(report: Report) -> dict:
    return {
        "summary": report.summary(),
        "committed": report.committed,
        "created": report.created,
        "unchanged": report.unchanged,
        "file_problems": report.file_problems,
        "problems": len(report.problems),
        "rows": [[r.number, r.outcome, r.label, [f"column {c}: {m}" for c, m in r.problems]] for r in report.rows],
    }
