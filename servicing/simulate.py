"""`manage.py simulate`: replay a scenario through the services and the close job (simulate.md).

Everything is created with the same service functions the staff pages call, posted by the same
close job, and read back from the stored ledger and records.

A scenario is recorded as a whole (simulate.md, "Input"): the order of its events list means nothing
but for events of one kind on one day. Its events are read first, then recorded in the order they
take effect, each day's in the order of "The order of one day"; since the replay that checks each
one is strict and a day depends only on the days before it, an event refused there breaks a rule
in every order of the list, and the refusal names it by its place in the list as given. It runs on
its own: its issuer, holder and closing prices are new records, never ones already in the database.

A scenario comes from outside, so it is read with bounds before any of it is used: its size, its
nesting, the number of its events, the type and length of every value, the digits of every number
and the range of every date. A malformed file is refused with a ScenarioError naming the JSON path
(`note.principal`, `events[3].notice.sent`), never with an exception from deeper down.
"""

import contextlib
import itertools
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import DataError

from holders.models import Holder
from holders.services import holder_create
from notes.models import ClosingPrice, Issuer, Note
from servicing import approvals, clock, engine, services
from servicing.close import close_books
from servicing.engine.errors import RuleError
from servicing.models import Acceleration, Conversion, DefaultPeriod, Payment, Period, Prepayment
from servicing.selectors import conversion_price_display, note_balances, note_terms, payment_applied

JOB = "simulate"

# Bounds on what one scenario may ask for. A real note's scenario is a few kilobytes, nested four
# deep, with tens of events; these leave room for a long note's whole life.
MAX_BYTES = 1024 * 1024
MAX_DEPTH = 20
MAX_EVENTS = 100
# Each event is checked by replaying the note from its first day through the last day any event
# reaches, when it is recorded and again when it is approved; on a note in default a replay's work
# grows with the square of its length (each day sums the interest past due). So the events a
# scenario may have shrink as the replay grows: events × (years replayed)² at most this, which
# keeps the longest runs under a minute: 100 events over 7 years, 50 over 10, 12 over 20, 1 over 70.
MAX_REPLAY_WORK = 5_000
MAX_CLOSES = 250  # a year of trading days; only the five before the agreement date count (4(a))
MAX_LOCKOUT_MONTHS = 120
# Numbers: at most 20 digits, 10 of them after the point, and never more than the column that
# stores the figure holds.
MAX_DIGITS, MAX_PLACES = 20, 10
MAX_NUMBER_CHARS = 40
# Dates: a century inside the ends of Python's calendar, so that no date arithmetic done before a
# date is checked against the note's window (a notice's deemed receipt, a calendar's holidays)
# can overflow.
EARLIEST_DATE, LATEST_DATE = date(100, 1, 1), date(9899, 12, 31)
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_TYPE_CHARS = 40


class ScenarioError(Exception):
    """A malformed or rule-breaking scenario; the message names where and why."""


def load(raw: bytes) -> dict:
    """The scenario in `raw` (a file's bytes), refused unless it is UTF-8 JSON within the bounds."""
    if len(raw) > MAX_BYTES:
        raise ScenarioError(f"larger than {MAX_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ScenarioError(f"not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})") from None
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_int=_whole_number)
    except json.JSONDecodeError as e:
        raise ScenarioError(f"not JSON: {e}") from None
    except RecursionError:
        raise ScenarioError(f"nested more than {MAX_DEPTH} deep") from None
    if _depth(data) > MAX_DEPTH:
        raise ScenarioError(f"nested more than {MAX_DEPTH} deep")
    return data


def simulate(data: dict) -> tuple[Note, dict]:
    if not isinstance(data, dict):
        raise ScenarioError(f"scenario: {_show(data)} must be a JSON object")
    n = _object(data, "note", "note")
    as_of = _date(data, "as_of", "as_of")
    # Refused before anything is created: the count of events bounds the work of recording them.
    events = _list(data, "events", "events", MAX_EVENTS, default=[])
    agreement_date = _date(n, "agreement_date", "note.agreement_date")
    if as_of < agreement_date:
        raise ScenarioError(f"as_of: {as_of} is before the agreement date {agreement_date}")
    with clock.pinned(as_of):
        note = _create_note(data, n)
        # The close replays every day through as_of: bounded by the note's window, checked first.
        try:
            note_terms(note).check_day("as_of", as_of)
        except RuleError as e:
            raise ScenarioError(f"as_of: {e.message}") from None
        _check_work(note, events)
        read = [_read_event(note, e, f"events[{i}]") for i, e in enumerate(events)]
        # A stable sort: events of one kind on one day keep the order listed.
        for event in sorted(read, key=lambda e: (e.takes_effect, ORDER_OF_ONE_DAY.index(e.kind))):
            with _where(event.path):
                _record(note, event)
        run = close_books(through=as_of, note_ids=[note.pk])
        if run.failures:
            raise ScenarioError(f"the close through {as_of} failed: {run.failures[0]['error']}")
    note.refresh_from_db()
    return note, report(note)


def _check_work(note: Note, events: list) -> None:
    """Refuse more events than MAX_REPLAY_WORK allows for the years their replays cover."""
    last = note.maturity_date
    for e in events:
        if isinstance(e, dict):
            notice = e.get("notice") if isinstance(e.get("notice"), dict) else {}
            for day in (e.get("date"), e.get("cured"), e.get("waived"), notice.get("sent")):
                # A malformed date is refused when its event is recorded; here it only counts if valid.
                if isinstance(day, str) and ISO_DATE.fullmatch(day):
                    with contextlib.suppress(ValueError):
                        last = max(last, date.fromisoformat(day))
    last = min(last, note_terms(note).last_day)
    years = max(round((last - note.first_day).days / 365.25, 1), 1)
    allowed = min(MAX_EVENTS, int(MAX_REPLAY_WORK / years**2))
    if len(events) > allowed:
        raise ScenarioError(
            f"events: {len(events):,} given; a note replayed over {years:.1f} years "
            f"(from {note.first_day} to {last}) may have at most {allowed:,}"
        )


def report(note: Note) -> dict:
    """What the ledger and records say of the note, as simulate.md's output."""
    b = note_balances(note)
    payments = []
    for p in Payment.objects.filter(note=note, reversed_at__isnull=True, received_on__lte=note.closed_through):
        applied = payment_applied(p)
        payments.append(
            {
                "date": p.received_on.isoformat(),
                "amount": _m(p.amount),
                "to_default_interest": _m(applied.to_default_interest),
                "to_interest": _m(applied.to_interest),
                "to_principal": _m(applied.to_principal),
                "to_costs": _m(applied.to_costs),
                "to_unapplied": _m(applied.to_unapplied),
            }
        )
    conversions = Conversion.objects.filter(note=note, status=Conversion.Status.CONVERTED).select_related("notice")
    prepayments = Prepayment.objects.filter(note=note, status=Prepayment.Status.PAID).select_related("notice")
    return {
        "conversion_price": f"{conversion_price_display(note):.6f}",
        "prepayment_allowed_from": note_terms(note).prepayment_allowed_from.isoformat(),
        "periods": [
            {
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "days": p.days,
                "due_date": p.due_date.isoformat(),
                "reason": p.reason,
                "interest": _m(p.interest),
                "default_interest": _m(p.default_interest),
            }
            for p in Period.objects.filter(note=note).order_by("start")
        ],
        "payments": payments,
        "conversions": [
            {
                "notice_sent": c.notice.sent_on.isoformat(),
                "conversion_date": c.conversion_date.isoformat(),
                "principal": _m(c.principal),
                "interest": _m(c.interest + c.default_interest),
                "amount": _m(c.amount),
                "price": f"{conversion_price_display(note):.6f}",
                "shares": c.shares,
            }
            for c in sorted(conversions, key=lambda c: (c.conversion_date, c.pk))
        ],
        "prepayments": [
            {
                "notice_sent": p.notice.sent_on.isoformat(),
                "holder_received": p.notice.deemed_received_on.isoformat(),
                "window_end": p.window_end.isoformat(),
                "date": p.prepayment_date.isoformat(),
                "principal": _m(p.principal),
                "interest": _m(p.interest + p.default_interest),
                "amount": _m(p.amount),
            }
            for p in prepayments.order_by("prepayment_date", "pk")
        ],
        "accelerations": [{"date": a.date.isoformat(), "kind": a.kind} for a in Acceleration.objects.filter(note=note)],
        "defaults": [
            {"kind": d.kind, "start": d.start.isoformat(), "end": d.end.isoformat() if d.end else None}
            for d in DefaultPeriod.objects.filter(note=note).order_by("start", "kind", "pk")
        ],
        "balances": {
            "as_of": b.as_of.isoformat(),
            "principal": _m(b.principal),
            "interest_due": _m(b.interest_due),
            "default_interest_due": _m(b.default_interest_due),
            "costs_due": _m(b.costs_due),
            "accrued_interest": _m(b.accrued_interest),
            "accrued_default_interest": _m(b.accrued_default_interest),
            "unapplied": _m(b.unapplied),
            "payoff_amount": _m(b.payoff_amount),
        },
    }


def _create_note(data: dict, n: dict) -> Note:
    i = _object(data, "issuer", "issuer", {"name": "Innovo Group Inc."})
    issuer = _own_issuer(_text(i, "name", "issuer.name", max_length=_column(Issuer, "name").max_length))
    h = _object(data, "holder", "holder", {"name": "Scenario holder"})
    name = _text(h, "name", "holder.name", max_length=_column(Holder, "name").max_length)
    email = _text(h, "email", "holder.email", max_length=_column(Holder, "email").max_length, required=False)
    with _where("holder"):
        holder = holder_create(name=name, email=email or "", by=None)
    agreement_date = _date(n, "agreement_date", "note.agreement_date")
    price = _term(n, "conversion_price", required=False)
    premium = _term(n, "conversion_premium", required=False)
    if price is None:
        if n.get("reference_closes") is None:
            raise ScenarioError("note.reference_closes: give the closing prices, or note.conversion_price")
        closes = _list(n, "reference_closes", "note.reference_closes", MAX_CLOSES)
        # The conversion price is the premium times the average close (4(a)): with every close
        # below the largest price a note can store, so is their average.
        times = premium if premium is not None else _column(Note, "conversion_premium").default
        largest = _ceiling(_column(Note, "conversion_price"))
        for i, c in enumerate(closes):
            path = f"note.reference_closes[{i}]"
            c = _item(c, path)
            day = _date(c, "date", f"{path}.date")
            close = _decimal(c, "close", f"{path}.close", column=_column(ClosingPrice, "close"))
            if times * close >= largest:
                raise ScenarioError(
                    f"{path}.close: {close} times the conversion premium {times} is not below {largest:,}, "
                    "the largest conversion price a note can have"
                )
            with _where(path):
                services.closing_price_record(issuer=issuer, date=day, close=close)
    terms = {
        "default_rate_spread": _term(n, "default_rate_spread", required=False),
        "max_lawful_rate": _term(n, "max_lawful_rate", required=False),
        "conversion_premium": premium,
        "prepayment_lockout_months": _integer(
            n, "prepayment_lockout_months", "note.prepayment_lockout_months", low=0, high=MAX_LOCKOUT_MONTHS
        ),
        "calendar": _text(
            n, "calendar", "note.calendar", max_length=_column(Note, "calendar").max_length, required=False
        ),
    }
    maturity_date = _date(n, "maturity_date", "note.maturity_date")
    principal, rate = _term(n, "principal"), _term(n, "rate")
    with _where("note"):
        return services.note_create(
            issuer=issuer,
            holder=holder,
            agreement_date=agreement_date,
            maturity_date=maturity_date,
            principal=principal,
            rate=rate,
            conversion_price=price,
            job=JOB,
            **{k: v for k, v in terms.items() if v is not None},
        )


def _own_issuer(name: str) -> Issuer:
    """A new issuer for the scenario alone, so that no closing price of another (the demo's, another
    scenario's) is ever among its own. It has the name given; when an issuer already has that name
    (names are unique), the first of "NAME (scenario 2)", "NAME (scenario 3)"… that none has."""
    longest = _column(Issuer, "name").max_length
    stem = name[: longest - len(" (scenario 99999999)")]  # what every name tried starts with
    taken = set(Issuer.objects.filter(name__startswith=stem).values_list("name", flat=True))
    for n in itertools.count(1):
        suffix = f" (scenario {n})"
        candidate = name if n == 1 else f"{name[: longest - len(suffix)].rstrip()}{suffix}"
        if candidate not in taken:
            with contextlib.suppress(ValidationError):  # unless taken meanwhile, by a scenario kept
                return services.issuer_create(name=candidate)


def _term(n: dict, name: str, *, required: bool = True) -> Decimal | None:
    """A figure of `note`, bounded by the Note column that stores it."""
    return _decimal(n, name, f"note.{name}", column=_column(Note, name), required=required)


# The kinds of event in the order they take effect on one day (servicing-rules.md, "The order of one
# day"): an Event of Default counts from the start of its day, and an insolvency accelerates at step 2,
# before a notice of acceleration is weighed; then payments (4), conversions (5), prepayments (6).
ORDER_OF_ONE_DAY = (
    "covenant_breach",
    "misrepresentation",
    "insolvency",
    "acceleration",
    "payment",
    "conversion",
    "prepayment",
)


@dataclass(frozen=True)
class _Event:
    """An event of the scenario, read: what its service is given, and when it takes effect."""

    path: str  # events[i]: its place in the list as given
    kind: str
    takes_effect: date
    args: dict
    waived_on: date | None = None


def _read_event(note: Note, e, path: str) -> _Event:
    """The event at `path`, refused (naming the field) unless every value has the right form."""
    e = _item(e, path)
    kind = _text(e, "type", f"{path}.type", max_length=MAX_TYPE_CHARS)
    if kind == "payment":
        received_on = _date(e, "date", f"{path}.date")
        amount = _decimal(e, "amount", f"{path}.amount", column=_column(Payment, "amount"))
        return _Event(path, kind, received_on, {"received_on": received_on, "amount": amount})
    if kind in ("conversion", "acceleration", "prepayment"):
        sent, method = _notice(e, path)
        args = {"notice_sent": sent, "method": method}
        if kind == "acceleration":
            return _Event(path, kind, _deemed_received(note, sent, method), args)
        if kind == "conversion":
            args["principal"] = _principal(e, path)
            return _Event(path, kind, _deemed_received(note, sent, method), args)
        args["prepayment_date"] = _date(e, "date", f"{path}.date")
        args["principal"] = _principal(e, path)
        return _Event(path, kind, args["prepayment_date"], args)
    if kind in ("covenant_breach", "misrepresentation", "insolvency"):
        occurred_on = _date(e, "date", f"{path}.date")
        cured_on = _date(e, "cured", f"{path}.cured", required=False) if kind == "covenant_breach" else None
        waived_on = _date(e, "waived", f"{path}.waived", required=False) if kind == "misrepresentation" else None
        args = {
            "kind": {"covenant_breach": "covenant"}.get(kind, kind),
            "occurred_on": occurred_on,
            "cured_on": cured_on,
        }
        return _Event(path, kind, occurred_on, args, waived_on)
    raise ScenarioError(
        f"{path}.type: {_show(kind)} is not one of payment, conversion, prepayment, covenant_breach, "
        "misrepresentation, insolvency, acceleration"
    )


def _deemed_received(note: Note, sent: date, method: str) -> date:
    """The day a notice takes effect (8(b)); for a notice the rules refuse, the day it was sent, so
    that it still has its place in the order (its service refuses it when it is recorded)."""
    try:
        note_terms(note).check_day("notice.sent", sent)
        return engine.notices.deemed_received(sent, method, note.calendar)
    except RuleError:
        return sent


def _record(note: Note, event: _Event) -> None:
    """Record the event as staff would, and approve it with the system approver (four-eyes)."""
    if event.kind == "payment":
        # A payment after as_of is checked, and changes nothing (simulate.md).
        item = services.payment_record(note=note, allow_future=True, **event.args)
    elif event.kind == "conversion":
        item = services.conversion_record(note=note, **event.args)
    elif event.kind == "prepayment":
        item = services.prepayment_record(note=note, **event.args)
    elif event.kind == "acceleration":
        item = services.acceleration_record(note=note, **event.args)
    else:
        default = services.default_record(note=note, **event.args)
        approvals.approve(default, by=approvals.system_approver())
        if event.waived_on is None:
            return
        # Recorded with its event, so that no other event is ever checked against a default
        # longer than the scenario's.
        item = services.waiver_record(event=default, waived_on=event.waived_on)
    approvals.approve(item, by=approvals.system_approver())


# The services' argument names, as simulate.md names the same things in an event.
SCENARIO_FIELDS = {
    "received_on": "date",
    "notice_sent": "notice.sent",
    "method": "notice.method",
    "prepayment_date": "date",
    "occurred_on": "date",
    "cured_on": "cured",
    "waived_on": "waived",
}


class _where:
    """Turns a service's ValidationError into a ScenarioError that says where in the scenario; so
    too a figure the rules let through but its column cannot hold (the shares of a conversion of a
    trillion at a millionth of a dollar a share), which the database refuses with a DataError."""

    def __init__(self, path: str):
        self.path = path

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if isinstance(exc, ValidationError):
            if hasattr(exc, "error_dict"):
                field, errors = next(iter(exc.error_dict.items()))
                field = SCENARIO_FIELDS.get(field, field)
                raise ScenarioError(f"{self.path}.{field}: {errors[0].messages[0]}") from None
            raise ScenarioError(f"{self.path}: {exc.messages[0]}") from None
        if isinstance(exc, DataError):
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ScenarioError(f"{self.path}: a figure is too large to store ({reason})") from None
        return False


def _notice(e: dict, path: str) -> tuple[date, str]:
    notice = _object(e, "notice", f"{path}.notice")
    method = _text(notice, "method", f"{path}.notice.method", max_length=MAX_TYPE_CHARS)
    return _date(notice, "sent", f"{path}.notice.sent"), method


def _principal(e: dict, path: str) -> Decimal | None:
    if e.get("principal") == "all":
        return None
    return _decimal(e, "principal", f"{path}.principal", column=_column(Conversion, "principal_requested"))


# Reading the parsed JSON. Each helper takes an object (a dict) and a key, and refuses, naming the
# path, a value of the wrong type or out of bounds; a missing optional value is None.


def _object(data: dict, key: str, path: str, default: dict | None = None) -> dict:
    value = data.get(key)
    if value is None:
        value = default
    if value is None:
        raise ScenarioError(f"{path}: required, as an object")
    return _item(value, path)


def _item(value, path: str) -> dict:
    if not isinstance(value, dict):
        raise ScenarioError(f"{path}: {_show(value)} must be an object")
    return value


def _list(data: dict, key: str, path: str, most: int, default: list | None = None) -> list:
    value = data.get(key)
    if value is None:
        value = default
    if not isinstance(value, list):
        raise ScenarioError(
            f"{path}: required, as a list" if value is None else f"{path}: {_show(value)} must be a list"
        )
    if len(value) > most:
        raise ScenarioError(f"{path}: {len(value):,} given, at most {most:,}")
    return value


def _text(data: dict, key: str, path: str, *, max_length: int, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if value is None:
        raise ScenarioError(f"{path}: required, as a non-empty string")
    if not isinstance(value, str):
        raise ScenarioError(f"{path}: {_show(value)} must be a string")
    if required and not value.strip():
        raise ScenarioError(f"{path}: required, as a non-empty string")
    if len(value) > max_length:
        raise ScenarioError(f"{path}: at most {max_length} characters, {len(value):,} given")
    # A name or code is one line; the database refuses NUL, and an encoder a lone surrogate.
    if any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in value):
        raise ScenarioError(f"{path}: {_show(value)} must be one line, without control characters")
    return value


def _date(data: dict, key: str, path: str, required: bool = True) -> date | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if value is None:
        raise ScenarioError(f"{path}: required, as a date (YYYY-MM-DD)")
    try:
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise ScenarioError(f"{path}: {_show(value)} is not a date (YYYY-MM-DD)") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ScenarioError(f"{path}: {day} is outside the dates a scenario can name, {EARLIEST_DATE} to {LATEST_DATE}")
    return day


def _decimal(data: dict, key: str, path: str, *, column=None, required: bool = True) -> Decimal | None:
    """A number written as a string, with no more digits than MAX_DIGITS, MAX_PLACES and the
    `column` (a DecimalField) that stores it allow."""
    value = data.get(key)
    if value is None and not required:
        return None
    if value is None:
        raise ScenarioError(f"{path}: required, as a decimal number written as a string")
    if not isinstance(value, str):
        raise ScenarioError(f"{path}: {_show(value)} must be a decimal number written as a string")
    if len(value) > MAX_NUMBER_CHARS:
        raise ScenarioError(f"{path}: {_show(value)} is longer than {MAX_NUMBER_CHARS} characters")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ScenarioError(f"{path}: {_show(value)} is not a decimal number") from None
    if not number.is_finite():
        raise ScenarioError(f"{path}: {_show(value)} is not a finite number")
    digits, places = MAX_DIGITS, MAX_PLACES
    if column is not None:
        digits, places = min(digits, column.max_digits), min(places, column.decimal_places)
    given_whole, given_places = _digits(number)
    if given_places > places:
        raise ScenarioError(f"{path}: {_show(value)} has more than {places} decimal places")
    if given_whole > digits - places:
        raise ScenarioError(f"{path}: {_show(value)} has more than {digits - places} digits before the decimal point")
    return number


def _digits(number: Decimal) -> tuple[int, int]:
    """The digits before and after the point of a finite number; trailing zeros after the point
    and leading zeros count for nothing (0.0750 has three places, 1e3 four digits)."""
    _, figures, exponent = number.as_tuple()
    if not any(figures):
        return 0, 0
    while exponent < 0 and figures[-1] == 0:
        figures, exponent = figures[:-1], exponent + 1
    return max(len(figures) + exponent, 0), max(-exponent, 0)


def _integer(data: dict, key: str, path: str, *, low: int, high: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{path}: {_show(value)} must be a whole number")
    if not low <= value <= high:
        raise ScenarioError(f"{path}: {value} must be from {low} to {high}")
    return value


def _column(model, name: str):
    return model._meta.get_field(name)


def _ceiling(column) -> Decimal:
    """The first number too large for a DecimalField."""
    return Decimal(10) ** (column.max_digits - column.decimal_places)


def _show(value) -> str:
    """A value as an error message quotes it: one line, and short."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


class _LongNumber:
    """A JSON integer of more digits than any figure has; no helper accepts it."""

    def __init__(self, length: int):
        self.length = length

    def __repr__(self) -> str:
        return f"a number of {self.length:,} digits"


def _whole_number(text: str) -> int | _LongNumber:
    # Python refuses to convert an integer of more than 4,300 digits; a figure has at most 20.
    return int(text) if len(text) <= MAX_DIGITS + 1 else _LongNumber(len(text.lstrip("-")))


def _no_constant(name: str):
    raise ScenarioError(f"{name} is not a number (JSON has no NaN or Infinity)")


def _depth(data) -> int:
    """How deep objects and lists nest in `data` (counted without recursion), up to MAX_DEPTH + 1."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, dict | list):
            continue
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return deepest


def _m(amount: Decimal) -> str:
    # + 0 makes a negative zero positive: on SQLite a ledger sum read back as -0.00 (floating point
    # noise below the cent) is still nothing owed.
    return f"{amount + 0:.2f}"
