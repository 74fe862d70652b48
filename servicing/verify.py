"""Proof that what the note rows keep equals the ledger: each note's balances recomputed from its
ledger entries and from a fresh full replay, compared with its columns (`manage.py verify_ledger`)."""

from collections import Counter, defaultdict
from collections.abc import Iterator

from notes.models import Note
from servicing import engine
from servicing.models import LedgerEntry
from servicing.selectors import BALANCE_COLUMNS, ZERO, MoneySum, events_by_note, note_terms

# The row's column for each ledger account (servicing.posting keeps them in step).
ACCOUNT_COLUMNS = {
    LedgerEntry.Account.PRINCIPAL: "principal_outstanding",
    LedgerEntry.Account.INTEREST: "interest_due",
    LedgerEntry.Account.DEFAULT_INTEREST: "default_interest_due",
    LedgerEntry.Account.COSTS: "costs_due",
    LedgerEntry.Account.UNAPPLIED: "unapplied",
}


def ledger_differences(notes, *, batch_size: int = 200) -> Iterator[str]:
    """One line for each figure a note row keeps that its ledger or a full replay disagrees with,
    and for each active ledger entry the replay does not post (or posts and the ledger lacks).
    Notes are read `batch_size` at a time, each batch in a fixed number of queries."""
    notes = notes.defer("engine_state").order_by("pk")
    last = 0
    while batch := list(notes.filter(pk__gt=last)[:batch_size]):
        last = batch[-1].pk
        yield from _batch_differences(batch)


def _batch_differences(notes: list[Note]) -> Iterator[str]:
    ids = {n.pk for n in notes}
    sums: dict[int, dict[str, object]] = defaultdict(dict)
    totals = LedgerEntry.objects.filter(note__in=ids).values("note", "account").annotate(total=MoneySum("amount"))
    for row in totals:
        sums[row["note"]][row["account"]] = row["total"]
    posted: dict[int, Counter] = defaultdict(Counter)
    active = LedgerEntry.objects.filter(note__in=ids, reversed_by__isnull=True).exclude(kind=LedgerEntry.Kind.REVERSAL)
    for note_id, *entry in active.values_list("note", "effective_on", "kind", "account", "key", "amount"):
        posted[note_id][tuple(entry)] += 1
    events = events_by_note(notes, full_ids=ids)
    for note in notes:
        for account, column in ACCOUNT_COLUMNS.items():
            yield from _differ(note, column, sums[note.pk].get(account, ZERO), "ledger")
        if note.closed_through is None:
            if posted[note.pk]:
                yield f"{note.number} entries: {sum(posted[note.pk].values())} posted, but the row was never closed"
            continue
        result = engine.run(note_terms(note), events[note.pk], note.closed_through, strict=False)
        for name, column in BALANCE_COLUMNS.items():
            yield from _differ(note, column, getattr(result.balances, name), "replay")
        replayed = Counter((p.effective_on, p.kind, p.account, p.key, p.amount) for p in result.postings)
        for entry in sorted((posted[note.pk] - replayed) + (replayed - posted[note.pk]), key=str):
            on, kind, account, key, amount = entry
            yield (
                f"{note.number} entry {on} {kind} {account} {key} {amount}: "
                f"ledger {posted[note.pk][entry]}, replay {replayed[entry]}"
            )


def _differ(note: Note, column: str, expected, source: str) -> Iterator[str]:
    kept = getattr(note, column)
    if kept != expected:
        yield f"{note.number} {column}: row {kept}, {source} {expected}"
