"""Reminders to staff of what is coming due (product.md, "Celery beat"): each found once, kept for
the dashboard, and e-mailed once to STAFF_EMAILS, even if the job runs twice."""

import logging
import smtplib
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from notes.models import Approval, Warrant
from servicing import clock, engine
from servicing.engine.calendar import add_business_days
from servicing.models import DefaultEvent, JobRun, Prepayment, Reminder
from servicing.selectors import notes_with_balances

log = logging.getLogger(__name__)
JOB = "reminders"
Kind = Reminder.Kind


def reminders_found(today: date) -> list[Reminder]:
    """Everything due soon or overdue as of `today` (after the close through yesterday)."""
    found = []

    def add(kind, key, due_on, message, note=None, warrant=None):
        found.append(
            Reminder(kind=kind, key=key, due_on=due_on, message=message, note=note, warrant=warrant, created_on=today)
        )

    notes = list(notes_with_balances().filter(principal_outstanding__gt=0).order_by("number"))
    soon = add_business_days(today, 5, "XFED")
    for note in notes:
        due = engine.accrual.next_due_date(today, note.calendar)
        if today < due <= soon and due <= note.maturity_date:
            add(
                Kind.INTEREST_DUE,
                f"interest_due:{note.pk}:{due}",
                due,
                f"{note.number} ({note.holder}): interest for {today:%B} due {due}; "
                f"{note.accrued_interest:,.2f} accrued through {note.closed_through}.",
                note,
            )
        for days, kind in ((30, Kind.MATURITY_30), (7, Kind.MATURITY_7)):
            if today <= note.maturity_date <= today + timedelta(days=days):
                add(
                    kind,
                    f"{kind}:{note.pk}",
                    note.maturity_date,
                    f"{note.number} ({note.holder}) matures {note.maturity_date}: principal "
                    f"{note.principal_outstanding:,.2f} falls due.",
                    note,
                )
    for note in notes_with_balances().filter(past_due__gt=0).order_by("number"):
        add(
            Kind.PAST_DUE,
            f"past_due:{note.pk}:{note.past_due_since}",
            note.past_due_since,
            f"{note.number} ({note.holder}): {note.past_due:,.2f} past due since {note.past_due_since}.",
            note,
        )
    window = add_business_days(today, 2, "XFED")
    scheduled = Prepayment.objects.filter(approval=Approval.APPROVED, status=Prepayment.Status.SCHEDULED)
    for p in scheduled.filter(window_end__gte=today, window_end__lte=window).select_related("note__holder"):
        add(
            Kind.WINDOW_CLOSING,
            f"window_closing:{p.pk}",
            p.window_end,
            f"{p.note.number} ({p.note.holder}): the holder's conversion window closes {p.window_end}; "
            f"prepayment {p.prepayment_date}.",
            p.note,
        )
    breaches = DefaultEvent.objects.filter(
        kind=DefaultEvent.Kind.COVENANT, cured_on__isnull=True, approval=Approval.APPROVED
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


def reminders_run(*, today: date | None = None) -> JobRun:
    """Record today's new reminders and e-mail every reminder not yet e-mailed, once."""
    today = today or clock.today()
    run = JobRun.objects.create(job=JOB, through=today)
    found = reminders_found(today)
    known = set(Reminder.objects.filter(key__in=[r.key for r in found]).values_list("key", flat=True))
    Reminder.objects.bulk_create(found, ignore_conflicts=True)  # a key already there is not found again
    emailed = 0
    try:
        emailed = _email_unsent()
    except (smtplib.SMTPException, OSError) as e:
        log.warning("reminder e-mail failed: %s", e)
        run.failures.append({"error": f"{type(e).__name__}: {e}"})  # left unsent: the next run tries again
    run.summary = {"found": len([r for r in found if r.key not in known]), "emailed": emailed}
    run.finished_at = timezone.now()
    run.save()
    return run


@transaction.atomic
def _email_unsent() -> int:
    # Rows locked by a run already e-mailing them are skipped, so two runs never send one twice.
    unsent = list(
        Reminder.objects.select_for_update(skip_locked=True).filter(emailed_at__isnull=True).order_by("due_on", "pk")
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
