"""Posting: bring notes up to a day by replaying them through the engine and storing the result.

The ledger is a projection of the engine's postings. A note replays either from its stored state
(the nightly close: only new days, only new entries) or in full (an event was recorded on or before
a day already posted): then the entries are compared with what is posted, and only what changed is
reversed and posted again. Periods, Events of Default and the results of conversions and
prepayments are rewritten from the same replay.

A batch of notes is read and written in a fixed number of statements, whatever its size: entries
and periods go in with COPY on PostgreSQL, the note rows (state and balances) with one UPDATE.

Callers hold the notes' rows locked (`select_for_update`) inside a transaction.
"""

import dataclasses
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

import psycopg
from django.db import connection, models
from django.utils import timezone

from notes.models import Note, SupplementalAgreement
from servicing import engine
from servicing.models import (
    Acceleration,
    AccelerationNotice,
    Conversion,
    DefaultPeriod,
    LedgerEntry,
    MonthEndState,
    Period,
    Prepayment,
)
from servicing.selectors import BALANCE_COLUMNS, approvers_of, events_by_note, note_terms

# What posting reads of a note: the terms, the stored state and the day it is at.
READS = (
    "id",
    "agreement_date",
    "maturity_date",
    "principal",
    "rate",
    "conversion_price",
    "default_rate_spread",
    "max_lawful_rate",
    "prepayment_lockout_months",
    "calendar",
    "accrues_from",
    "closed_through",
    "engine_state",
)


@dataclass
class _Replay:
    note: Note
    result: engine.Result
    full: bool  # replayed from the first day
    posted_through: date | None  # the day it was at before


def post_notes(notes: list[Note], through: date, *, full_ids: set[int] = frozenset(), by=None, job="") -> int:
    """Post `notes` through the end of `through`; returns the number of ledger entries written."""
    events = events_by_note(notes, full_ids=set(full_ids))
    replays = []
    for note in notes:
        terms = note_terms(note)
        # Nothing is posted past the note's last day (20 years after maturity): it is closed for good.
        until = min(through, terms.last_day)
        state = None
        if note.pk not in full_ids and note.engine_state and note.closed_through:
            state = engine.State.from_json(note.engine_state)
        if state is not None and state.day >= until:
            continue
        result = engine.run(terms, events[note.pk], until, state, strict=False, month_end=True)
        replays.append(_Replay(note, result, state is None, note.closed_through))
        _keep(note, result)
    if not replays:
        return 0
    full = [r.note.pk for r in replays if r.full]
    Period.objects.filter(note__in=full).delete()
    _reset_outcomes(full)
    entries = _entries(replays, full, by, job)
    _insert(LedgerEntry, ENTRY_COLUMNS, entries)
    _insert(Period, PERIOD_COLUMNS, [(r.note.pk, *vars(p).values()) for r in replays for p in r.result.periods])
    for r in replays:
        if r.result.conversions or r.result.prepayments or r.result.refused or r.result.accelerations:
            _store_outcomes(r, f"job {job}" if by is None else None)
    _store_defaults(replays)
    _store_month_ends(replays)
    _save_states([r.note for r in replays])
    return len(entries)


def _keep(note: Note, result: engine.Result) -> None:
    """What the note row keeps of the replay: the state at the end of its last day, and the balances
    then (their `as_of`, that day, is the row's `closed_through`)."""
    note.engine_state = result.state.to_json()
    for name, column in BALANCE_COLUMNS.items():
        setattr(note, column, getattr(result.balances, name))


ENTRY_COLUMNS = (
    "note_id",
    "effective_on",
    "kind",
    "account",
    "key",
    "amount",
    "reverses_id",
    "approved_by_id",
    "posted_by_id",
    "job",
    "posted_at",
)
PERIOD_COLUMNS = ("note_id", *(f.name for f in dataclasses.fields(engine.results.Period)))


def _entries(replays: list[_Replay], full: list[int], by, job: str) -> list[tuple]:
    """The rows to append: each replay's new postings; for a full replay, the reversals of posted
    entries it no longer produces and the postings not yet posted."""
    posted = defaultdict(list)
    active = LedgerEntry.objects.filter(note__in=full, reversed_by__isnull=True).exclude(kind=LedgerEntry.Kind.REVERSAL)
    fields = ("note_id", "pk", "effective_on", "kind", "account", "key", "amount", "approved_by_id")
    for note_id, pk, *entry, approved_by in active.order_by("pk").values_list(*fields):
        posted[note_id].append((pk, tuple(entry), approved_by))
    new = {}
    for r in replays:
        postings = [(p.effective_on, p.kind, p.account, p.key, p.amount) for p in r.result.postings]
        new[r.note.pk] = _changed(postings, posted[r.note.pk]) if r.full else ([], postings)
    approvers = approvers_of({pk: {p[3] for p in postings} for pk, (_, postings) in new.items()})
    by_id, now = getattr(by, "pk", None), timezone.now()
    rows = []
    for note_id, (reversals, postings) in new.items():
        for pk, (day, _, account, key, amount), approved_by in reversals:
            rows.append(
                (note_id, day, LedgerEntry.Kind.REVERSAL, account, key, -amount, pk, approved_by, by_id, job, now)
            )
        for day, kind, account, key, amount in postings:
            rows.append((note_id, day, kind, account, key, amount, None, approvers[note_id].get(key), by_id, job, now))
    return rows


def _changed(postings: list[tuple], posted: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """(posted entries to reverse, postings to post): what a full replay changes."""
    wanted = Counter(postings)
    reverse = []
    for entry in posted:
        if wanted[entry[1]] > 0:
            wanted[entry[1]] -= 1
        else:
            reverse.append(entry)
    new = []
    for p in postings:
        if wanted[p] > 0:
            wanted[p] -= 1
            new.append(p)
    return reverse, new


def _insert(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Append rows: COPY on PostgreSQL, a multi-row INSERT elsewhere."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        fields = [model._meta.get_field(c.removesuffix("_id")) for c in columns]
        if connection.vendor == "postgresql":
            json = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    if json:
                        row = [fields[i].get_db_prep_save(v, connection) if i in json else v for i, v in enumerate(row)]
                    copy.write_row(row)
            return
        prepared = [[f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)] for row in rows]
        marks = ", ".join("%s" for _ in columns)
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", prepared)  # noqa: S608 (names)


def _save_states(notes: list[Note]) -> None:
    """Write what the note rows keep (Note.POSTED) in one statement: an UPDATE from arrays on
    PostgreSQL, a batch of single-row UPDATEs elsewhere (bulk_update's CASE is far slower)."""
    fields = [Note._meta.get_field(name) for name in Note.POSTED]
    table = connection.ops.quote_name(Note._meta.db_table)
    columns = [connection.ops.quote_name(f.column) for f in fields]
    ids = [n.pk for n in notes]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The columns as arrays sent in binary (%b): quoting 500 JSON states into the text is slow.
            values = [[getattr(n, f.attname) for n in notes] for f in fields]
            state = Note.POSTED.index("engine_state")
            values[state] = [fields[state].get_db_prep_save(v, connection) for v in values[state]]
            arrays = ", ".join(f"%b::{f.db_type(connection)}[]" for f in fields)
            sql = (
                f"UPDATE {table} AS n SET {', '.join(f'{c} = v.{c}' for c in columns)} "  # noqa: S608 (names)
                f"FROM unnest(%b::integer[], {arrays}) AS v(id, {', '.join(columns)}) WHERE n.id = v.id"
            )
            with psycopg.Cursor(connection.connection) as binary:  # Django's own cursor binds on the client
                binary.execute(sql, [ids, *values])
            return
        rows = [[*(f.get_db_prep_save(getattr(n, f.attname), connection) for f in fields), n.pk] for n in notes]
        sets = ", ".join(f"{c} = %s" for c in columns)
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE id = %s", rows)  # noqa: S608 (names)


def _store_defaults(replays: list[_Replay]) -> None:
    """Rewrite the Events of Default of the notes whose spans changed."""
    ids = [r.note.pk for r in replays]
    before = defaultdict(list)
    for note_id, *span in (
        DefaultPeriod.objects.filter(note__in=ids)
        .order_by("start", "kind", "pk")
        .values_list("note_id", "kind", "start", "end")
    ):
        before[note_id].append(tuple(span))
    changed = {}
    for r in replays:
        spans = [(d.kind, d.start, d.end) for d in r.result.defaults]
        if spans != before[r.note.pk]:
            changed[r.note.pk] = spans
    if changed:
        DefaultPeriod.objects.filter(note__in=changed).delete()
        rows = [(pk, *span) for pk, spans in changed.items() for span in spans]
        _insert(DefaultPeriod, ("note_id", "kind", "start", "end"), rows)


def _store_month_ends(replays: list[_Replay]) -> None:
    """Keep each note's state at the last month end its replay passed (servicing.month_ends)."""
    kept = {r.note.pk: r.result.month_end for r in replays if r.result.month_end}
    if kept:
        MonthEndState.objects.filter(note__in=kept).delete()
        _insert(MonthEndState, ("note_id", "day", "state"), [(pk, day, state) for pk, (day, state) in kept.items()])


def _reset_outcomes(full: list[int]) -> None:
    """Before a full replay, conversions, prepayments and acceleration notices wait again."""
    if not full:
        return
    Conversion.objects.filter(note__in=full).update(
        status=Conversion.Status.SCHEDULED,
        principal=None,
        interest=None,
        default_interest=None,
        amount=None,
        shares=None,
        deliveries=[],
        refusal="",
    )
    Prepayment.objects.filter(note__in=full).update(
        status=Prepayment.Status.SCHEDULED, principal=None, interest=None, default_interest=None, amount=None
    )
    AccelerationNotice.objects.filter(note__in=full).update(status=AccelerationNotice.Status.SCHEDULED, refusal="")
    Acceleration.objects.filter(note__in=full).delete()


def _store_outcomes(r: _Replay, job_named: str | None) -> None:
    """Conversions, prepayments and accelerations as the replay carried them out."""
    note, result = r.note, r.result
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
    if first and (r.full or first.date > (r.posted_through or date.min)):
        Acceleration.objects.update_or_create(note=note, defaults={"date": first.date, "kind": first.kind})
    if first:
        notices = AccelerationNotice.objects.filter(
            note=note, status=AccelerationNotice.Status.SCHEDULED, notice__deemed_received_on__lte=result.state.day
        )
        for a in notices:
            effective = first.kind == "holder_notice" and first.ref == str(a.pk)
            a.status = AccelerationNotice.Status.EFFECTIVE if effective else AccelerationNotice.Status.NO_EFFECT
            a._change_reason = job_named  # the history names the job, when no user posted
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
