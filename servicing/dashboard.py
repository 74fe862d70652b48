"""What the dashboard shows, read in a fixed number of queries whatever the number of notes."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncMonth

from notes.models import Approval, Note
from servicing import charts, engine
from servicing import reminders as reminding
from servicing.engine.calendar import add_months
from servicing.models import DefaultPeriod, LedgerEntry, Prepayment
from servicing.selectors import BALANCE_COLUMNS, MoneySum, notes_with_balances

LISTED = 20  # rows of a list on the dashboard; the count says how many in all
CHART_SECONDS = 300  # at most this stale (_kept)
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
    maturities: list  # the first LISTED
    maturities_count: int
    maturities_horizon: date
    windows: list
    shares_issuable: int
    reminders: list  # those of the first LISTED open that still hold
    reminders_more: int  # open from this week beyond the first LISTED (not checked here)
    interest_chart: str
    principal_chart: str


def dashboard(today: date) -> Dashboard:
    """The figures from the balances each note row keeps (servicing.posting), added up in the
    database; the lists cut at LISTED rows."""
    totals = Note.objects.aggregate(
        principal_total=MoneySum("principal_outstanding"),
        past_due_total=MoneySum("past_due"),
        past_due_count=Count("pk", filter=Q(past_due__gt=0)),
    )
    month = today.replace(day=1)
    this_month = LedgerEntry.objects.filter(effective_on__gte=month, effective_on__lte=today, account__in=INTEREST)
    billed = this_month.filter(kind=LedgerEntry.Kind.BILL).aggregate(t=MoneySum("amount"))["t"]
    collected = -this_month.filter(kind__in=COLLECTED).aggregate(t=MoneySum("amount"))["t"]
    open_defaults = (
        DefaultPeriod.objects.filter(end__isnull=True)
        .select_related("note__holder")
        .defer("note__engine_state")
        .order_by("note__number", "start")
    )
    horizon = today + timedelta(days=90)
    maturities = notes_with_balances().filter(principal_outstanding__gt=0, maturity_date__range=(today, horizon))
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
    # The first LISTED open from this week, paged in the database; of these, only those whose
    # condition still holds: a payment approved a minute ago has already taken its past-due reminder
    # off (servicing.reminders). The rest are counted, not checked: the reminders page pages them.
    this_week = reminding.open_reminders().filter(created_on__gte=today - timedelta(days=7))
    looked_at = list(this_week.order_by("due_on", "pk")[:LISTED])
    reminders, _ = reminding.holding(looked_at, today)
    reminders_open = this_week.count() if len(looked_at) == LISTED else len(looked_at)
    for r in reminders:
        r.badge = reminding.badge(r, today)
    ledger = f"{today}:{LedgerEntry.objects.aggregate(last=Max('pk'))['last']}"
    return Dashboard(
        today=today,
        principal_outstanding=totals["principal_total"],
        billed_this_month=billed,
        collected_this_month=collected,
        past_due=totals["past_due_total"],
        notes_past_due=totals["past_due_count"],
        in_default=list(open_defaults[:LISTED]),
        in_default_count=open_defaults.count(),
        maturities=list(maturities.order_by("maturity_date", "number")[:LISTED]),
        maturities_count=maturities.count(),
        maturities_horizon=horizon,
        windows=windows,
        shares_issuable=_kept("shares_issuable", ledger, shares_issuable),
        reminders=reminders,
        reminders_more=reminders_open - len(looked_at),
        interest_chart=_kept("interest_chart", ledger, lambda: interest_chart(today)),
        principal_chart=_kept("principal_chart", ledger, lambda: principal_chart(today)),
    )


def shares_issuable() -> int:
    """What converting every note in full the day after its last posted day would issue, each note
    rounded up on its own (4(b)): from the few columns it takes, of the notes with principal."""
    rows = Note.objects.filter(principal_outstanding__gt=0).values_list("conversion_price", *BALANCE_COLUMNS.values())
    return sum(
        engine.conversion.shares_for(
            engine.conversion.conversion_amount(engine.Balances(**dict(zip(BALANCE_COLUMNS, figures, strict=True)))),
            price,
        )
        for price, *figures in rows
    )


def _kept(name: str, ledger: str, figure):
    """A figure that reads every note or a year of the ledger (the shares issuable, the charts), kept
    until another entry is posted (the ledger is append-only, so its last id names what it adds up)
    or for CHART_SECONDS: a close over days without bills changes accrued interest and posts no
    entry, and an entry may commit after one of a higher id."""
    return cache.get_or_set(f"dashboard:{name}:{ledger}", figure, CHART_SECONDS)


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
        .order_by()  # not the entries' ordering, which would join the notes
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
    for row in rows.values("month").annotate(total=MoneySum("amount")).order_by():
        m = row["month"] if isinstance(row["month"], date) else row["month"].date()
        moves[m] += row["total"]
    running, values = opening, []
    for m in months:
        running += moves[m]
        values.append(running)
    return charts.lines([f"{m:%b %y}" for m in months], {"Principal outstanding": values}, "Principal over time")
