"""A note's ledger as an auditor reads it: each entry in words, with the balance of its account after
it, the page on which what it comes from is shown, and the corrections a replay posted grouped.

The running balance is a window sum in the database (never a sum in Python over the note's entries):
a page of 25 entries costs the same whether the note has thirty entries or thirty thousand.

A re-posting: a full replay (posting._entries) reverses the entries it no longer produces and posts
their replacements in one statement, every row with the same `posted_at`, `posted_by` and `job`. So
the entries of one key (one payment, one period…) posted at one `posted_at` that include a reversal
are one correction of that payment or period: its reversals and its replacements. Those that take
effect on one day are the group shown collapsed (a period split in two by a backdated default is
re-posted on two days: two groups); nothing else is grouped (a batch that reversed nothing is
ordinary posting, and so is a key the replay posts for the first time).

The ledger's order is the day an entry takes effect; within a day, what was posted in the ordinary
course (in the order it was posted) and then each re-posting, in the order it was posted, its
entries together. The running balance follows the same order, so the balance after the last entry
of an account is the account's sum: the note's balances card (verify_ledger).
"""

from dataclasses import dataclass, field
from datetime import date, datetime

import django_filters
from django.db.models import Case, Count, Exists, F, Min, OuterRef, Q, Value, When, Window
from django.db.models.expressions import RowRange
from django.utils import timezone

from servicing.engine import keys
from servicing.models import LedgerEntry
from servicing.selectors import MoneySum

REVERSAL = LedgerEntry.Kind.REVERSAL

# The kinds of key whose record has a row on the note's page, and that row's id ("payment-12").
ON_THE_NOTE_PAGE = ("payment", "period", "conversion", "prepayment")


def source_anchor(key: str) -> str:
    """The id of the row of the note's page that shows what a ledger key is for ("payment-12",
    "period-2026-10-01"), or "" when the page has none (funding, costs…)."""
    kind, ref = keys.parse(key)
    return f"{kind}-{ref}" if kind in ON_THE_NOTE_PAGE and ref else ""


class RunningMoney(Window):
    """MoneySum over a window: exact to the cent on every database, as MoneySum is."""

    def __init__(self, expression, **kwargs):
        super().__init__(MoneySum(expression), frame=RowRange(start=None, end=0), **kwargs)

    def as_sqlite(self, compiler, connection, **extra_context):
        # Not Django's: it reads a decimal window through a float. MoneySum adds whole cents.
        return self.as_sql(compiler, connection, **extra_context)

    convert_value = MoneySum.convert_value


def ledger_order():
    """The ledger's order (see the module's docstring), for the listing and the running balance."""
    reposted = F("reposted")
    return [
        F("effective_on").asc(),
        reposted.asc(),
        F("posted_at").asc(),
        Case(When(reposted=True, then=F("key")), default=Value("")).asc(),
        F("pk").asc(),
    ]


def ledger_entries(note):
    """The note's entries in ledger order, each with `balance` (its account's balance after it, with
    the sign of the balances card) and `reposted` (it belongs to a re-posting)."""
    reversal_beside = LedgerEntry.objects.filter(
        note=OuterRef("note"), posted_at=OuterRef("posted_at"), key=OuterRef("key"), kind=REVERSAL
    )
    entries = LedgerEntry.objects.filter(note=note).annotate(reposted=Exists(reversal_beside))
    order = ledger_order()
    running = RunningMoney("amount", partition_by=[F("account")], order_by=order)
    return entries.annotate(balance=running).order_by(*order)


class LedgerFilter(django_filters.FilterSet):
    account = django_filters.ChoiceFilter(choices=LedgerEntry.Account.choices, empty_label="Every account")
    kind = django_filters.ChoiceFilter(choices=LedgerEntry.Kind.choices, method="of_kind", empty_label="Every kind")

    class Meta:
        model = LedgerEntry
        fields = ["account", "kind"]

    def of_kind(self, queryset, name, value):
        # Compared outside the window (a window's value filtered on: QUALIFY), so that the balances
        # still count the entries of the other kinds. An account is a partition: filtered plainly.
        of_entry = Window(Min("kind"), partition_by=[F("pk")])
        return queryset.alias(entry_kind=of_entry).filter(entry_kind=value)


@dataclass
class Reposting:
    """The entries of one re-posting of a key that take effect on one day, as this page lists them,
    and its size and net change by account (read from the database: it may run onto the next page)."""

    effective_on: date
    posted_at: datetime
    key: str
    entries: list = field(default_factory=list)
    count: int = 0
    net: dict = field(default_factory=dict)  # account label → net change

    @property
    def id(self) -> tuple:
        return self.effective_on, self.posted_at, self.key

    @property
    def what(self) -> str:
        return self.entries[0].what

    @property
    def posted_by(self):
        return self.entries[0].posted_by or self.entries[0].job


def grouped(entries: list) -> list:
    """The page's entries, each either an entry or a Reposting of the consecutive entries of one;
    each entry with `source`, the id of the row of the note's page it comes from ("" if none)."""
    out = []
    for entry in entries:
        entry.source = source_anchor(entry.key)
        last = out[-1] if out else None
        if entry.reposted:
            if isinstance(last, Reposting) and last.id == (entry.effective_on, entry.posted_at, entry.key):
                last.entries.append(entry)
            else:
                out.append(Reposting(entry.effective_on, entry.posted_at, entry.key, [entry]))
        else:
            out.append(entry)
    groups = [g for g in out if isinstance(g, Reposting)]
    if groups:
        _sizes(entries[0].note_id, groups)
    return out


def _sizes(note_id: int, groups: list[Reposting]) -> None:
    """Each re-posting's number of entries and net change by account, in one query."""
    which = Q()
    for g in groups:
        which |= Q(effective_on=g.effective_on, posted_at=g.posted_at, key=g.key)
    rows = LedgerEntry.objects.filter(which, note_id=note_id).values("effective_on", "posted_at", "key", "account")
    labels = dict(LedgerEntry.Account.choices)
    by_group = {g.id: g for g in groups}
    for row in rows.annotate(n=Count("pk"), net=MoneySum("amount")).order_by("account"):
        g = by_group[(row["effective_on"], row["posted_at"], row["key"])]
        g.count += row["n"]
        g.net[labels[row["account"]]] = row["net"]


CSV_HEADINGS = [
    "Entry",
    "Effective",
    "Kind",
    "Account",
    "What",
    "Amount",
    "Balance of the account after",
    "Posted at",
    "Posted by",
    "Approved by",
    "Reverses entry",
    "Reversed by entry",
]


def csv_rows(entries):
    """The entries as CSV rows (headings first): plain figures, the words, no keys."""
    yield CSV_HEADINGS
    for e in entries.iterator(chunk_size=2000):
        reversed_by = getattr(e, "reversed_by", None)
        yield [
            e.pk,
            e.effective_on.isoformat(),
            e.get_kind_display(),
            e.get_account_display(),
            e.what,
            f"{e.amount:.2f}",
            f"{e.balance:.2f}",
            timezone.localtime(e.posted_at).isoformat(timespec="seconds"),
            e.posted_by or e.job,
            e.approved_by or "",
            e.reverses_id or "",
            reversed_by.pk if reversed_by else "",
        ]
