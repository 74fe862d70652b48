"""Reads that span relations: a note's events for the engine, balances from the ledger."""

import dataclasses
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import Decimal

from django.db.models import BooleanField, Case, CharField, Exists, F, OuterRef, Q, Sum, Value, When

from notes.fields import ExactDecimalField
from notes.models import Approval, Assignment, AssignmentPart, Note, Participation, Warrant
from servicing import engine
from servicing.engine import keys
from servicing.engine.money import split_largest_remainder, to_cents
from servicing.models import (
    Acceleration,
    AccelerationNotice,
    CollectionCost,
    Conversion,
    Cure,
    DefaultEvent,
    DefaultPeriod,
    LedgerEntry,
    Payment,
    PaymentReversal,
    Prepayment,
    Waiver,
)

APPROVED = Approval.APPROVED

ZERO = Decimal("0.00")


class SummedMoney(ExactDecimalField):
    """What MoneySum gives. On SQLite the database adds whole cents, so a filter on the sum
    (`principal_outstanding__gt=0`) is compared in cents too."""

    def get_db_prep_value(self, value, connection, prepared=False):
        if connection.vendor != "sqlite":
            return super().get_db_prep_value(value, connection, prepared)
        cents = self.to_python(value if prepared else self.get_prep_value(value)) * 100
        return int(cents) if cents == cents.to_integral_value() else float(cents)


class MoneySum(Sum):
    """A sum of a money column, to the cent, zero when there is nothing to add.

    Exact on every database. On SQLite, whose SUM of decimals goes through floating point, each
    amount's cents are added as whole numbers: the column's text has exactly two places
    (notes.fields), so without its point it is the amount in cents.
    """

    output_field = SummedMoney(max_digits=20, decimal_places=2)

    def as_sql(self, compiler, connection, **extra_context):
        column = self.get_source_expressions()[0]
        field = getattr(column, "target", None)
        if not (isinstance(field, ExactDecimalField) and field.decimal_places == 2):
            raise TypeError(f"MoneySum adds a money column, not {column}")
        return super().as_sql(compiler, connection, **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        in_cents = self.copy()
        in_cents.template = "SUM(CAST(REPLACE(%(expressions)s, '.', '') AS INTEGER))"
        return in_cents.as_sql(compiler, connection, **extra_context)

    def convert_value(self, value, expression, connection):
        if value is None:
            return ZERO
        if connection.vendor == "sqlite":
            return Decimal(value).scaleb(-2)
        return to_cents(value)


def note_terms(note: Note) -> engine.Terms:
    """The note's terms as the engine reads them."""
    return engine.Terms(
        agreement_date=note.agreement_date,
        maturity_date=note.maturity_date,
        principal=note.principal,
        rate=note.rate,
        conversion_price=note.conversion_price,
        default_rate_spread=note.default_rate_spread,
        max_lawful_rate=note.max_lawful_rate,
        prepayment_lockout_months=note.prepayment_lockout_months,
        calendar=note.calendar,
        accrues_from=note.accrues_from,
    )


def conversion_price_display(note: Note) -> Decimal:
    """The conversion price as pages and documents show it."""
    return engine.conversion.price_display(note.conversion_price)


def events_by_note(notes: list[Note], *, full_ids: set[int]) -> dict[int, list[engine.Event]]:
    """The approved engine events of each note; payments only after `closed_through` unless the note
    replays in full. What awaits approval, or was rejected, changes nothing."""
    ids = [n.pk for n in notes]
    events: dict[int, list[engine.Event]] = defaultdict(list)
    new_payments = (
        Q(note__in=full_ids) | Q(note__closed_through__isnull=True) | Q(received_on__gt=F("note__closed_through"))
    )
    payments = Payment.objects.filter(new_payments, note__in=ids, approval=APPROVED, reversed_at__isnull=True)
    for p in payments.order_by("received_on", "pk"):
        events[p.note_id].append(payment_event(p))
    approved = {"note__in": ids, "approval": APPROVED}
    for c in Conversion.objects.filter(**approved).select_related("notice").order_by("pk"):
        events[c.note_id].append(conversion_event(c))
    for p in Prepayment.objects.filter(**approved).select_related("notice").order_by("pk"):
        events[p.note_id].append(prepayment_event(p))
    for a in AccelerationNotice.objects.filter(**approved).select_related("notice").order_by("pk"):
        events[a.note_id].append(engine.AccelerationNotice(str(a.pk), a.notice.sent_on, a.notice.deemed_received_on))
    for d in DefaultEvent.objects.filter(**approved).prefetch_related("waivers", "cures").order_by("pk"):
        events[d.note_id].append(default_event(d))
    for c in CollectionCost.objects.filter(**approved).order_by("pk"):
        events[c.note_id].append(engine.Cost(str(c.pk), c.billed_on, c.amount))
    assignments = Assignment.objects.filter(**approved).annotate(principal_assigned=MoneySum("parts__principal"))
    for a in assignments.order_by("pk"):
        events[a.note_id].append(engine.Assignment(str(a.pk), a.effective_on, a.principal_assigned))
    return events


# The kind of a ledger key, the rows approved for it, and the key of a row.
APPROVED_FOR = {
    "payment": (Payment, keys.payment),
    "conversion": (Conversion, keys.conversion),
    "prepayment": (Prepayment, keys.prepayment),
    "cost": (CollectionCost, keys.cost),
    "assignment": (Assignment, keys.assignment),
}


def approvers_of(wanted: dict[int, set[str]]) -> dict[int, dict[str, int]]:
    """Who approved what each ledger key is for, by note ({keys.payment(12): user id}), for the keys
    `wanted` of each note; one query per kind of key, whatever the number of notes."""
    refs: dict[str, set[int]] = defaultdict(set)
    for note_keys in wanted.values():
        for key in note_keys:
            kind, ref = keys.parse(key)
            if kind in APPROVED_FOR:
                refs[kind].add(int(ref))
    approvers: dict[int, dict[str, int]] = defaultdict(dict)
    for kind, pks in refs.items():
        model, key = APPROVED_FOR[kind]
        rows = model.objects.filter(pk__in=pks, approval=APPROVED)
        for note_id, pk, user_id in rows.values_list("note_id", "pk", "decided_by_id"):
            approvers[note_id][key(pk)] = user_id
    funded = [note_id for note_id, note_keys in wanted.items() if keys.FUNDING in note_keys]
    if funded:
        parts = AssignmentPart.objects.filter(substitute__in=funded)
        for note_id, user_id in parts.values_list("substitute_id", "assignment__decided_by_id"):
            approvers[note_id][keys.FUNDING] = user_id
    return approvers


_KEPT: ContextVar[dict | None] = ContextVar("kept_events", default=None)


@contextmanager
def events_kept():
    """Within it, `note_events` reads each note's approved events once. Only for a run that records
    nothing approved (an import of payments, each awaiting approval): what awaits approval is not an
    event, so each row is still checked against exactly the events the form would check it against."""
    token = _KEPT.set({})
    try:
        yield
    finally:
        _KEPT.reset(token)


def note_events(note: Note) -> list[engine.Event]:
    kept = _KEPT.get()
    if kept is None:
        return events_by_note([note], full_ids={note.pk})[note.pk]
    if note.pk not in kept:
        kept[note.pk] = events_by_note([note], full_ids={note.pk})[note.pk]
    return list(kept[note.pk])


# The engine event of each row, approved or not (the what-if includes a pending one if asked).
def payment_event(p: Payment) -> engine.Payment:
    return engine.Payment(str(p.pk), p.received_on, p.amount)


def conversion_event(c: Conversion) -> engine.Conversion:
    n = c.notice
    return engine.Conversion(str(c.pk), n.sent_on, n.deemed_received_on, c.principal_requested)


def prepayment_event(p: Prepayment) -> engine.Prepayment:
    n = p.notice
    return engine.Prepayment(str(p.pk), n.sent_on, n.deemed_received_on, p.prepayment_date, p.principal_requested)


def default_event(d: DefaultEvent) -> engine.Event:
    if d.kind == DefaultEvent.Kind.COVENANT:
        return engine.CovenantBreach(str(d.pk), d.occurred_on, d.ended_on)
    if d.kind == DefaultEvent.Kind.MISREPRESENTATION:
        return engine.Misrepresentation(str(d.pk), d.occurred_on, d.ended_on)
    return engine.Insolvency(str(d.pk), d.occurred_on)


def ledger_sums(entries) -> dict[str, Decimal]:
    sums = {a: ZERO for a in LedgerEntry.Account.values}
    for row in entries.values("account").annotate(total=MoneySum("amount")):
        sums[row["account"]] = row["total"]
    return sums


def note_balances(note: Note) -> engine.Balances:
    """Balances at the end of the note's last posted day, each account summed from its ledger."""
    sums = ledger_sums(LedgerEntry.objects.filter(note=note))
    return dataclasses.replace(
        row_balances(note),
        principal=sums["principal"],
        interest_due=sums["interest"],
        default_interest_due=sums["default_interest"],
        costs_due=sums["costs"],
        unapplied=sums["unapplied"],
    )


# The note row's column for each figure of engine.Balances: servicing.posting keeps them there
# (Note.POSTED, beside the state); the rest have the figure's name.
BALANCE_COLUMNS = {"as_of": "closed_through", "principal": "principal_outstanding"} | {
    name: name for name in Note.POSTED if name not in ("closed_through", "principal_outstanding", "engine_state")
}


def row_balances(note) -> engine.Balances:
    """The balances the note row keeps (no query of its own)."""
    return engine.Balances(**{name: getattr(note, column) for name, column in BALANCE_COLUMNS.items()})


def notes_with_balances():
    """Notes with their holder and issuer; the balances are the note row's own columns (posting), and
    `status` their standing at the end of the last posted day (note_status)."""
    return Note.objects.select_related("holder", "issuer").defer("engine_state").annotate(status=note_status())


# A note's standing, in the order note_status tests them, as statements and the notes list word it.
STATUSES = [
    ("accelerated", "Accelerated"),
    ("matured", "Matured"),
    ("in default", "In default"),
    ("past due", "Past due"),
    ("current", "Current"),
    ("converted", "Converted"),
    ("paid", "Repaid"),
    ("assigned", "Assigned"),
]


def note_status(day: date | None = None, *, held=None, principal=None, past_due=None) -> Case:
    """The standing of a note at the end of `day`, as a database expression on a Note queryset, in the
    order a holder needs it: accelerated or matured (all principal is due), then an Event of Default
    continuing, then past due, else current; a note that holds nothing says how it ended (converted,
    prepaid or paid, assigned in full).

    With no `day`, the note row's own: its balances at the end of its last posted day (closed_through).
    A statement for an earlier day passes what its ledger held that day (`held`: anything at all;
    `principal`: principal outstanding; `past_due`: anything past due), each a bool.
    """
    note = OuterRef("pk")
    on = OuterRef("closed_through") if day is None else day
    if day is None:
        held = ~Q(principal_outstanding=0, interest_due=0, default_interest_due=0, costs_due=0, unapplied=0)
        principal, past_due = Q(principal_outstanding__gt=0), Q(past_due__gt=0)
    else:
        held, principal, past_due = (Value(bool(v), output_field=BooleanField()) for v in (held, principal, past_due))
    continuing = DefaultPeriod.objects.filter(Q(end__isnull=True) | Q(end__gt=on), note=note, start__lte=on)
    approved = {"note": note, "approval": APPROVED}
    converted = Conversion.objects.filter(**approved, status=Conversion.Status.CONVERTED)
    matured = Q(maturity_date__lte=F("closed_through") if day is None else day) & principal
    word = Case(
        When(held & Exists(Acceleration.objects.filter(note=note, date__lte=on)), then=Value("accelerated")),
        When(held & matured, then=Value("matured")),
        When(held & Exists(continuing), then=Value("in default")),
        When(held & past_due, then=Value("past due")),
        When(held, then=Value("current")),
        When(Exists(converted.filter(notice__deemed_received_on__lte=on)), then=Value("converted")),
        When(Exists(Prepayment.objects.filter(note=note, status=Prepayment.Status.PAID)), then=Value("paid")),
        When(Exists(Assignment.objects.filter(**approved)), then=Value("assigned")),
        default=Value("paid"),
        output_field=CharField(),
    )
    if day is None:  # nothing posted yet: nothing is due
        return Case(When(closed_through__isnull=True, then=Value("current")), default=word)
    return word


def notes_owing_on(day):
    """The ids of notes whose ledger at the end of `day` owes principal or interest, or holds
    unapplied funds."""
    acct = LedgerEntry.Account
    accounts = (acct.PRINCIPAL, acct.INTEREST, acct.DEFAULT_INTEREST, acct.UNAPPLIED)
    totals = LedgerEntry.objects.filter(effective_on__lte=day, account__in=accounts).values("note", "account")
    return totals.annotate(total=MoneySum("amount")).exclude(total=0).values("note")


def payment_split(payment: Payment) -> list[tuple[object, Decimal, Decimal]]:
    """(holder or participant, share, amount) for each party to a payment (8(j)): the participants
    active on the day it was received, and the holder of record with the rest, split to the cent by
    the largest-remainder method so that the parts add up to the payment."""
    note = payment.note
    day = payment.received_on
    participations = [
        p for p in note.participations.select_related("participant").order_by("starts_on", "pk") if p.active_on(day)
    ]
    shares = [Decimal(1) - sum((p.share for p in participations), Decimal(0))]
    shares += [p.share for p in participations]
    parties = [note.holder] + [p.participant for p in participations]
    amounts = split_largest_remainder(payment.amount, shares)
    return [(party, share, amount) for party, share, amount in zip(parties, shares, amounts, strict=True) if share]


def participation_shares(note: Note, *, starts_on, exclude=None) -> Decimal:
    """The largest total share of approved participations in the note on any day from `starts_on`."""
    rows = [
        p
        for p in Participation.objects.filter(note=note, approval=APPROVED).exclude(pk=getattr(exclude, "pk", None))
        if p.ends_on is None or p.ends_on > starts_on
    ]
    days = {starts_on} | {p.starts_on for p in rows if p.starts_on > starts_on}
    return max((sum((p.share for p in rows if p.active_on(d)), Decimal(0)) for d in days), default=Decimal(0))


def warrant_shares_left(warrant: Warrant) -> int:
    """Shares still exercisable: the warrant's, less what approved exercises and assignments took."""
    exercised = warrant.exercises.filter(approval=APPROVED).aggregate(n=Sum("shares"))["n"] or 0
    assigned = warrant.assignments.filter(approval=APPROVED).aggregate(n=Sum("shares"))["n"] or 0
    return warrant.shares - exercised - assigned


def pending_for_note(note: Note) -> list:
    """What awaits a second user's approval on the note, oldest first."""
    pending = Approval.PENDING
    items = [
        item
        for model in (Payment, Conversion, Prepayment, AccelerationNotice, CollectionCost, Assignment, Participation)
        for item in model.objects.filter(note=note, approval=pending).select_related("recorded_by")
    ]
    items += DefaultEvent.objects.filter(note=note, approval=pending).select_related("recorded_by")
    for model in (Waiver, Cure):
        items += model.objects.filter(default_event__note=note, approval=pending).select_related("recorded_by")
    items += PaymentReversal.objects.filter(payment__note=note, approval=pending).select_related("recorded_by")
    return sorted(items, key=lambda item: item.recorded_at)


def payment_applied(payment: Payment) -> engine.PaymentApplied:
    """How a payment was applied when received, by account, from its ledger entries (what it took
    off each account, and what it added to unapplied funds)."""
    sums = ledger_sums(LedgerEntry.objects.filter(note_id=payment.note_id, key=keys.payment(payment.pk)))
    paid_to = {account: -amount for account, amount in sums.items() if account != "unapplied"}
    return engine.waterfall.split(str(payment.pk), payment.received_on, payment.amount, paid_to, sums["unapplied"])


@dataclasses.dataclass(frozen=True)
class DefaultOnDay:
    """An Event of Default (or a covenant breach still within its cure period) as it stands on a day."""

    kind: str  # payment, covenant, insolvency, misrepresentation
    began_on: date | None  # the first day it is an Event of Default; None for a breach in its cure period
    ended_on: date | None  # the first day it no longer continues, if that is on or before the day
    how_ended: str = ""  # cured, waived
    occurred_on: date | None = None  # a recorded default: the day of the breach, insolvency or misrepresentation
    cure_deadline: date | None = None  # a covenant breach: the last day of its cure period (7(a)(ii))
    description: str = ""


def defaults_on(note: Note, terms: engine.Terms, result: engine.Result, day: date) -> list[DefaultOnDay]:
    """Every default of `note` begun by the end of `day`, as `result` (the note replayed through
    `day`) and the approved records give it: payment defaults from the replay, the others from their
    records, each span by the engine's rule (engine.defaults.event_of_default_spans). A breach cured
    within its cure period was never an Event of Default and is left out; one still within it on
    `day` is given with no `began_on`."""
    found = [
        DefaultOnDay("payment", d.start, d.end, "cured" if d.end else "")
        for d in result.defaults
        if d.kind == "payment" and d.start <= day
    ]
    records = DefaultEvent.objects.filter(note=note, approval=APPROVED, occurred_on__lte=day)
    for record in records.prefetch_related("waivers", "cures").order_by("occurred_on", "pk"):
        deadline = record.cure_deadline
        spans = engine.defaults.event_of_default_spans(terms, [default_event(record)])
        if not spans:
            continue  # cured within its cure period: never an Event of Default
        kind, start, end = spans[0]
        if start > day:
            if end is None or end > day:
                found.append(DefaultOnDay(kind, None, None, "", record.occurred_on, deadline, record.description))
            continue
        ended = end if end is not None and end <= day else None
        waived = {w.waived_on for w in record.waivers.all() if w.is_approved}
        how = ("waived" if ended in waived else "cured") if ended else ""
        found.append(DefaultOnDay(kind, start, ended, how, record.occurred_on, deadline, record.description))
    return sorted(found, key=lambda d: (d.began_on or d.occurred_on, d.kind))
