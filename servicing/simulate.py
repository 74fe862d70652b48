"""`manage.py simulate`: replay a scenario through the services and the close job (simulate.md).

Everything is created with the same service functions the staff pages call, posted by the same
close job, and read back from the stored ledger and records.
"""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from holders.services import holder_create
from notes.models import Note
from servicing import approvals, clock, services
from servicing.close import close_books
from servicing.models import Acceleration, Conversion, DefaultPeriod, LedgerEntry, Payment, Period, Prepayment
from servicing.selectors import ledger_sums, note_balances

JOB = "simulate"


class ScenarioError(Exception):
    """A malformed or rule-breaking scenario; the message names where and why."""


def simulate(data: dict) -> tuple[Note, dict]:
    if not isinstance(data, dict):
        raise ScenarioError("the scenario must be a JSON object")
    n = _object(data, "note", "note")
    as_of = _date(data, "as_of", "as_of")
    with clock.pinned(as_of):
        note = _create_note(data, n)
        if as_of < note.agreement_date:
            raise ScenarioError(f"as_of: {as_of} is before the agreement date {note.agreement_date}")
        events = data.get("events", [])
        if not isinstance(events, list):
            raise ScenarioError("events: must be a list")
        for i, event in enumerate(events):
            with _where(f"events[{i}]"):
                _record(note, event, f"events[{i}]")
        run = close_books(through=as_of, note_ids=[note.pk])
        if run.failures:
            raise ScenarioError(f"the close through {as_of} failed: {run.failures[0]['error']}")
    note.refresh_from_db()
    return note, report(note)


def report(note: Note) -> dict:
    """What the ledger and records say of the note, as simulate.md's output."""
    b = note_balances(note)
    payments = []
    for p in Payment.objects.filter(note=note, reversed_at__isnull=True, received_on__lte=note.closed_through):
        sums = ledger_sums(LedgerEntry.objects.filter(note=note, key=f"payment:{p.pk}"))
        payments.append(
            {
                "date": p.received_on.isoformat(),
                "amount": _m(p.amount),
                "to_default_interest": _m(-sums["default_interest"]),
                "to_interest": _m(-sums["interest"]),
                "to_principal": _m(-sums["principal"]),
                "to_costs": _m(-sums["costs"]),
                "to_unapplied": _m(sums["unapplied"]),
            }
        )
    conversions = Conversion.objects.filter(note=note, status=Conversion.Status.CONVERTED).select_related("notice")
    prepayments = Prepayment.objects.filter(note=note, status=Prepayment.Status.PAID).select_related("notice")
    return {
        "conversion_price": f"{note.conversion_price_display:.6f}",
        "prepayment_allowed_from": note.prepayment_allowed_from.isoformat(),
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
                "price": f"{note.conversion_price_display:.6f}",
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
            for d in DefaultPeriod.objects.filter(note=note).order_by("start", "kind")
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
    issuer = services.issuer_for(
        _text(_object(data, "issuer", "issuer", {"name": "Innovo Group Inc."}), "name", "issuer.name")
    )
    h = _object(data, "holder", "holder", {"name": "Scenario holder"})
    with _where("holder"):
        holder = holder_create(name=_text(h, "name", "holder.name"), email=h.get("email") or "", by=None)
    agreement_date = _date(n, "agreement_date", "note.agreement_date")
    price = _decimal(n, "conversion_price", "note.conversion_price", required=False)
    if price is None:
        closes = n.get("reference_closes")
        if not isinstance(closes, list):
            raise ScenarioError("note.reference_closes: give the closing prices, or note.conversion_price")
        for i, c in enumerate(closes):
            path = f"note.reference_closes[{i}]"
            with _where(path):
                services.closing_price_record(
                    issuer=issuer, date=_date(c, "date", f"{path}.date"), close=_decimal(c, "close", f"{path}.close")
                )
    terms = {
        "default_rate_spread": _decimal(n, "default_rate_spread", "note.default_rate_spread", required=False),
        "max_lawful_rate": _decimal(n, "max_lawful_rate", "note.max_lawful_rate", required=False),
        "conversion_premium": _decimal(n, "conversion_premium", "note.conversion_premium", required=False),
        "prepayment_lockout_months": _integer(n, "prepayment_lockout_months", "note.prepayment_lockout_months"),
        "calendar": n.get("calendar"),
    }
    with _where("note"):
        return services.note_create(
            issuer=issuer,
            holder=holder,
            agreement_date=agreement_date,
            maturity_date=_date(n, "maturity_date", "note.maturity_date"),
            principal=_decimal(n, "principal", "note.principal"),
            rate=_decimal(n, "rate", "note.rate"),
            conversion_price=price,
            job=JOB,
            **{k: v for k, v in terms.items() if v is not None},
        )


def _record(note: Note, e: dict, path: str) -> None:
    """Record the event as staff would, and approve it with the system approver (four-eyes)."""
    if not isinstance(e, dict):
        raise ScenarioError(f"{path}: must be an object")
    kind = e.get("type")
    if kind == "payment":
        item = services.payment_record(
            note=note, received_on=_date(e, "date", f"{path}.date"), amount=_decimal(e, "amount", f"{path}.amount")
        )
    elif kind == "conversion":
        sent, method = _notice(e, path)
        item = services.conversion_record(note=note, notice_sent=sent, method=method, principal=_principal(e, path))
    elif kind == "prepayment":
        sent, method = _notice(e, path)
        item = services.prepayment_record(
            note=note,
            notice_sent=sent,
            method=method,
            prepayment_date=_date(e, "date", f"{path}.date"),
            principal=_principal(e, path),
        )
    elif kind in ("covenant_breach", "misrepresentation", "insolvency"):
        occurred_on = _date(e, "date", f"{path}.date")
        cured_on = _date(e, "cured", f"{path}.cured", required=False) if kind == "covenant_breach" else None
        waived_on = _date(e, "waived", f"{path}.waived", required=False) if kind == "misrepresentation" else None
        event = services.default_record(
            note=note,
            kind={"covenant_breach": "covenant"}.get(kind, kind),
            occurred_on=occurred_on,
            cured_on=cured_on,
            job=JOB,
        )
        if waived_on is None:
            return
        item = services.waiver_record(event=event, waived_on=waived_on)
    elif kind == "acceleration":
        sent, method = _notice(e, path)
        item = services.acceleration_record(note=note, notice_sent=sent, method=method)
    else:
        raise ScenarioError(
            f"{path}.type: {kind!r} is not one of payment, conversion, prepayment, covenant_breach, "
            "misrepresentation, insolvency, acceleration"
        )
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
    """Turns a service's ValidationError into a ScenarioError that says where in the scenario."""

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
        return False


def _notice(e: dict, path: str) -> tuple[date, str]:
    notice = _object(e, "notice", f"{path}.notice")
    method = notice.get("method")
    if not isinstance(method, str):
        raise ScenarioError(f"{path}.notice.method: required")
    return _date(notice, "sent", f"{path}.notice.sent"), method


def _principal(e: dict, path: str) -> Decimal | None:
    if e.get("principal") == "all":
        return None
    return _decimal(e, "principal", f"{path}.principal")


def _object(data: dict, key: str, path: str, default=None) -> dict:
    value = data.get(key, default)
    if not isinstance(value, dict):
        raise ScenarioError(f"{path}: required, as an object")
    return value


def _text(data: dict, key: str, path: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"{path}: required, as a non-empty string")
    return value


def _date(data: dict, key: str, path: str, required: bool = True) -> date | None:
    value = data.get(key)
    if value is None and not required:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{path}: {value!r} is not a date (YYYY-MM-DD)") from None


def _decimal(data: dict, key: str, path: str, required: bool = True) -> Decimal | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ScenarioError(f"{path}: {value!r} must be a decimal number written as a string")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ScenarioError(f"{path}: {value!r} is not a decimal number") from None
    if not number.is_finite():
        raise ScenarioError(f"{path}: {value!r} is not a finite number")
    return number


def _integer(data: dict, key: str, path: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{path}: {value!r} must be a whole number")
    return value


def _m(amount: Decimal) -> str:
    return f"{amount:.2f}"
