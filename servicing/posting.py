"""Posting: bring notes up to a day by replaying them through the engine and storing the result.

The ledger is a projection of the engine's postings. A note replays either from its stored state
(the nightly close: only new days, only new entries) or in full (an event was recorded on or before
a day already posted): then the entries are compared with what is posted, and only what changed is
reversed and posted again. Periods, Events of Default and the results of conversions and
prepayments are rewritten from the same replay.

Callers hold the notes' rows locked (`select_for_update`) inside a transaction.
"""

import json
from collections import Counter
from datetime import date

from django.db import connection

from notes.models import Note, SupplementalAgreement
from servicing import engine
from servicing.models import (
    Acceleration,
    AccelerationNotice,
    Conversion,
    DefaultPeriod,
    LedgerEntry,
    Period,
    Prepayment,
)
from servicing.month_ends import month_ends_store
from servicing.selectors import approvers_by_note, events_by_note, note_terms


def post_notes(notes: list[Note], through: date, *, full_ids: set[int] = frozenset(), by=None, job="") -> int:
    """Post `notes` through the end of `through`; returns the number of ledger entries written."""
    events = events_by_note(notes, full_ids=set(full_ids))
    approvers = approvers_by_note(notes)
    existing_defaults: dict[int, list[tuple]] = {n.pk: [] for n in notes}
    for d in DefaultPeriod.objects.filter(note__in=notes).order_by("start", "kind", "pk"):
        existing_defaults[d.note_id].append((d.kind, d.start, d.end))
    entries: list[LedgerEntry] = []
    periods: list[Period] = []
    replays: list[tuple[Note, engine.Result, bool]] = []  # for month_ends_store
    for note in notes:
        # Nothing is posted past the note's last day (20 years after maturity): it is closed for good.
        until = min(through, note_terms(note).last_day)
        state = None
        if note.pk not in full_ids and note.engine_state and note.closed_through:
            state = engine.State.from_json(note.engine_state)
        full = state is None
        if full:
            Period.objects.filter(note=note).delete()
        elif state.day >= until:
            continue
        result = engine.run(note_terms(note), events[note.pk], until, state, strict=False, month_ends=True)
        replays.append((note, result, full))
        stamp = {"note": note, "posted_by": by, "job": job}
        approved = approvers[note.pk]
        if full:
            entries += _changed_entries(note, result.postings, stamp, approved)
        else:
            entries += [_entry(p, stamp, approved) for p in result.postings]
        periods += [Period(note=note, **vars(p)) for p in result.periods]
        _store_outcomes(note, result, full)
        defaults = [(d.kind, d.start, d.end) for d in result.defaults]
        if defaults != existing_defaults[note.pk]:
            DefaultPeriod.objects.filter(note=note).delete()
            DefaultPeriod.objects.bulk_create(DefaultPeriod(note=note, kind=k, start=s, end=e) for k, s, e in defaults)
        note.closed_through = until
        note.engine_state = result.state.to_json()
        note.accrued_interest = result.balances.accrued_interest
        note.accrued_default_interest = result.balances.accrued_default_interest
        note.past_due = result.balances.past_due
        note.past_due_since = result.balances.past_due_since
    LedgerEntry.objects.bulk_create(entries, batch_size=2000)
    Period.objects.bulk_create(periods, batch_size=2000)
    _save_states(notes)
    month_ends_store(replays)
    return len(entries)


def _save_states(notes: list[Note]) -> None:
    """Write the notes' servicing state in one batched statement (bulk_update's CASE is far slower)."""
    table = connection.ops.quote_name(Note._meta.db_table)
    sql = (
        f"UPDATE {table} SET closed_through = %s, engine_state = %s, accrued_interest = %s, "  # noqa: S608 (a table name)
        "accrued_default_interest = %s, past_due = %s, past_due_since = %s WHERE id = %s"
    )
    rows = [
        (
            n.closed_through,
            json.dumps(n.engine_state),
            n.accrued_interest,
            n.accrued_default_interest,
            n.past_due,
            n.past_due_since,
            n.pk,
        )
        for n in notes
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _entry(p: engine.Posting, stamp: dict, approved: dict[str, int]) -> LedgerEntry:
    return LedgerEntry(
        effective_on=p.effective_on,
        kind=p.kind,
        account=p.account,
        key=p.key,
        amount=p.amount,
        approved_by_id=approved.get(p.key),
        **stamp,
    )


def _changed_entries(note: Note, postings: list, stamp: dict, approved: dict[str, int]) -> list[LedgerEntry]:
    """Reversals of posted entries the replay no longer produces, and the postings not yet posted."""
    wanted = Counter((p.effective_on, p.kind, p.account, p.key, p.amount) for p in postings)
    out = []
    active = LedgerEntry.objects.filter(note=note, reversed_by__isnull=True).exclude(kind=LedgerEntry.Kind.REVERSAL)
    for e in active.order_by("pk"):
        k = (e.effective_on, e.kind, e.account, e.key, e.amount)
        if wanted[k] > 0:
            wanted[k] -= 1
        else:
            out.append(
                LedgerEntry(
                    effective_on=e.effective_on,
                    kind=LedgerEntry.Kind.REVERSAL,
                    account=e.account,
                    key=e.key,
                    amount=-e.amount,
                    reverses=e,
                    approved_by_id=e.approved_by_id,
                    **stamp,
                )
            )
    for p in postings:
        k = (p.effective_on, p.kind, p.account, p.key, p.amount)
        if wanted[k] > 0:
            wanted[k] -= 1
            out.append(_entry(p, stamp, approved))
    return out


def _store_outcomes(note: Note, result: engine.Result, full: bool) -> None:
    """Conversions, prepayments and accelerations as the replay carried them out."""
    if full:
        Conversion.objects.filter(note=note).update(
            status=Conversion.Status.SCHEDULED,
            principal=None,
            interest=None,
            default_interest=None,
            amount=None,
            shares=None,
            deliveries=[],
            refusal="",
        )
        Prepayment.objects.filter(note=note).update(
            status=Prepayment.Status.SCHEDULED, principal=None, interest=None, default_interest=None, amount=None
        )
        AccelerationNotice.objects.filter(note=note).update(status=AccelerationNotice.Status.SCHEDULED, refusal="")
        Acceleration.objects.filter(note=note).delete()
    for c in result.conversions:
        Conversion.objects.filter(pk=int(c.ref)).update(
            status=Conversion.Status.CONVERTED,
            principal=c.principal,
            interest=c.interest,
            default_interest=c.default_interest,
            amount=c.amount,
            shares=c.shares,
            deliveries=_successor_deliveries(note, c),
        )
    for p in result.prepayments:
        Prepayment.objects.filter(pk=int(p.ref)).update(
            status=Prepayment.Status.PAID,
            principal=p.principal,
            interest=p.interest,
            default_interest=p.default_interest,
            amount=p.amount,
        )
    refused = {"conversion": Conversion, "acceleration": AccelerationNotice}
    for event_type, ref, why in result.refused:
        model = refused.get(event_type)
        if model is None:  # approved only after a strict check; nothing to mark
            continue
        model.objects.filter(note=note, pk=int(ref)).update(status=model.Status.REFUSED, refusal=why)
    first = result.accelerations[0] if result.accelerations else None
    if first and (full or first.date > (note.closed_through or date.min)):
        Acceleration.objects.update_or_create(note=note, defaults={"date": first.date, "kind": first.kind})
    if first:
        notices = AccelerationNotice.objects.filter(
            note=note, status=AccelerationNotice.Status.SCHEDULED, notice__deemed_received_on__lte=result.state.day
        )
        for a in notices:
            effective = first.kind == "holder_notice" and first.ref == str(a.pk)
            a.status = AccelerationNotice.Status.EFFECTIVE if effective else AccelerationNotice.Status.NO_EFFECT
            a.save(update_fields=["status"])


def _successor_deliveries(note: Note, c: engine.ConversionDone) -> list[dict]:
    """After a supplemental agreement (section 5) the note converts into what the shares became."""
    agreement = (
        SupplementalAgreement.objects.filter(notes=note, effective_on__lte=c.conversion_date)
        .order_by("-effective_on", "-pk")
        .first()
    )
    if agreement is None:
        return []
    return [
        {
            "security": s.name,
            "per_share": str(s.per_share),
            "units": engine.conversion.successor_units(c.shares, s.per_share),
        }
        for s in agreement.action.securities.all()
    ]
