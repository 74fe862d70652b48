"""What a holder's monthly statement says (product.md, "Statements"), read from the ledger and records.

The statement for month M is made after the close that bills M's interest: its figures are as
of the first day of M+1, when M's last period is billed.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from holders.models import Holder
from notes.models import Approval, Assignment, AssignmentPart, Note
from servicing import engine
from servicing.engine import keys
from servicing.engine.calendar import add_months
from servicing.models import Conversion, LedgerEntry, Payment, Period, Prepayment
from servicing.selectors import ZERO, ledger_sums, note_events, note_terms, payment_applied


@dataclass
class PaymentLine:
    received_on: date
    amount: Decimal
    reference: str
    to_default_interest: Decimal
    to_interest: Decimal
    to_principal: Decimal
    to_costs: Decimal
    to_unapplied: Decimal


@dataclass
class NoteStatement:
    note: Note
    opening_principal: Decimal
    closing_principal: Decimal
    periods: list[Period]
    payments: list[PaymentLine]
    conversions: list[Conversion]
    prepayments: list[Prepayment]
    assigned_out: list[tuple[date, Decimal, str]]  # effective date, principal, assignee
    assigned_in: tuple[date, str] | None  # a substitute note: from when, from which note
    past_due: list[tuple[str, date, Decimal]]  # what, due date, amount
    interest_due: Decimal  # billed, not yet past due (M's bill)
    costs_due: Decimal
    unapplied: Decimal
    conversion_amount: Decimal
    conversion_shares: int

    @property
    def past_due_total(self) -> Decimal:
        return sum((amount for *_, amount in self.past_due), ZERO)


@dataclass
class Statement:
    holder: Holder
    month: date  # its first day
    as_of: date  # the first day of the next month
    notes: list[NoteStatement] = field(default_factory=list)

    @property
    def last_day(self) -> date:
        return self.as_of - timedelta(days=1)


def month_start(d: date) -> date:
    return d.replace(day=1)


def statement_for(holder: Holder, month: date) -> Statement:
    """The holder's statement for `month`: each note the holder held in it, or that still owes them."""
    month = month_start(month)
    as_of = add_months(month, 1)
    statement = Statement(holder=holder, month=month, as_of=as_of)
    for note in Note.objects.filter(holder=holder).select_related("issuer", "parent").order_by("number"):
        if note.first_day <= statement.last_day:
            line = _note_statement(note, month, as_of)
            if line is not None:
                statement.notes.append(line)
    return statement


def _note_statement(note: Note, month: date, as_of: date) -> NoteStatement | None:
    last_day = as_of - timedelta(days=1)
    entries = LedgerEntry.objects.filter(note=note)
    opening = ledger_sums(entries.filter(effective_on__lt=month))["principal"]
    closing = ledger_sums(entries.filter(effective_on__lte=last_day))["principal"]
    result = engine.run(note_terms(note), note_events(note), min(as_of, note_terms(note).last_day), strict=False)
    b = result.balances
    past_due = [(_item_label(i), i.due_date, i.unpaid) for i in result.state.items if i.due_date < as_of]
    if result.state.principal_due_on is not None and result.state.principal_due_on < as_of and b.principal:
        past_due.append(("Principal", result.state.principal_due_on, b.principal))
    in_month = {"note": note, "approval": Approval.APPROVED}
    payments = [
        _payment_line(p)
        for p in Payment.objects.filter(
            **in_month, reversed_at__isnull=True, received_on__gte=month, received_on__lte=last_day
        ).order_by("received_on", "pk")
    ]
    conversions = [
        c
        for c in Conversion.objects.filter(**in_month, status=Conversion.Status.CONVERTED).select_related("notice")
        if month <= c.conversion_date <= last_day
    ]
    prepayments = list(
        Prepayment.objects.filter(
            **in_month, status=Prepayment.Status.PAID, prepayment_date__gte=month, prepayment_date__lte=last_day
        )
    )
    assigned_out = [
        (part.assignment.effective_on, part.principal, part.assignee.name)
        for part in AssignmentPart.objects.filter(
            assignment__in=Assignment.objects.filter(**in_month, effective_on__gte=month, effective_on__lte=last_day)
        ).select_related("assignment", "assignee")
    ]
    assigned_in = None
    if note.parent_id and note.accrues_from and month <= note.accrues_from <= last_day:
        assigned_in = (note.accrues_from, note.parent.number)
    periods = list(Period.objects.filter(note=note, end__gte=month, end__lte=last_day).order_by("start"))
    quiet = not (periods or payments or conversions or prepayments or assigned_out or assigned_in)
    if quiet and not opening and not closing and not past_due and not b.unapplied:
        return None  # nothing held, owed or done this month
    not_yet_due = sum((i.unpaid for i in result.state.items if i.due_date >= as_of and i.account != "costs"), ZERO)
    conversion_amount = b.principal + b.interest_due + b.default_interest_due
    return NoteStatement(
        note=note,
        opening_principal=opening,
        closing_principal=closing,
        periods=periods,
        payments=payments,
        conversions=conversions,
        prepayments=prepayments,
        assigned_out=assigned_out,
        assigned_in=assigned_in,
        past_due=sorted(past_due, key=lambda p: p[1]),
        interest_due=not_yet_due,
        costs_due=b.costs_due,
        unapplied=b.unapplied,
        conversion_amount=conversion_amount,
        conversion_shares=engine.conversion.shares_for(conversion_amount, note.conversion_price)
        if conversion_amount
        else 0,
    )


def _item_label(item) -> str:
    """ "Interest, period from Sep 1, 2026" for a period's bill; "Costs of collection" for costs."""
    if item.account == "costs":
        return "Costs of collection"
    start = keys.period_start(item.key)
    what = "Default interest" if item.account == "default_interest" else "Interest"
    return f"{what}, period from {start:%b} {start.day}, {start.year}"


def _payment_line(p: Payment) -> PaymentLine:
    sums = payment_applied(p)
    return PaymentLine(
        received_on=p.received_on,
        amount=p.amount,
        reference=p.reference,
        to_default_interest=-sums["default_interest"],
        to_interest=-sums["interest"],
        to_principal=-sums["principal"],
        to_costs=-sums["costs"],
        to_unapplied=sums["unapplied"],
    )
