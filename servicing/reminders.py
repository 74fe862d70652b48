"""Reminders to staff of what is coming due (product.md, "Celery beat"): each found once, kept for
the dashboard, and e-mailed once to STAFF_EMAILS, even if the job runs twice.

A reminder follows the facts: it holds while `reminders_found` still finds its key from what posting
keeps on the note row (past due and since when, principal, maturity) and the approved records
(prepayment windows, cures and waivers, warrants). That function is the one rule; `ended` asks it
again and says in words why each reminder that no longer holds ended. The dashboard and the
reminders page show only those that hold, so a payment's approval (which posts the note) takes the
past-due reminder off at once; the next `reminders_run` closes the rest with their reason."""

import logging
import smtplib
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from notes.models import Approval, Warrant
from servicing import clock, engine, jobruns
from servicing.engine.calendar import add_business_days, business_days_until
from servicing.models import Conversion, DefaultEvent, JobRun, Payment, Prepayment, Reminder
from servicing.selectors import notes_with_balances
from servicing.words import amount as amount_text

log = logging.getLogger(__name__)
JOB = "reminders"
Kind = Reminder.Kind


def reminders_found(today: date, note_ids: set[int] | None = None) -> list[Reminder]:
    """Everything due soon or overdue as of `today` (after the close through yesterday); of the notes
    `note_ids` only, when given (a page checking the reminders it shows looks at their notes alone)."""
    found = []

    def of_notes(queryset, field="pk"):
        return queryset if note_ids is None else queryset.filter(**{f"{field}__in": note_ids})

    def add(kind, key, due_on, message, note=None, warrant=None):
        found.append(
            Reminder(kind=kind, key=key, due_on=due_on, message=message, note=note, warrant=warrant, created_on=today)
        )

    notes = list(of_notes(notes_with_balances()).filter(principal_outstanding__gt=0).order_by("number"))
    soon = add_business_days(today, 5, "XFED")
    for note in notes:
        due = engine.accrual.next_due_date(today, note.calendar)
        if today < due <= soon and due <= note.maturity_date:
            add(
                Kind.INTEREST_DUE,
                f"interest_due:{note.pk}:{due}",
                due,
                f"{note.number} ({note.holder}): interest for {today:%B} due {due}; "
                f"{amount_text(note.accrued_interest)} accrued through {note.closed_through}.",
                note,
            )
        for days, kind in ((30, Kind.MATURITY_30), (7, Kind.MATURITY_7)):
            if today <= note.maturity_date <= today + timedelta(days=days):
                add(
                    kind,
                    f"{kind}:{note.pk}",
                    note.maturity_date,
                    f"{note.number} ({note.holder}) matures {note.maturity_date}: principal "
                    f"{amount_text(note.principal_outstanding)} falls due.",
                    note,
                )
    for note in of_notes(notes_with_balances()).filter(past_due__gt=0).order_by("number"):
        add(
            Kind.PAST_DUE,
            f"past_due:{note.pk}:{note.past_due_since}",
            note.past_due_since,
            f"{note.number} ({note.holder}): {amount_text(note.past_due)} past due since {note.past_due_since}.",
            note,
        )
    window = add_business_days(today, 2, "XFED")
    scheduled = of_notes(
        Prepayment.objects.filter(approval=Approval.APPROVED, status=Prepayment.Status.SCHEDULED), "note"
    )
    for p in scheduled.filter(window_end__gte=today, window_end__lte=window).select_related("note__holder"):
        add(
            Kind.WINDOW_CLOSING,
            f"window_closing:{p.pk}",
            p.window_end,
            f"{p.note.number} ({p.note.holder}): the holder's conversion window closes {p.window_end}; "
            f"prepayment {p.prepayment_date}.",
            p.note,
        )
    breaches = of_notes(
        DefaultEvent.objects.filter(kind=DefaultEvent.Kind.COVENANT, cured_on__isnull=True, approval=Approval.APPROVED),
        "note",
    )
    for event in breaches.select_related("note__holder").prefetch_related("waivers", "cures"):
        deadline = event.cure_deadline
        if event.ended_on is None and today <= deadline <= soon:
            add(
                Kind.CURE_DEADLINE,
                f"cure_deadline:{event.pk}",
                deadline,
                f"{event.note.number} ({event.note.holder}): covenant breach of {event.occurred_on} becomes an "
                f"Event of Default unless cured by the end of {deadline}.",
                event.note,
            )
    expiring = Warrant.objects.filter(
        status=Warrant.Status.OUTSTANDING, expires_on__gte=today, expires_on__lte=today + timedelta(days=30)
    )
    for w in expiring.select_related("holder"):
        add(
            Kind.WARRANT_EXPIRING,
            f"warrant_expiring:{w.pk}",
            w.expires_on,
            f"Warrant {w.number} ({w.holder}) expires {w.expires_on}.",
            warrant=w,
        )
    return found


def open_reminders():
    return Reminder.objects.filter(closed_at__isnull=True).select_related("note", "warrant").defer("note__engine_state")


def holding(reminders, today: date, found_keys=None) -> tuple[list[Reminder], list[Reminder]]:
    """`reminders` split into those whose condition still holds on `today` and those whose has
    ended, each of the latter with `closed_reason` set (not saved)."""
    if found_keys is None:  # found again for these reminders' notes only (and every warrant)
        found_keys = (r.key for r in reminders_found(today, {r.note_id for r in reminders if r.note_id}))
    keys = set(found_keys)
    held, over = [], []
    for r in reminders:
        (held if r.key in keys else over).append(r)
    reasons = _reasons(over, today)
    for r in over:
        r.closed_reason = reasons[r.pk]
    return held, over


def close_ended(today: date, found_keys=None) -> int:
    """Close every open reminder whose condition no longer holds, saying why; returns how many."""
    _, over = holding(list(open_reminders()), today, found_keys)
    now = timezone.now()
    for r in over:
        # Only a reminder still open is closed: another run may have closed it meanwhile.
        Reminder.objects.filter(pk=r.pk, closed_at__isnull=True).update(closed_at=now, closed_reason=r.closed_reason)
    return len(over)


def badge(r: Reminder, today: date) -> str:
    """What is true of it on `today`, counted in business days of the note's calendar."""
    if r.kind == Kind.PAST_DUE:
        return f"past due since {r.due_on}"
    if r.due_on < today:
        return f"was due {r.due_on}"
    if r.due_on == today:
        return "due today"
    n = business_days_until(today, r.due_on, r.note.calendar if r.note else "XFED")
    if n == 0:  # later today's date but no business day before it: a weekend or holiday
        return f"due {r.due_on:%A}, no business day before it"
    return f"due in {n} business day{'s' if n != 1 else ''}"


def _reasons(over: list[Reminder], today: date) -> dict[int, str]:
    """Why each ended, in words, from the same facts the finding reads."""
    if not over:
        return {}
    notes = {r.note_id for r in over if r.note_id}
    paid = {}
    for note_id, received_on in (
        Payment.objects.filter(note__in=notes, approval=Approval.APPROVED, reversed_at__isnull=True)
        .order_by("received_on")
        .values_list("note_id", "received_on")
    ):
        paid[note_id] = received_on  # the last
    converted = {}
    for c in Conversion.objects.filter(
        note__in=notes, approval=Approval.APPROVED, status=Conversion.Status.CONVERTED
    ).select_related("notice"):
        converted[c.note_id] = c.conversion_date
    ids = {_record_id(r) for r in over if r.kind in (Kind.WINDOW_CLOSING, Kind.CURE_DEADLINE)}
    prepayments = Prepayment.objects.in_bulk(ids)
    events = {
        e.pk: e
        for e in DefaultEvent.objects.filter(pk__in=ids).prefetch_related("waivers", "cures").select_related("note")
    }
    out = {}
    for r in over:
        note = r.note
        if note is not None and note.principal_outstanding == 0 and r.kind != Kind.CURE_DEADLINE:
            if note.pk in converted:
                out[r.pk] = f"converted on {converted[note.pk]}"
            else:
                out[r.pk] = f"paid off{f' on {paid[note.pk]}' if note.pk in paid else ''}"
        elif r.kind == Kind.PAST_DUE:
            if note.past_due > 0:
                out[r.pk] = f"past due again since {note.past_due_since}"
            else:
                out[r.pk] = f"paid on {paid[note.pk]}" if note.pk in paid else f"nothing past due on {today}"
        elif r.kind == Kind.INTEREST_DUE:
            out[r.pk] = f"due date {r.due_on} reached" + (
                f": {amount_text(note.past_due)} past due" if note.past_due > 0 else ": nothing past due"
            )
        elif r.kind in (Kind.MATURITY_30, Kind.MATURITY_7):
            out[r.pk] = f"matured on {note.maturity_date}"
        elif r.kind == Kind.WINDOW_CLOSING:
            p = prepayments.get(_record_id(r))
            if p is not None and p.status == Prepayment.Status.PAID:
                out[r.pk] = f"prepaid on {p.prepayment_date}"
            elif p is not None and p.window_end < today:
                out[r.pk] = f"window ended {p.window_end}"
            else:
                out[r.pk] = "the prepayment is no longer scheduled"
        elif r.kind == Kind.CURE_DEADLINE:
            e = events.get(_record_id(r))
            if e is not None and e.ended_on is not None:
                waived = e.ended_on in [w.waived_on for w in e.waivers.all() if w.is_approved]
                out[r.pk] = f"{'waived' if waived else 'cured'} on {e.ended_on}"
            elif e is not None and e.cure_deadline < today:
                out[r.pk] = f"not cured by {e.cure_deadline}: an Event of Default"
            else:
                out[r.pk] = "the breach is no longer recorded"
        elif r.kind == Kind.WARRANT_EXPIRING:
            w = r.warrant
            expired = w.expires_on < today
            out[r.pk] = f"expired on {w.expires_on}" if expired else f"warrant {w.get_status_display().lower()}"
        else:
            out[r.pk] = f"no longer found on {today}"
    return out


def _record_id(r: Reminder) -> int:
    """The prepayment or default event a window or cure-deadline reminder's key names ("kind:pk")."""
    return int(r.key.rsplit(":", 1)[1])


def reminders_run(*, today: date | None = None, retry_of: JobRun | None = None) -> JobRun:
    """Record today's new reminders and e-mail every reminder not yet e-mailed, once."""
    today = today or clock.today()
    run = jobruns.start(JOB, through=today, retry_of=retry_of)
    with jobruns.running(run):  # its heartbeat, while a slow mail server holds it
        found = reminders_found(today)
        known = set(Reminder.objects.filter(key__in=[r.key for r in found]).values_list("key", flat=True))
        Reminder.objects.bulk_create(found, ignore_conflicts=True)  # a key already there is not found again
        closed = close_ended(today, [r.key for r in found])  # before e-mailing: what ended is not sent
        emailed = 0
        try:
            emailed = _email_unsent()
        except (smtplib.SMTPException, OSError) as e:
            log.warning("reminder e-mail failed: %s", e)
            run.failures.append({"error": f"{type(e).__name__}: {e}"})  # left unsent: the next run tries again
    run.summary = {"found": len([r for r in found if r.key not in known]), "closed": closed, "emailed": emailed}
    jobruns.finish(run)
    return run


@transaction.atomic
def _email_unsent() -> int:
    # Rows locked by a run already e-mailing them are skipped, so two runs never send one twice.
    unsent = list(
        Reminder.objects.select_for_update(skip_locked=True)
        .filter(emailed_at__isnull=True, closed_at__isnull=True)
        .order_by("due_on", "pk")
    )
    if not unsent:
        return 0
    body = "\n".join(f"- {r.get_kind_display()}: {r.message}" for r in unsent)
    send_mail(
        subject=f"Servicing reminders: {len(unsent)} item(s)",
        message=f"Coming due or overdue:\n\n{body}\n",
        from_email=None,
        recipient_list=settings.STAFF_EMAILS,
    )
    Reminder.objects.filter(pk__in=[r.pk for r in unsent]).update(emailed_at=timezone.now())
    return len(unsent)
