"""The statement run: one PDF per holder per month, e-mailed, each delivery recorded.

A run creates a delivery for each holder with something to report (once: a second run for the
same month creates nothing new) and queues one task per delivery, so several workers share it.
A task claims its delivery with a conditional UPDATE, produces the statement (once), sends it,
and records the outcome. A failed e-mail is retried later with backoff up to a limit, then left
visible as given up (and the staff are told, servicing.alerts). A worker that dies mid-delivery
leaves the claim to expire; the next run takes it up again.

Every run is a job run: "statements" for the month's, "statement_retries" for the daily run that
takes up the deliveries whose retry is due or whose worker died. A run *holds* the deliveries it
queued (StatementDelivery.run): only its tasks, and their retries, try them, and each one's
outcome in that run is a StatementOutcome (sent, given up, skipped, or passed on to a later run
that took it up). The run's summary counts them, and the run ends when the last of them has an
outcome: *failed* if any was given up, else *finished*. So a run with a failing e-mail stays
running through its retries (5, 10, 20… minutes), as the work is not done.
"""

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.template.loader import render_to_string
from django.utils import timezone
from simple_history.utils import update_change_reason

from holders.models import Holder
from servicing import alerts, clock, jobruns
from servicing.close import JOB as CLOSE_JOB
from servicing.documents import statement_produce
from servicing.engine.calendar import add_months, is_business_day
from servicing.models import JobRun, StatementDelivery, StatementOutcome
from servicing.services import check_year
from servicing.statements import Statement, month_start, notes_to_report, statement_for
from servicing.templatetags.documents import money
from servicing.words import long_date

log = logging.getLogger(__name__)
JOB = "statements"
RETRIES_JOB = "statement_retries"
Status = StatementDelivery.Status
Result = StatementOutcome.Outcome


def send_task(delivery_id: int, run_id: int | None = None) -> None:
    """Queue one delivery's task for its run (tasks.py imports this module, hence the late import)."""
    from servicing.tasks import send_statement_task

    send_statement_task.delay(delivery_id, run_id)


def statements_run(*, month: date, holder_ids: list[int] | None = None, by=None, enqueue=None) -> JobRun:
    """Queue the statements of `month` (default: every holder with something to report): the new
    deliveries, and those of an earlier run now due again."""
    month = month_start(month)
    latest = add_months(month_start(clock.today()), -1)
    if month > latest:
        raise ValidationError({"month": [f"month {month:%Y-%m} has not ended: the latest month is {latest:%Y-%m}"]})
    check_year("month", month)
    run = jobruns.start(JOB, through=month, by=by)
    # One rule for who has something to report, the same statement_for lists the notes by.
    holders = Holder.objects.filter(notes__in=notes_to_report(month)).distinct().order_by("pk")
    if holder_ids is not None:
        holders = holders.filter(pk__in=holder_ids)
    created = 0
    waiting = []
    for holder in holders:
        delivery, new = StatementDelivery.objects.get_or_create(
            holder=holder, month=month, defaults={"email": holder.email}
        )
        created += new
        if new and by is None:
            update_change_reason(delivery, f"job {JOB}")  # its history names the job (no user is signed in)
        if delivery.status in (Status.QUEUED, Status.FAILED, Status.SENDING):
            waiting.append(delivery.pk)
    run.notes_processed = created
    run.summary = {"month": f"{month:%Y-%m}", "deliveries_created": created}
    run.save(update_fields=["notes_processed", "summary"])
    _take_up(run, waiting, enqueue)
    run.refresh_from_db()
    return run


def retries_run(*, enqueue=None, besides: JobRun | None = None) -> JobRun | None:
    """A "statement_retries" run that takes up the deliveries whose retry time has come, or whose
    worker died (any month), but those the run `besides` has just queued. None when none is due."""
    due_now = StatementDelivery.objects.filter(_claimable(timezone.now()))
    if besides is not None:
        due_now = due_now.exclude(run=besides)
    ids = list(due_now.values_list("pk", flat=True))
    if not ids:
        return None
    run = jobruns.start(RETRIES_JOB)
    _take_up(run, ids, enqueue)
    run.refresh_from_db()
    return run


def retry_due(*, enqueue=None) -> int:
    """Queue again the deliveries whose retry time has come, or whose worker died, in a run of
    their own (retries_run); how many."""
    run = retries_run(enqueue=enqueue)
    return run.summary.get("queued", 0) if run else 0


def due():
    """The deliveries a run would take up now (their retry time has come, or their claim expired)."""
    return StatementDelivery.objects.filter(_claimable(timezone.now()))


def _take_up(run: JobRun, ids: list[int], enqueue=None) -> int:
    """Make `run` hold those of the deliveries that wait for a try now, queue a task for each after
    commit, and record its counts; a run that held one before passes it on (and may end)."""
    now = timezone.now()
    with transaction.atomic():
        mine = StatementDelivery.objects.select_for_update().filter(pk__in=ids).filter(_claimable(now))
        ids = list(mine.values_list("pk", flat=True))
        before = StatementOutcome.objects.filter(delivery_id__in=ids, outcome=Result.WAITING).exclude(run=run)
        earlier = set(before.values_list("run_id", flat=True))
        before.update(outcome=Result.PASSED_ON, finished_at=now)
        StatementDelivery.objects.filter(pk__in=ids).update(run=run)
        StatementOutcome.objects.bulk_create([StatementOutcome(run=run, delivery_id=pk) for pk in ids])
        for pk in sorted(earlier):
            settle(pk)
        settle(run.pk)
    enqueue = enqueue or (lambda pk: send_task(pk, run.pk))
    for pk in ids:
        transaction.on_commit(lambda pk=pk: enqueue(pk))
    return len(ids)


def settle(run_id: int) -> JobRun:
    """Count the run's outcomes into its summary, from its StatementOutcome rows, with the run's row
    locked (two tasks finishing at once count in turn); when none waits any more, end the run:
    *failed* if a statement was given up (its failures name holder and error), else *finished*."""
    with transaction.atomic():
        run = JobRun.objects.select_for_update().get(pk=run_id)
        outcomes = StatementOutcome.objects.filter(run=run)
        by = dict(outcomes.values_list("outcome").annotate(n=Count("pk")).order_by())
        counts = {
            "queued": sum(by.values()),
            "sent": by.get(Result.SENT, 0),
            "failed": outcomes.aggregate(n=Sum("failed"))["n"] or 0,
            "given_up": by.get(Result.GAVE_UP, 0),
            "skipped": by.get(Result.SKIPPED, 0),
            "passed_on": by.get(Result.PASSED_ON, 0),
            "waiting": by.get(Result.WAITING, 0),
        }
        run.summary = {**(run.summary or {}), **counts}
        run.heartbeat_at = timezone.now()
        if counts["waiting"]:
            run.save(update_fields=["summary", "heartbeat_at"])
            return run
        given_up = outcomes.filter(outcome=Result.GAVE_UP).select_related("delivery__holder").order_by("pk")
        run.failures = [
            {
                "holder": o.delivery.holder_id,
                "delivery": o.delivery_id,
                "error": alerts.one_line(
                    f"holder {o.delivery.holder.name}, statement {o.delivery.month:%Y-%m} given up: {o.error}"
                ),
            }
            for o in given_up
        ]
        ended_right = run.state == JobRun.State.FAILED or (run.state == JobRun.State.FINISHED and not run.failures)
        if ended_right:
            run.save(update_fields=["summary", "heartbeat_at", "failures"])
        else:  # running, found abandoned meanwhile, or a late outcome changed how it ended
            jobruns.finish(run)
        return run


def _claimable(now) -> Q:
    stale = now - timedelta(seconds=settings.STATEMENT_CLAIM_SECONDS)
    waiting = Q(status__in=[Status.QUEUED, Status.FAILED]) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    return waiting | Q(status=Status.SENDING, claimed_at__lt=stale)


@dataclass
class Outcome:
    status: str
    retry_in: int | None = None  # seconds, when the e-mail should be tried again


def statement_deliver(delivery_id: int, run_id: int | None = None) -> Outcome:
    """Claim the delivery (for the run `run_id` that holds it: a run that passed it on tries it no
    more), produce its statement once, e-mail it, and record what happened, in the run too."""
    now = timezone.now()
    mine = StatementDelivery.objects.filter(_claimable(now), pk=delivery_id)
    if run_id is not None:
        mine = mine.filter(run_id=run_id)
    claimed = mine.update(status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        if run_id is not None:
            _record(run_id, delivery_id, Result.SKIPPED)
        return Outcome("skipped")  # sent, given up, not yet due, passed on, or another worker has it
    delivery = StatementDelivery.objects.select_related("holder", "document").get(pk=delivery_id)
    delivery._run_id = run_id or delivery.run_id  # a task queued before runs held deliveries gives none
    holder = delivery.holder
    try:
        statement = statement_for(holder, delivery.month)
        if not statement.notes:  # a reversal approved since the run left nothing to report
            return _finish(delivery, Status.GAVE_UP, error="nothing to report for the month: no statement made")
        if delivery.document is None:
            delivery.document = statement_produce(holder=holder, month=delivery.month, statement=statement, job=JOB)
            delivery._change_reason = f"job {JOB}"
            delivery.save(update_fields=["document"])
        if not holder.email:
            return _finish(delivery, Status.GAVE_UP, error="the holder has no e-mail address; send it by post")
        _send(delivery, statement)
    except Exception as e:  # SMTP down, a refused address, a statement that failed to print: recorded, retried
        error = f"{type(e).__name__}: {e}"
        log.warning("statement %s to %s failed: %s", delivery.pk, holder.email, error, exc_info=True)
        if delivery.attempts >= settings.STATEMENT_MAX_ATTEMPTS:
            return _finish(delivery, Status.GAVE_UP, error=error)
        wait = settings.STATEMENT_RETRY_SECONDS * 2 ** (delivery.attempts - 1)
        return _finish(delivery, Status.FAILED, error=error, retry_in=wait)
    return _finish(delivery, Status.SENT)


def _send(delivery: StatementDelivery, statement: Statement) -> None:
    """The statement e-mailed: a named sender and a Reply-To from settings, a subject naming the
    month, the notes and their issuers, a plain-text summary with an HTML alternative, and the PDF.
    No header carries an internal id."""
    holder, month, document = delivery.holder, delivery.month, delivery.document
    message = EmailMultiAlternatives(
        subject=message_subject(statement),
        body=message_body(statement),
        from_email=settings.STATEMENT_FROM_EMAIL,
        to=[holder.email],
        reply_to=[settings.STATEMENT_REPLY_TO],
    )
    message.attach_alternative(render_to_string("servicing/email/statement.html", {"s": statement}), "text/html")
    with document.pdf.open("rb") as pdf:
        message.attach(f"statement-{month:%Y-%m}.pdf", pdf.read(), "application/pdf")
    message.send(fail_silently=False)


def message_subject(statement: Statement) -> str:
    """ "Statement for October 2026 — Note CN-0001, Innovo Corp.": the notes by issuer; past three
    notes, their count."""
    by_issuer: dict[str, list[str]] = {}
    for n in statement.notes:
        by_issuer.setdefault(n.note.issuer.name, []).append(n.note.number)
    count = len(statement.notes)
    if count > 3:
        what = f"{count} notes, {', '.join(by_issuer)}"
    else:
        what = "; ".join(
            f"{'Note' if len(numbers) == 1 else 'Notes'} {' and '.join(numbers)}, {issuer}"
            for issuer, numbers in by_issuer.items()
        )
    return f"Statement for {statement.month:%B %Y} — {what}"


def message_body(statement: Statement) -> str:
    """The e-mail's plain-text summary of the attached statement: the statement's own figures."""
    holder, month, servicer = statement.holder, statement.month, statement.servicer
    lines = [
        f"Dear {holder.name},",
        "",
        f"Attached is your statement for {month:%B %Y}. Its figures are as of the end of {long_date(statement.as_of)}.",
        "",
    ]
    for n in statement.notes:
        due = (
            f"{money(n.next_due_amount)} due on {long_date(n.next_due_on)}"
            if n.next_due_on and n.next_due_amount
            else "nothing billed falls due later"
        )
        if n.computed_through < statement.as_of:
            due += f" (as of {long_date(n.computed_through)}, the last day this note is computed)"
        lines.append(
            f"Note {n.note.number} ({n.note.issuer.name}): {n.status.word}; principal {money(n.closing_principal)}; "
            f"past due {money(n.past_due_total)}; {due}."
        )
    totals = []
    if statement.past_due:
        totals.append(f"Past due, due now: {money(statement.past_due)}.")
    for day, amount in statement.due_next:
        totals.append(f"Due on {long_date(day)}: {money(amount)}.")
    if totals:
        lines += ["", *totals]
    lines += [
        "",
        f"Questions, or a figure you believe is wrong: write within {servicer.dispute_days} days to "
        f"{servicer.name}, {servicer.address_line}; telephone {servicer.phone}; e-mail {servicer.email}.",
        "",
        "Please keep the attached PDF.",
    ]
    return "\n".join(lines)


def _finish(delivery: StatementDelivery, status: str, *, error: str = "", retry_in: int | None = None) -> Outcome:
    now = timezone.now()
    delivery.status = status
    delivery.last_error = error
    delivery.sent_at = now if status == Status.SENT else None
    delivery.next_attempt_at = now + timedelta(seconds=retry_in) if retry_in else None
    delivery._change_reason = f"job {JOB}"  # its history names the job (no user is signed in)
    run_id = getattr(delivery, "_run_id", None)
    with transaction.atomic():
        delivery.save(update_fields=["status", "last_error", "sent_at", "next_attempt_at"])
        if status == Status.GAVE_UP:  # told before the run's own alert, if the run ends with it
            transaction.on_commit(lambda: alerts.statement_given_up(delivery))
        if run_id is not None:
            _record(run_id, delivery.pk, status, error)
    return Outcome(status, retry_in)


def _record(run_id: int, delivery_id: int, status: str, error: str = "") -> None:
    """The try's outcome in the run's StatementOutcome: a failed try counts and waits for the run's
    retry; sent or given up ends it; skipped ends it only if it still waited (a try that did the
    work is the truth, even in a run that has passed it on meanwhile). Then the run is settled."""
    now = timezone.now()
    row = StatementOutcome.objects.filter(run_id=run_id, delivery_id=delivery_id)
    if status == Result.SKIPPED:
        changed = row.filter(outcome=Result.WAITING).update(outcome=Result.SKIPPED, finished_at=now)
    elif status == Status.FAILED:
        changed = row.update(tries=F("tries") + 1, failed=F("failed") + 1, error=error)
    else:
        changed = row.update(outcome=status, tries=F("tries") + 1, error=error, finished_at=now)
    if changed:
        settle(run_id)


def statements_due(today: date) -> date | None:
    """The month whose statements are due today: the previous month, on a business day once the
    close has billed it (a close through the 1st has run)."""
    month = month_start(today - timedelta(days=today.day))
    first = month_start(today)
    ended = [JobRun.State.FINISHED, JobRun.State.FAILED]  # not abandoned: that close stopped part way
    closed = JobRun.objects.filter(job=CLOSE_JOB, through__gte=first, state__in=ended).exists()
    done = JobRun.objects.filter(job=JOB, through=month).exists()
    if closed and not done and is_business_day(today, "XFED"):
        return month
    return None
