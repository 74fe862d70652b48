"""What a holder's monthly statement says (product.md, "Statements"), read from the ledger and records.

**One cut-off.** The statement for month M is dated the first day of M+1 (its statement date), the
day M's interest is billed, and every figure on it is as of the end of that day: balances, past due,
the amount due next, the payoff, what a conversion would give, and the lists of what happened —
interest billed, payments received, conversions, prepayments, assignments. The lists cover the days
after the previous statement date through this one (2 October to 1 November for October's), so
one month's statement begins where the last one ended, no day falls in two and none in neither,
and a payment received on the statement date is both in the balances and in the list of payments.

A servicer's counsel would choose this over balances that leave out a payment received on the
statement date: a statement sent after the money arrived must not state as owed what has been
paid, and it must show every movement behind the balances it states, so that its reconciliation
(opening, billed, paid — to what —, converted, prepaid, assigned, closing) adds up from the
ledger. The statement says so in words.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from holders.models import Holder
from notes.models import Approval, Assignment, AssignmentPart, Note, SupplementalAgreement, Warrant
from servicing import engine
from servicing.engine import keys
from servicing.engine.calendar import add_months
from servicing.engine.money import ZERO
from servicing.models import Acceleration, Conversion, DefaultPeriod, LedgerEntry, Payment, Period, Prepayment
from servicing.month_ends import replay_through
from servicing.quotes import Payoff, payoff_quote
from servicing.selectors import (
    MoneySum,
    ledger_sums,
    note_events,
    note_status,
    note_terms,
    payment_applied,
    payment_split,
    warrant_shares_left,
)
from servicing.words import long_date

ACCOUNTS = ("principal", "interest", "default_interest", "costs", "unapplied")
# The reconciliation's lines between opening and closing: what each kind of ledger key moved, in
# the order of one day (servicing-rules.md) — billed, paid, converted, prepaid, assigned.
MOVEMENTS = (
    ("funding", "Funded"),
    ("period", "Interest billed"),
    ("cost", "Costs of collection billed"),
    ("payment", "Payments received"),
    ("unapplied", "Unapplied funds applied"),
    ("conversion", "Converted into shares"),
    ("prepayment", "Prepaid"),
    ("assignment", "Assigned"),
)
# Interest paid in cash, for the year's total (tax): by payments, by unapplied funds applied, and
# with a prepayment. Interest converted into shares is not paid in cash; the conversion shows it.
PAID_IN_CASH = ("payment", "unapplied", "prepayment")
WARRANT_WARNING_DAYS = 90
DISPUTE_DAYS = 30


@dataclass
class Line:
    """A line of the reconciliation: what each account held, or how much it moved."""

    label: str
    principal: Decimal = ZERO
    interest: Decimal = ZERO
    default_interest: Decimal = ZERO
    costs: Decimal = ZERO
    unapplied: Decimal = ZERO

    @property
    def owed(self) -> Decimal:
        """What the company owes by this line: every account but the unapplied funds it holds."""
        return self.principal + self.interest + self.default_interest + self.costs - self.unapplied

    @property
    def interest_billed(self) -> Decimal:
        return self.interest + self.default_interest

    def add(self, account: str, amount: Decimal) -> None:
        setattr(self, account, getattr(self, account) + amount)

    def __bool__(self) -> bool:
        return any(getattr(self, a) for a in ACCOUNTS)


@dataclass
class PaymentLine:
    reference: str
    applied: engine.PaymentApplied
    shares: list[tuple[str, Decimal, Decimal]]  # (party, share, amount) when participants share it


@dataclass
class PastDueLine:
    due: str  # a date, or "in 2006" for a year's periods grouped
    what: str
    interest: Decimal = ZERO
    default_interest: Decimal = ZERO
    principal: Decimal = ZERO
    year: int | None = None  # a year's periods grouped on one line

    @property
    def total(self) -> Decimal:
        return self.interest + self.default_interest + self.principal


@dataclass
class Status:
    """The note's standing at the cut-off, from the replay's records (DefaultPeriod, Acceleration)."""

    word: str  # current, past due, in default, accelerated, matured, converted, paid, assigned
    text: str  # the sentence shown
    defaults: list[DefaultPeriod] = field(default_factory=list)  # continuing at the cut-off
    accelerated_on: date | None = None
    default_rate: Decimal | None = None


@dataclass
class NoteStatement:
    note: Note
    status: Status
    opening: Line
    movements: list[Line]
    closing: Line
    periods: list[Period]
    payments: list[PaymentLine]
    conversions: list[Conversion]
    prepayments: list[Prepayment]
    assigned_out: list[tuple[date, Decimal, str]]  # effective date, principal, assignee
    assigned_in: tuple[date, str] | None  # a substitute note: from when, from which note
    past_due: list[PastDueLine]
    past_due_total: Decimal
    past_due_since: date | None
    next_due_on: date | None
    next_due_amount: Decimal
    interest_due: Decimal  # billed, not yet due at the cut-off
    interest_paid_this_year: Decimal
    payoff: Payoff | None
    conversion_amount: Decimal
    conversion_shares: int
    successor: list[tuple[str, int]]  # after a supplemental agreement (section 5): (security, units)
    successor_since: date | None
    computed_through: date  # the statement date, or the note's last day when that is earlier (Terms.last_day)

    @property
    def opening_principal(self) -> Decimal:
        return self.opening.principal

    @property
    def closing_principal(self) -> Decimal:
        return self.closing.principal

    @property
    def interest_billed(self) -> Decimal:
        """Interest and default interest billed in the statement's days, before anything paid it."""
        return sum((m.interest_billed for m in self.movements if m.label == "Interest billed"), ZERO)

    @property
    def past_due_grouped(self) -> bool:
        """Are periods of earlier years grouped a line a year?"""
        return any(line.year for line in self.past_due)

    @property
    def payoff_interest(self) -> Decimal:
        b = self.payoff.balances
        return b.interest_due + b.accrued_interest

    @property
    def payoff_default_interest(self) -> Decimal:
        b = self.payoff.balances
        return b.default_interest_due + b.accrued_default_interest

    @property
    def paid(self) -> Decimal:
        """Money received in the statement's days: the payments, whatever they paid."""
        return sum((p.applied.amount for p in self.payments), ZERO)


@dataclass
class WarrantLine:
    warrant: Warrant
    shares_left: int
    expiring_soon: bool


@dataclass
class Servicer:
    """Who services the notes, and how to pay and to dispute a figure (settings)."""

    name: str
    address: str
    phone: str
    email: str
    payment_instructions: str
    dispute_days: int = DISPUTE_DAYS

    @property
    def address_line(self) -> str:
        return ", ".join(line.strip() for line in self.address.splitlines() if line.strip())


def servicer() -> Servicer:
    return Servicer(
        name=settings.SERVICER_NAME,
        address=settings.SERVICER_ADDRESS,
        phone=settings.SERVICER_PHONE,
        email=settings.SERVICER_EMAIL,
        payment_instructions=settings.SERVICER_PAYMENT_INSTRUCTIONS,
    )


@dataclass
class Statement:
    holder: Holder
    month: date  # its first day
    as_of: date  # the statement date: the first day of the next month, the cut-off at its end
    notes: list[NoteStatement] = field(default_factory=list)
    warrants: list[WarrantLine] = field(default_factory=list)
    servicer: Servicer = field(default_factory=servicer)

    @property
    def last_day(self) -> date:
        return self.as_of - timedelta(days=1)

    @property
    def first_day(self) -> date:
        """The first day the statement's lists cover: the day after the previous statement date."""
        return self.month + timedelta(days=1)

    @property
    def payoff_day(self) -> date:
        """The day the payoff and a conversion's figures are for: the day after the cut-off."""
        return self.as_of + timedelta(days=1)

    @property
    def year(self) -> int:
        """The calendar year of the statement's month: its interest paid is this year's."""
        return self.month.year

    @property
    def past_due(self) -> Decimal:
        return sum((n.past_due_total for n in self.notes), ZERO)

    @property
    def due_next(self) -> list[tuple[date, Decimal]]:
        """What falls due next, summed by day, earliest first."""
        by_day: dict[date, Decimal] = defaultdict(Decimal)
        for n in self.notes:
            if n.next_due_on and n.next_due_amount:
                by_day[n.next_due_on] += n.next_due_amount
        return sorted(by_day.items())

    @property
    def interest_paid_this_year(self) -> Decimal:
        return sum((n.interest_paid_this_year for n in self.notes), ZERO)

    @property
    def shared(self) -> bool:
        """Did participants share a payment listed?"""
        return any(p.shares for n in self.notes for p in n.payments)


def month_start(d: date) -> date:
    return d.replace(day=1)


def statement_date(month: date) -> date:
    """The statement date of `month`'s statement: the first day of the next month."""
    return add_months(month_start(month), 1)


def notes_to_report(month: date, holder: Holder | None = None):
    """The notes (of `holder`, or of anyone) with something to report in `month`'s statement: a
    balance at the cut-off in any account (principal, interest, default interest, costs, unapplied
    funds), or a ledger entry in the statement's days. The statement run sends statements to the
    holders of these notes only, and a statement lists only these: a holder with none gets no
    statement and no e-mail. Sums are in whole cents (MoneySum), so a sum of reversed entries that
    is "-0.00" is nothing."""
    month = month_start(month)
    as_of = statement_date(month)
    entries = LedgerEntry.objects.filter(effective_on__lte=as_of)
    notes = Note.objects.all()
    if holder is not None:
        entries, notes = entries.filter(note__holder=holder), notes.filter(holder=holder)
    active = entries.filter(effective_on__gt=month).values("note")
    owing = entries.values("note", "account").annotate(total=MoneySum("amount")).exclude(total=0).values("note")
    return notes.filter(Q(pk__in=owing) | Q(pk__in=active))


def statement_for(holder: Holder, month: date) -> Statement:
    """The holder's statement for `month`: each of the holder's notes with something to report
    (`notes_to_report`), and the holder's warrants outstanding."""
    month = month_start(month)
    as_of = statement_date(month)
    statement = Statement(holder=holder, month=month, as_of=as_of)
    notes = notes_to_report(month, holder).select_related("issuer", "parent").order_by("number")
    statement.notes = [_note_statement(note, statement) for note in notes]
    if statement.notes:
        statement.warrants = _warrants(holder, as_of)
    return statement


def _note_statement(note: Note, statement: Statement) -> NoteStatement:
    month, as_of = statement.month, statement.as_of
    entries = LedgerEntry.objects.filter(note=note)
    opening = Line("Opening balance", **ledger_sums(entries.filter(effective_on__lte=month)))
    closing = Line("Closing balance", **ledger_sums(entries.filter(effective_on__lte=as_of)))
    moved: dict[str, Line] = {kind: Line(label) for kind, label in MOVEMENTS}
    billed_starts = set()
    window = entries.filter(effective_on__gt=month, effective_on__lte=as_of)
    for key, account, amount in window.values_list("key", "account", "amount"):
        kind, value = keys.parse(key)
        moved[kind].add(account, amount)
        if kind == "period":
            billed_starts.add(date.fromisoformat(value))
    movements = [line for line in moved.values() if line]

    events, terms = note_events(note), note_terms(note)
    cut_off = min(as_of, terms.last_day)
    # The month's last day from the state posting kept, then the statement date itself.
    month_end = replay_through(note, terms, events, min(as_of - timedelta(days=1), cut_off))
    result = engine.run(terms, events, cut_off, month_end.state, strict=False)
    b, state = result.balances, result.state
    day_after = cut_off + timedelta(days=1)

    in_window = {"note": note, "approval": Approval.APPROVED}
    payments = [
        _payment_line(p)
        for p in Payment.objects.filter(
            **in_window, reversed_at__isnull=True, received_on__gt=month, received_on__lte=as_of
        )
        .select_related("note__holder")
        .order_by("received_on", "pk")
    ]
    conversions = [
        c
        for c in Conversion.objects.filter(**in_window, status=Conversion.Status.CONVERTED).select_related("notice")
        if month < c.conversion_date <= as_of
    ]
    prepayments = list(
        Prepayment.objects.filter(
            **in_window, status=Prepayment.Status.PAID, prepayment_date__gt=month, prepayment_date__lte=as_of
        )
    )
    assigned_out = [
        (part.assignment.effective_on, part.principal, part.assignee.name)
        for part in AssignmentPart.objects.filter(
            assignment__in=Assignment.objects.filter(**in_window, effective_on__gt=month, effective_on__lte=as_of)
        ).select_related("assignment", "assignee")
    ]
    assigned_in = None
    if note.parent_id and note.accrues_from and note.accrues_from <= as_of:  # said on every statement
        assigned_in = (note.accrues_from, note.parent.number)
    periods = list(Period.objects.filter(note=note, start__in=billed_starts).order_by("start"))
    conversion_amount = engine.conversion.conversion_amount(b)
    conversion_shares = (
        engine.conversion.shares_for(conversion_amount, note.conversion_price) if conversion_amount else 0
    )
    successor, successor_since = _successor(note, as_of, conversion_shares)
    return NoteStatement(
        note=note,
        status=_status(note, b, as_of, closing),
        opening=opening,
        movements=movements,
        closing=closing,
        periods=periods,
        payments=payments,
        conversions=conversions,
        prepayments=prepayments,
        assigned_out=assigned_out,
        assigned_in=assigned_in,
        past_due=_past_due_lines(state, day_after, statement.year),
        past_due_total=b.past_due,
        past_due_since=b.past_due_since,
        next_due_on=b.next_due_on,
        next_due_amount=b.next_due_amount,
        interest_due=engine.defaults.billed_not_due(state, day_after),
        interest_paid_this_year=_interest_paid(entries, statement.year, as_of),
        payoff=payoff_quote(note, day_after, state=state, events=events) if closing.owed > 0 else None,
        conversion_amount=conversion_amount,
        conversion_shares=conversion_shares,
        successor=successor,
        successor_since=successor_since,
        computed_through=cut_off,
    )


def _status(note: Note, b: engine.Balances, as_of: date, closing: Line) -> Status:
    """The note's standing at the end of the statement date (selectors.note_status: the one rule the
    notes list reads too), with the sentence a holder reads."""
    standing = note_status(as_of, held=bool(closing), principal=bool(closing.principal), past_due=bool(b.past_due))
    word = Note.objects.filter(pk=note.pk).annotate(word=standing).values_list("word", flat=True).get()
    rate = engine.defaults.default_rate(note.rate, note.default_rate_spread, note.max_lawful_rate)
    continuing = [
        d for d in DefaultPeriod.objects.filter(note=note, start__lte=as_of) if d.end is None or d.end > as_of
    ]
    if word == "converted":
        converted = note.conversions.filter(status=Conversion.Status.CONVERTED, approval=Approval.APPROVED)
        day = max(c.conversion_date for c in converted.select_related("notice") if c.conversion_date <= as_of)
        return Status(word, f"Converted on {long_date(day)}: nothing is owed.")
    if word == "paid":
        prepaid = note.prepayments.filter(status=Prepayment.Status.PAID).exists()
        return Status(word, "Prepaid: nothing is owed." if prepaid else "Paid: nothing is owed.")
    if word == "assigned":
        return Status(word, "Assigned in full: nothing is owed to you on this note.")
    if word == "accelerated":
        day = Acceleration.objects.get(note=note).date
        text = f"Accelerated on {long_date(day)}: all principal and interest became due that day."
        return Status(word, text, continuing, day, rate)
    if word == "matured":
        text = f"Matured on {long_date(note.maturity_date)}: all principal is due."
        return Status(word, text, continuing, None, rate)
    if word == "in default":
        since = min(d.start for d in continuing)
        what = ", ".join(sorted({d.get_kind_display() for d in continuing}))
        return Status(word, f"In default since {long_date(since)}: {what}.", continuing, None, rate)
    if word == "past due":
        due = b.past_due_since - timedelta(days=1)  # the first day past due is the day after the due date
        return Status(word, f"Past due: unpaid since its due date, {long_date(due)}.", [], None, rate)
    return Status("current", "Current: nothing is past due.")


def _past_due_lines(state: engine.State, on: date, year: int) -> list[PastDueLine]:
    """What is past due as day `on` begins: each period due in the statement's year on a line of
    its own, the periods of each earlier year on one line with their count and sum, and principal."""
    by_period: dict[str, PastDueLine] = {}
    by_year: dict[int, PastDueLine] = {}
    counted: dict[int, set[str]] = defaultdict(set)
    for item in engine.defaults.past_due_items(state, on):
        if item.due_date.year < year:
            line = by_year.setdefault(
                item.due_date.year, PastDueLine(f"in {item.due_date.year}", "", year=item.due_date.year)
            )
            counted[item.due_date.year].add(item.key)
        else:
            start = keys.period_start(item.key)
            what = f"{start:%B %Y}" if start.day == 1 else f"From {_short(start)}"  # a whole month, or a stub
            line = by_period.setdefault(item.key, PastDueLine(_short(item.due_date), what))
        if item.account == "default_interest":
            line.default_interest += item.unpaid
        else:
            line.interest += item.unpaid
    for y, line in by_year.items():
        n = len(counted[y])
        line.what = f"{n} interest period{'s' if n != 1 else ''}"
    lines = [by_year[y] for y in sorted(by_year)] + [by_period[k] for k in sorted(by_period, key=keys.period_start)]
    if engine.defaults.principal_past_due(state, on):
        lines.append(PastDueLine(_short(state.principal_due_on), "Principal", principal=state.principal))
    return lines


def _interest_paid(entries, year: int, as_of: date) -> Decimal:
    """Interest and default interest paid in cash in `year`, through the cut-off (PAID_IN_CASH)."""
    rows = entries.filter(
        effective_on__gte=date(year, 1, 1),
        effective_on__lte=min(as_of, date(year, 12, 31)),
        account__in=(LedgerEntry.Account.INTEREST, LedgerEntry.Account.DEFAULT_INTEREST),
    )
    paid = ZERO
    for key, amount in rows.values_list("key", "amount"):
        if keys.parse(key)[0] in PAID_IN_CASH:
            paid -= amount
    return paid


def _successor(note: Note, as_of: date, shares: int) -> tuple[list[tuple[str, int]], date | None]:
    """After a supplemental agreement (section 5): what a full conversion now delivers, each security
    counted by engine.conversion.successor_units from the `shares` the amount converts into."""
    agreement = (
        SupplementalAgreement.objects.filter(notes=note, effective_on__lte=as_of)
        .select_related("action")
        .order_by("effective_on", "pk")
        .last()
    )
    if agreement is None:
        return [], None
    units = [
        (s.name, engine.conversion.successor_units(shares, s.per_share)) for s in agreement.action.securities.all()
    ]
    return units, agreement.effective_on


def _warrants(holder: Holder, as_of: date) -> list[WarrantLine]:
    """The holder's warrants still exercisable at the cut-off; one expiring within 90 days is flagged."""
    lines = []
    for w in Warrant.objects.filter(holder=holder, expires_on__gte=as_of).select_related("issuer").order_by("number"):
        left = warrant_shares_left(w)
        if left > 0:
            lines.append(WarrantLine(w, left, (w.expires_on - as_of).days <= WARRANT_WARNING_DAYS))
    return lines


def _payment_line(p: Payment) -> PaymentLine:
    split = payment_split(p)
    shares = [(party.name, share, amount) for party, share, amount in split] if len(split) > 1 else []
    return PaymentLine(reference=p.reference, applied=payment_applied(p), shares=shares)


def _short(d: date) -> str:
    return f"{d:%b} {d.day}, {d.year}"
