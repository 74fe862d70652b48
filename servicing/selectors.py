"""Reads that span relations: a note's events for the engine, balances from the ledger."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import DecimalField, F, Q, Sum

from notes.models import Note
from servicing import engine
from servicing.engine.money import to_cents
from servicing.models import AccelerationNotice, Conversion, DefaultEvent, LedgerEntry, Payment, Prepayment

ZERO = Decimal("0.00")


class MoneySum(Sum):
    """A sum of money read back in cents, zero when there is nothing to add.

    SQLite (the development default) adds decimals as floats: the cents are exact, the digits past
    them are noise, so the sum is rounded to the cent on the way out.
    """

    output_field = DecimalField(max_digits=20, decimal_places=2)

    def convert_value(self, value, expression, connection):
        return ZERO if value is None else to_cents(Decimal(value))


def events_by_note(notes: list[Note], *, full_ids: set[int]) -> dict[int, list[engine.Event]]:
    """The engine events of each note; payments only after `closed_through` unless the note replays in full."""
    ids = [n.pk for n in notes]
    events: dict[int, list[engine.Event]] = defaultdict(list)
    new_payments = (
        Q(note__in=full_ids) | Q(note__closed_through__isnull=True) | Q(received_on__gt=F("note__closed_through"))
    )
    payments = Payment.objects.filter(new_payments, note__in=ids, reversed_at__isnull=True)
    for p in payments.order_by("received_on", "pk"):
        events[p.note_id].append(engine.Payment(str(p.pk), p.received_on, p.amount))
    for c in Conversion.objects.filter(note__in=ids).select_related("notice").order_by("pk"):
        n = c.notice
        events[c.note_id].append(engine.Conversion(str(c.pk), n.sent_on, n.deemed_received_on, c.principal_requested))
    for p in Prepayment.objects.filter(note__in=ids).select_related("notice").order_by("pk"):
        n = p.notice
        events[p.note_id].append(
            engine.Prepayment(str(p.pk), n.sent_on, n.deemed_received_on, p.prepayment_date, p.principal_requested)
        )
    for a in AccelerationNotice.objects.filter(note__in=ids).select_related("notice").order_by("pk"):
        events[a.note_id].append(engine.AccelerationNotice(str(a.pk), a.notice.sent_on, a.notice.deemed_received_on))
    for d in DefaultEvent.objects.filter(note__in=ids).order_by("pk"):
        events[d.note_id].append(default_event(d))
    return events


def note_events(note: Note) -> list[engine.Event]:
    return events_by_note([note], full_ids={note.pk})[note.pk]


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
    """Balances at the end of the note's last posted day."""
    sums = ledger_sums(LedgerEntry.objects.filter(note=note))
    return engine.Balances(
        as_of=note.closed_through,
        principal=sums["principal"],
        interest_due=sums["interest"],
        default_interest_due=sums["default_interest"],
        costs_due=sums["costs"],
        unapplied=sums["unapplied"],
        accrued_interest=note.accrued_interest,
        accrued_default_interest=note.accrued_default_interest,
    )


def notes_with_balances():
    """Notes annotated with their ledger balances, in one query."""
    acct = LedgerEntry.Account

    def total(account):
        return MoneySum("entries__amount", filter=Q(entries__account=account))

    return Note.objects.select_related("holder", "issuer").annotate(
        principal_outstanding=total(acct.PRINCIPAL),
        interest_due=total(acct.INTEREST),
        default_interest_due=total(acct.DEFAULT_INTEREST),
        unapplied=total(acct.UNAPPLIED),
    )
