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
from servicing.month_ends import replay_through
from servicing.selectors import ledger_sums, note_events, note_terms, payment_applied


@dataclass
class PaymentLine:
    reference: str
    applied: engine.PaymentApplied


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
    past_due_total: Decimal
    interest_due: Decimal  # billed, not yet past due (M's bill)
    costs_due: Decimal
    unapplied: Decimal
    conversion_amount: Decimal
    conversion_shares: int


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
    events, terms = note_events(note), note_terms(note)
    # The month's last day, then the statement date itself: a full conversion on the statement date
    # converts what the note owes at the end of the month (conversion_amount); the other figures are
    # as of the statement date.
    month_end = replay_through(note, terms, events, min(last_day, terms.last_day))
    conversion_amount = engine.conversion.conversion_amount(month_end.balances)
    result = engine.run(terms, events, min(as_of, terms.last_day), month_end.state, strict=False)
    b = result.balances
    state = result.state
    past_due = [(_item_label(i), i.due_date, i.unpaid) for i in engine.defaults.past_due_items(state, as_of)]
    if engine.defaults.principal_past_due(state, as_of):
        past_due.append(("Principal", state.principal_due_on, b.principal))
    past_due_total, _ = engine.defaults.past_due(state, as_of)
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
        past_due_total=past_due_total,
        interest_due=engine.defaults.billed_not_due(state, as_of),
        costs_due=b.costs_due,
        unapplied=b.unapplied,
        conversion_amount=conversion_amount,
        conversion_shares=engine.conversion.shares_for(conversion_amount, note.conversion_price)
        if conversion_amount
        else 0,
    )


def _item_label(item) -> str:
    """ "Interest, period from Sep 1, 2026" for a period's bill."""
    start = keys.period_start(item.key)
    what = "Default interest" if item.account == "default_interest" else "Interest"
    return f"{what}, period from {start:%b} {start.day}, {start.year}"


def _payment_line(p: Payment) -> PaymentLine:
    return PaymentLine(reference=p.reference, applied=payment_applied(p))
