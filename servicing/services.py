"""Writes. Every change to a note goes through one of these functions.

Each locks the note row, checks the rules (refusing with a ValidationError that names the field
and the rule, and changing nothing) and records the event and who recorded it. What moves money
or shares (payments, conversions, prepayments, accelerations, waivers, costs) is recorded pending
and takes effect when another user approves it (`servicing.approvals`), which calls
`note_event_post`: the rules are checked again and the note's ledger posted in the same
transaction, through the event's day if that day has come, or by replaying the note when the
event is dated on or before a day already posted.
"""

import re
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from holders.models import Holder
from holders.validators import one_line
from notes.fields import ExactDecimalField
from notes.models import Approval, ClosingPrice, Issuer, Note, ReviewFlag
from servicing import clock, engine, words
from servicing.engine import check_events, horizon
from servicing.models import (
    AccelerationNotice,
    CollectionCost,
    Conversion,
    Cure,
    DefaultEvent,
    Notice,
    Payment,
    PaymentReversal,
    Prepayment,
    Waiver,
)
from servicing.posting import post_notes
from servicing.selectors import default_event, note_events, note_terms


def refuse(field: str, message: str):
    return ValidationError({field: [message]})


def fit(obj) -> None:
    """Refuse, naming the field, text longer than its column, a one-line text with a line break or
    other control character, a number its column does not keep exactly (more decimal places, or
    more digits before the point) and a whole number outside its column's range: the database
    would otherwise round it or fail the whole request."""
    for field in obj._meta.concrete_fields:
        if field.primary_key or not isinstance(
            field, models.CharField | models.TextField | ExactDecimalField | models.IntegerField
        ):
            continue
        value = getattr(obj, field.attname)
        if value is None or value == "":
            continue
        if isinstance(field, models.TextField):
            if "\x00" in value:  # PostgreSQL stores no NUL in text
                raise refuse(field.name, f"{field.name}: must not contain a NUL character")
        elif isinstance(field, ExactDecimalField):
            why = field.refusal(value)
            if why:
                raise refuse(field.name, why)
        elif isinstance(field, models.IntegerField):
            low, high = connection.ops.integer_field_range(field.get_internal_type())
            if high is not None and value > high:
                raise refuse(field.name, f"{field.name} {value:,}: at most {high:,}")
            if low is not None and value < low:
                raise refuse(field.name, f"{field.name} {value:,}: at least {low:,}")
        else:
            try:
                one_line(value)
            except ValidationError as e:
                raise refuse(field.name, f"{field.name}: {e.messages[0]}") from None
            if len(value) > field.max_length:
                raise refuse(field.name, f"{field.name}: at most {field.max_length} characters (it has {len(value)})")


def stamp(obj, by):
    """Check that the record fits its columns, and note who made this change (django-simple-history)."""
    fit(obj)
    obj._history_user = by
    return obj


def lock_note(note: Note) -> Note:
    return Note.objects.select_for_update().get(pk=note.pk)


def check_rules(note: Note, *extra: engine.Event, without: str | None = None, fields: dict | None = None) -> None:
    """Replay the note with `extra` events through the last day any event reaches, strictly.

    A refusal names the engine's field (simulate.md's names) or, through `fields`, the caller's."""
    events = [e for e in note_events(note) if without is None or f"{type(e).__name__}:{e.ref}" != without]
    events += extra
    try:
        check_events(note_terms(note), events)
        engine.run(note_terms(note), events, horizon(note_terms(note), events), strict=True)
    except engine.RuleError as e:
        raise refuse((fields or {}).get(e.field, e.field), e.message) from None


NOTICE_FIELDS = {"notice.sent": "notice_sent"}


def post_note(note: Note, changed_on: date, *, by, job: str) -> None:
    """Post the note through `changed_on` (or today, if earlier); replay it if that day was posted."""
    if by is None and not job:
        raise ValueError("a posting names the user or the job that made it")
    posted = note.closed_through or note.first_day - timedelta(days=1)
    full = note.closed_through is not None and changed_on <= note.closed_through
    through = max(posted, min(changed_on, clock.today()))
    if full or through > posted:
        post_notes([note], through, full_ids={note.pk} if full else set(), by=by, job=job)


def check_day(note: Note, field: str, day: date) -> None:
    """Refuse a date outside the note's window: a year before its agreement to 20 years after maturity."""
    try:
        note_terms(note).check_day(field, day)
    except engine.RuleError as e:
        raise refuse(field, e.message) from None


def check_year(field: str, day: date) -> None:
    """Refuse a date no record of a note's life can have (one not tied to a note's window)."""
    first, last = engine.terms.EARLIEST_YEAR, engine.terms.LATEST_YEAR
    if not first <= day.year <= last:
        raise refuse(field, f"{field} {day} must be in the years {first} to {last}")


# A number typed for a note or warrant: "/" is kept for substitutes (ORIGINAL/2), and NUMBER-digits
# (CN-00012, W-00003) for the numbers given automatically, so neither can collide with a typed one.
TYPED_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,29}")


def check_number(field: str, number: str, automatic: str) -> None:
    if not TYPED_NUMBER.fullmatch(number):
        raise refuse(
            field,
            f"{field} {number!r}: 1 to 30 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit",
        )
    if re.fullmatch(rf"{automatic}-\d+", number, flags=re.IGNORECASE):
        raise refuse(field, f"{field} {number}: numbers like {automatic}-00012 are given automatically")


def substitute_number(original, model) -> str:
    """The next number in the original's family: ROOT/1, ROOT/2… whichever substitute it comes from
    (the root locked first, so two approvals at once cannot take the same number)."""
    root = original
    while root.parent_id:
        root = root.parent
    root = model.objects.select_for_update().get(pk=root.pk)
    return f"{root.number}/{model.objects.filter(number__startswith=f'{root.number}/').count() + 1}"


def _notice(note, *, kind, direction, method, sent_on, description="", by=None, field="sent_on") -> Notice:
    check_day(note, field, sent_on)
    try:
        deemed = engine.notices.deemed_received(sent_on, method, note.calendar)
    except engine.RuleError as e:
        raise refuse("method", e.message) from None
    notice = Notice(
        note=note,
        kind=kind,
        direction=direction,
        method=method,
        sent_on=sent_on,
        deemed_received_on=deemed,
        description=description,
        recorded_by=by,
    )
    return notice


@transaction.atomic
def closing_price_record(*, issuer: Issuer, date: date, close: Decimal, by=None) -> ClosingPrice:
    """A closing price; a different price for a day already stored is refused (one close a day)."""
    if close <= 0:
        raise refuse("close", f"closing price {close} on {date} must be above zero")
    check_year("date", date)
    if date > clock.today():
        raise refuse("date", f"date {date} is in the future (today is {clock.today()}): a close is of a past day")
    existing = ClosingPrice.objects.filter(issuer=issuer, date=date).first()
    if existing:
        if existing.close != close:
            raise refuse("close", f"{issuer} already has a closing price of {words.price(existing.close)} on {date}")
        return existing
    price = ClosingPrice(issuer=issuer, date=date, close=close)
    stamp(price, by).save()
    return price


@transaction.atomic
def note_create(
    *,
    issuer: Issuer,
    holder: Holder,
    agreement_date: date,
    maturity_date: date,
    principal: Decimal,
    rate: Decimal,
    number: str = "",
    default_rate_spread: Decimal = Decimal("0.03"),
    max_lawful_rate: Decimal | None = None,
    prepayment_lockout_months: int = 3,
    conversion_premium: Decimal = Decimal("1.10"),
    conversion_price: Decimal | None = None,
    calendar: str = "XFED",
    by=None,
    job: str = "",
) -> Note:
    """A new note, funded on its agreement date; its conversion price comes from the issuer's
    five closes before that date unless given (section 4(a))."""
    closes = []
    if conversion_price is None:
        stored = ClosingPrice.objects.filter(issuer=issuer, date__lt=agreement_date).order_by("-date")[:5]
        try:
            picked = engine.conversion.reference_closes([(c.date, c.close) for c in stored], agreement_date)
            conversion_price = engine.conversion.conversion_price([c for _, c in picked], conversion_premium)
        except engine.RuleError as e:
            raise refuse(e.field, e.message) from None
        closes = list(stored)
    note = Note(
        number=number,
        issuer=issuer,
        holder=holder,
        agreement_date=agreement_date,
        maturity_date=maturity_date,
        principal=principal,
        rate=rate,
        default_rate_spread=default_rate_spread,
        max_lawful_rate=max_lawful_rate,
        prepayment_lockout_months=prepayment_lockout_months,
        conversion_premium=conversion_premium,
        conversion_price=conversion_price,
        calendar=calendar,
        created_by=by,
    )
    try:
        note_terms(note).check()
    except engine.RuleError as e:
        raise refuse(e.field, e.message) from None
    if number:
        check_number("number", number, "CN")
    if number and Note.objects.filter(number=number).exists():
        raise refuse("number", f"a note numbered {number} already exists")
    stamp(note, by).save()
    if not number:
        note.number = f"CN-{note.pk:05d}"
        note.save(update_fields=["number"])
    note.reference_closes.set(closes)
    post_note(note, agreement_date, by=by, job=job)
    return note


@transaction.atomic
def note_event_post(*, note: Note, on: date, by) -> None:
    """An approved event takes effect: the rules are checked with it, and the note posted."""
    note = lock_note(note)
    check_rules(note)
    post_note(note, on, by=by, job="")


@transaction.atomic
def payment_record(
    *, note: Note, received_on: date, amount: Decimal, reference: str = "", by=None, allow_future: bool = False
) -> Payment:
    """A payment received, to be applied by the order of section 1 once approved. Staff record what
    has arrived, so a future date is refused; `simulate` (allow_future) checks later events too."""
    note = lock_note(note)
    if not allow_future and received_on > clock.today():
        raise refuse("received_on", f"received_on {received_on} is in the future (today is {clock.today()})")
    payment = Payment(note=note, received_on=received_on, amount=amount, reference=reference, recorded_by=by)
    check_rules(note, engine.Payment("new", received_on, amount))
    stamp(payment, by).save()
    return payment


@transaction.atomic
def reversal_record(*, payment: Payment, reason: str, by) -> PaymentReversal:
    """A payment keyed in error, to be reversed once a second user approves (`reversal_apply`)."""
    if by is None:
        raise PermissionDenied("a reversal names who asked for it")
    lock_note(payment.note)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if why := reversal_refused(payment, pending=payment.reversals.filter(approval=Approval.PENDING).exists()):
        raise refuse("payment", why)
    if not reason.strip():
        raise refuse("reason", "a reversal needs a reason")
    check_rules(payment.note, without=f"Payment:{payment.pk}")
    reversal = PaymentReversal(payment=payment, reason=reason, recorded_by=by)
    stamp(reversal, by).save()
    return reversal


def reversal_refused(payment: Payment, *, pending: bool) -> str | None:
    """Why a reversal of the payment may not be asked for now, or None: the check `reversal_record`
    makes and the note page's *Ask to reverse* button reads (`pending`: a reversal already awaits
    approval)."""
    if not payment.is_approved:
        return f"payment {payment.pk} is {payment.get_approval_display().lower()}: reject it instead"
    if payment.reversed_at:
        return f"payment {payment.pk} was already reversed on {payment.reversed_at:%Y-%m-%d}"
    if pending:
        return f"a reversal of payment {payment.pk} already awaits approval"
    return None


def reversal_approver_refused(payment: Payment, user) -> str | None:
    """Why `user` may not approve a reversal of the payment, or None. Money moves back, so the
    approver is neither who recorded nor who approved the payment; `reversal_apply` checks it, and the
    approvals queue offers no *Approve* button where it would refuse."""
    if user.pk in (payment.recorded_by_id, payment.decided_by_id):
        return "you recorded or approved this payment: someone else must approve its reversal"
    return None


def reversal_apply(*, reversal: PaymentReversal, by) -> None:
    """The payment is marked reversed and the note replayed without it. Money moves back, so the
    approver is neither who recorded nor who approved the payment (nor who asked for the reversal)."""
    payment = Payment.objects.select_for_update().get(pk=reversal.payment_id)
    if why := reversal_approver_refused(payment, by):
        raise refuse("approval", why)
    if payment.reversed_at:
        raise refuse("payment", f"payment {payment.pk} was already reversed on {payment.reversed_at:%Y-%m-%d}")
    note = lock_note(payment.note)
    check_rules(note, without=f"Payment:{payment.pk}")
    payment.reversed_at, payment.reversed_by, payment.reversal_reason = timezone.now(), by, reversal.reason
    stamp(payment, by).save()
    post_note(note, payment.received_on, by=by, job="")


@transaction.atomic
def notice_record(
    *, note: Note, kind: str, direction: str, method: str, sent_on: date, description: str = "", by=None
) -> Notice:
    """A notice with no servicing effect of its own (an address change, a notice of default…)."""
    if kind in (Notice.Kind.CONVERSION, Notice.Kind.PREPAYMENT, Notice.Kind.ACCELERATION):
        raise refuse("kind", f"record a {kind} notice with its own workflow, which checks its rules")
    notice = _notice(
        note, kind=kind, direction=direction, method=method, sent_on=sent_on, description=description, by=by
    )
    if sent_on < note.agreement_date:
        raise refuse("sent_on", f"sent_on {sent_on} is before the agreement date {note.agreement_date}")
    stamp(notice, by).save()
    if kind == Notice.Kind.SUPPLEMENTAL:  # section 5: the holder has been given the notice that was due
        for flag in note.flags.filter(kind=ReviewFlag.Kind.NOTICE_DUE, cleared_at__isnull=True):
            flag.cleared_at, flag.cleared_by, flag.resolution = timezone.now(), by, f"Notice sent {sent_on}"
            stamp(flag, by).save()
    return notice


@transaction.atomic
def conversion_record(
    *, note: Note, notice_sent: date, method: str, principal: Decimal | None = None, by=None
) -> Conversion:
    """The holder's notice of conversion (4(b)); it converts on the day the company is deemed to receive it."""
    note = lock_note(note)
    notice = _notice(
        note,
        kind=Notice.Kind.CONVERSION,
        direction=Notice.Direction.HOLDER_TO_COMPANY,
        method=method,
        sent_on=notice_sent,
        by=by,
        field="notice_sent",
    )
    check_rules(note, engine.Conversion("new", notice_sent, notice.deemed_received_on, principal), fields=NOTICE_FIELDS)
    stamp(notice, by).save()
    conversion = stamp(Conversion(note=note, notice=notice, principal_requested=principal, recorded_by=by), by)
    conversion.save()
    return conversion


@transaction.atomic
def prepayment_record(
    *,
    note: Note,
    notice_sent: date,
    method: str,
    prepayment_date: date,
    principal: Decimal | None = None,
    by=None,
) -> Prepayment:
    """The company's notice of prepayment (section 3); the holder may convert within the window."""
    note = lock_note(note)
    notice = _notice(
        note,
        kind=Notice.Kind.PREPAYMENT,
        direction=Notice.Direction.COMPANY_TO_HOLDER,
        method=method,
        sent_on=notice_sent,
        by=by,
        field="notice_sent",
    )
    check_rules(
        note,
        engine.Prepayment("new", notice_sent, notice.deemed_received_on, prepayment_date, principal),
        fields=NOTICE_FIELDS | {"date": "prepayment_date"},
    )
    stamp(notice, by).save()
    prepayment = Prepayment(
        note=note,
        notice=notice,
        prepayment_date=prepayment_date,
        principal_requested=principal,
        window_end=engine.prepayment.conversion_window(notice.deemed_received_on, note.calendar)[1],
        recorded_by=by,
    )
    stamp(prepayment, by).save()
    return prepayment


@transaction.atomic
def default_record(
    *,
    note: Note,
    kind: str,
    occurred_on: date,
    cured_on: date | None = None,
    description: str = "",
    by=None,
) -> DefaultEvent:
    """A covenant breach, misrepresentation or insolvency (section 7), pending approval: it takes
    effect (default interest; an insolvency accelerates the note, 7(x)) once a second user approves."""
    note = lock_note(note)
    if kind not in DefaultEvent.Kind.values:
        raise refuse("kind", f"kind {kind!r} is not one of {', '.join(DefaultEvent.Kind.values)}")
    if kind != DefaultEvent.Kind.COVENANT and cured_on is not None:
        raise refuse("cured_on", "only a covenant breach is cured; a misrepresentation ends by the holder's waiver")
    event = DefaultEvent(
        note=note, kind=kind, occurred_on=occurred_on, cured_on=cured_on, description=description, recorded_by=by
    )
    check_rules(note, default_event(event), fields={"date": "occurred_on", "cured": "cured_on"})
    stamp(event, by).save()
    return event


@transaction.atomic
def cure_record(*, event: DefaultEvent, cured_on: date, description: str = "", by=None) -> Cure:
    """The cure of a covenant breach (7(a)(ii)), pending approval: within five business days of the
    breach it never became an Event of Default; later, default interest stops on the day of the cure."""
    note = lock_note(event.note)
    event = DefaultEvent.objects.select_for_update().get(pk=event.pk)
    if event.kind != DefaultEvent.Kind.COVENANT:
        raise refuse("cured_on", f"a {event.get_kind_display().lower()} is not cured; the holder may waive it")
    if not event.is_approved:
        raise refuse("event", "this breach is not approved: a cure follows an approved breach")
    if event.ended_on is not None:
        raise refuse("cured_on", f"this breach already ended on {event.ended_on}")
    if event.cures.filter(approval=Approval.PENDING).exists():
        raise refuse("cured_on", "a cure of this breach already awaits approval")
    cure = Cure(default_event=event, cured_on=cured_on, description=description, recorded_by=by)
    check_rules(
        note,
        engine.CovenantBreach(str(event.pk), event.occurred_on, cured_on),
        without=f"CovenantBreach:{event.pk}",
        fields={"cured": "cured_on"},
    )
    stamp(cure, by).save()
    return cure


@transaction.atomic
def waiver_record(*, event: DefaultEvent, waived_on: date, description: str = "", by=None) -> Waiver:
    """The holder's written waiver of a covenant breach or misrepresentation (7(d)), pending approval."""
    note = lock_note(event.note)
    if event.kind == DefaultEvent.Kind.INSOLVENCY:
        raise refuse("default_event", "an insolvency accelerates the note automatically (7(x)); it is not waived here")
    if event.ended_on is not None:
        raise refuse("waived_on", f"this default already ended on {event.ended_on}")
    if event.waivers.filter(approval="pending").exists():
        raise refuse("default_event", "a waiver of this default already awaits approval")
    waiver = Waiver(default_event=event, waived_on=waived_on, description=description, recorded_by=by)
    check_rules(
        note,
        _waived(event, waived_on),
        without=f"{type(default_event(event)).__name__}:{event.pk}",
        fields={"waived": "waived_on", "cured": "waived_on"},
    )
    stamp(waiver, by).save()
    return waiver


def _waived(event: DefaultEvent, waived_on: date) -> engine.Event:
    ended = min(d for d in (event.cured_on, waived_on) if d is not None)
    if event.kind == DefaultEvent.Kind.COVENANT:
        return engine.CovenantBreach(str(event.pk), event.occurred_on, ended)
    return engine.Misrepresentation(str(event.pk), event.occurred_on, ended)


@transaction.atomic
def cost_record(*, note: Note, billed_on: date, amount: Decimal, description: str, by=None) -> CollectionCost:
    """Costs of collection billed to the company (sections 6, 7(b)), paid after due principal."""
    note = lock_note(note)
    if not description.strip():
        raise refuse("description", "say what the costs were for")
    cost = CollectionCost(note=note, billed_on=billed_on, amount=amount, description=description, recorded_by=by)
    check_rules(note, engine.Cost("new", billed_on, amount), fields={"date": "billed_on"})
    stamp(cost, by).save()
    return cost


@transaction.atomic
def acceleration_record(*, note: Note, notice_sent: date, method: str, by=None) -> AccelerationNotice:
    """The holder's written notice of acceleration (7(y)), effective when the company is deemed to receive it."""
    note = lock_note(note)
    notice = _notice(
        note,
        kind=Notice.Kind.ACCELERATION,
        direction=Notice.Direction.HOLDER_TO_COMPANY,
        method=method,
        sent_on=notice_sent,
        by=by,
        field="notice_sent",
    )
    check_rules(note, engine.AccelerationNotice("new", notice_sent, notice.deemed_received_on), fields=NOTICE_FIELDS)
    stamp(notice, by).save()
    acceleration = stamp(AccelerationNotice(note=note, notice=notice, recorded_by=by), by)
    acceleration.save()
    return acceleration


@transaction.atomic
def note_replay(*, note: Note, by=None, job="") -> int:
    """Replay a note in full and post only the differences (nothing, when the ledger is right)."""
    note = lock_note(note)
    if note.closed_through is None:
        return 0
    return post_notes([note], note.closed_through, full_ids={note.pk}, by=by, job=job)


@transaction.atomic
def issuer_create(*, name: str, by=None) -> Issuer:
    """A new issuer; a name another issuer has is refused (an issuer's name is unique)."""
    issuer = stamp(Issuer(name=name), by)
    if Issuer.objects.filter(name=name).exists():
        raise refuse("name", f"an issuer named {name} already exists")
    try:
        with transaction.atomic():
            issuer.save()
    except IntegrityError:  # created meanwhile by another transaction
        raise refuse("name", f"an issuer named {name} already exists") from None
    return issuer


def issuer_for(name: str) -> Issuer:
    try:
        return Issuer.objects.get_or_create(name=name)[0]
    except IntegrityError:  # created meanwhile by another transaction
        return Issuer.objects.get(name=name)
