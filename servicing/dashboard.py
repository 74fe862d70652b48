"""What the dashboard shows, read in a fixed number of queries whatever the number of notes."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q
from django.db.models.functions import TruncMonth

from notes.models import Approval
from servicing import charts, engine
from servicing.engine.calendar import add_months
from servicing.models import Acceleration, DefaultPeriod, LedgerEntry, Period, Prepayment, Reminder
from servicing.selectors import ZERO, MoneySum, notes_with_balances

LISTED = 20  # rows of a list on the dashboard; the count says how many in all
INTEREST = (LedgerEntry.Account.INTEREST, LedgerEntry.Account.DEFAULT_INTEREST)
COLLECTED = (LedgerEntry.Kind.PAYMENT, LedgerEntry.Kind.UNAPPLIED_APPLIED)


@dataclass
class Dashboard:
    today: date
    principal_outstanding: Decimal
    billed_this_month: Decimal
    collected_this_month: Decimal
    past_due: Decimal
    notes_past_due: int
    in_default: list  # the first LISTED
    in_default_count: int
    maturities: list
    windows: list
    shares_issuable: int
    reminders: list
    interest_chart: str
    principal_chart: str


def dashboard(today: date) -> Dashboard:
    notes = list(notes_with_balances().defer("engine_state").order_by("number"))
    accelerated = dict(Acceleration.objects.values_list("note", "date"))
    live = [n for n in notes if n.principal_outstanding or n.interest_due or n.default_interest_due]
    month = today.replace(day=1)
    this_month = LedgerEntry.objects.filter(effective_on__gte=month, effective_on__lte=today, account__in=INTEREST)
    billed = this_month.filter(kind=LedgerEntry.Kind.BILL).aggregate(t=MoneySum("amount"))["t"]
    collected = -this_month.filter(kind__in=COLLECTED).aggregate(t=MoneySum("amount"))["t"]
    billed_not_due = not_yet_due(today)
    past_due = {n.pk: owed for n in live if (owed := _past_due(n, today, billed_not_due, accelerated))}
    open_defaults = (
        DefaultPeriod.objects.filter(end__isnull=True)
        .select_related("note__holder")
        .defer("note__engine_state")
        .order_by("note__number", "start")
    )
    horizon = today + timedelta(days=90)
    maturities = [n for n in live if today <= n.maturity_date <= horizon and n.principal_outstanding]
    windows = list(
        Prepayment.objects.filter(
            approval=Approval.APPROVED,
            status=Prepayment.Status.SCHEDULED,
            notice__deemed_received_on__lte=today,
            window_end__gte=today,
        )
        .select_related("note__holder", "notice")
        .defer("note__engine_state")
    )
    shares = sum(
        engine.conversion.shares_for(
            n.principal_outstanding + n.interest_due + n.default_interest_due, n.conversion_price
        )
        for n in live
        if n.principal_outstanding
    )
    reminders = list(
        Reminder.objects.filter(created_on__gte=today - timedelta(days=7))
        .select_related("note")
        .defer("note__engine_state")
        .order_by("due_on")
    )
    return Dashboard(
        today=today,
        principal_outstanding=sum((n.principal_outstanding for n in notes), ZERO),
        billed_this_month=billed,
        collected_this_month=collected,
        past_due=sum(past_due.values(), ZERO),
        notes_past_due=len(past_due),
        in_default=list(open_defaults[:LISTED]),
        in_default_count=open_defaults.count(),
        maturities=maturities,
        windows=windows,
        shares_issuable=shares,
        reminders=reminders,
        interest_chart=interest_chart(today),
        principal_chart=principal_chart(today),
    )


def not_yet_due(today: date) -> dict[int, Decimal]:
    """By note: what was billed with a due date still to come."""
    rows = Period.objects.filter(due_date__gte=today).values("note")
    sums = rows.annotate(i=MoneySum("interest"), d=MoneySum("default_interest")).values_list("note", "i", "d")
    return {note: interest + default_interest for note, interest, default_interest in sums}


def _past_due(note, today: date, billed_not_due: dict, accelerated: dict) -> Decimal:
    """What the note has past due, from its ledger balances: payments take the oldest bills first
    (section 1), so what is unpaid beyond the bills not yet due is past due; and principal, once the
    note matured or was accelerated before today."""
    unpaid = note.interest_due + note.default_interest_due
    owed = max(ZERO, unpaid - billed_not_due.get(note.pk, ZERO))
    due = accelerated.get(note.pk) or note.maturity_date
    if due < today:
        owed += note.principal_outstanding
    return owed


def _months(today: date, count: int = 12) -> list[date]:
    first = add_months(today.replace(day=1), -(count - 1))
    return [add_months(first, i) for i in range(count)]


def interest_chart(today: date) -> str:
    months = _months(today)
    rows = (
        LedgerEntry.objects.filter(effective_on__gte=months[0], effective_on__lte=today, account__in=INTEREST)
        .filter(Q(kind=LedgerEntry.Kind.BILL) | Q(kind__in=COLLECTED))
        .annotate(month=TruncMonth("effective_on"))
        .values("month", "kind")
        .annotate(total=MoneySum("amount"))
    )
    billed, collected = defaultdict(Decimal), defaultdict(Decimal)
    for row in rows:
        m = row["month"] if isinstance(row["month"], date) else row["month"].date()
        if row["kind"] == LedgerEntry.Kind.BILL:
            billed[m] += row["total"]
        else:
            collected[m] -= row["total"]
    labels = [f"{m:%b %y}" for m in months]
    series = {"Interest billed": [billed[m] for m in months], "Interest collected": [collected[m] for m in months]}
    return charts.bars(labels, series, "Interest billed and collected by month")


def principal_chart(today: date) -> str:
    months = _months(today)
    principal = LedgerEntry.objects.filter(account=LedgerEntry.Account.PRINCIPAL)
    opening = principal.filter(effective_on__lt=months[0]).aggregate(t=MoneySum("amount"))["t"]
    moves = defaultdict(Decimal)
    rows = principal.filter(effective_on__gte=months[0]).annotate(month=TruncMonth("effective_on"))
    for row in rows.values("month").annotate(total=MoneySum("amount")):
        m = row["month"] if isinstance(row["month"], date) else row["month"].date()
        moves[m] += row["total"]
    running, values = opening, []
    for m in months:
        running += moves[m]
        values.append(running)
    return charts.lines([f"{m:%b %y}" for m in months], {"Principal outstanding": values}, "Principal over time")
