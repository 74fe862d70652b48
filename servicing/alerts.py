"""E-mails to the staff (STAFF_EMAILS) when something needs a person: a job run that failed, a
statement given up.

An alert that cannot be sent is logged, never raised: the job's own record stays the truth.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from notes.models import Note

log = logging.getLogger(__name__)
SHOWN = 20  # failures listed in one e-mail at most


def _send(subject: str, lines: list[str]) -> bool:
    try:
        send_mail(
            subject=subject[:200],
            message="\n".join(lines) + "\n",
            from_email=None,
            recipient_list=settings.STAFF_EMAILS,
        )
    except Exception:  # noqa: BLE001 - SMTP down: the run's record says it all, and the log says this
        log.exception("alert e-mail not sent: %s", subject)
        return False
    return True


def _url(name: str, *args) -> str:
    """The page's full address for staff (SITE_URL and the page's path)."""
    return f"{settings.SITE_URL.rstrip('/')}{reverse(name, args=args)}"


def job_run_failed(run) -> bool:
    """Tell the staff that a job run ended failed: what it did, its first failures, where to look."""
    failures = run.failures or []
    ids = {f["note"] for f in failures[:SHOWN] if isinstance(f, dict) and "note" in f}
    numbers = dict(Note.objects.filter(pk__in=ids).values_list("pk", "number"))
    lines = [
        f"The job run {run.job} (run {run.pk}), started {run.started_at:%Y-%m-%d %H:%M:%S %Z}"
        f"{f', through {run.through}' if run.through else ''}, ended failed with {len(failures)} failure(s).",
        "",
        f"It processed {run.notes_processed:,} and posted {run.entries_posted:,} entries.",
        "",
        *(f"- {_failure_words(f, numbers)}" for f in failures[:SHOWN]),
    ]
    if len(failures) > SHOWN:
        lines.append(f"- and {len(failures) - SHOWN} more")
    lines += ["", f"Job runs: {_url('servicing:jobs')}"]
    return _send(f"Job run failed: {run.job} ({len(failures)} failure(s))", lines)


def _failure_words(failure, numbers: dict | None = None) -> str:
    """A failure as one line (its error may hold record text with line breaks), its note by number."""
    if not isinstance(failure, dict):
        return one_line(failure)
    where = f"note {(numbers or {}).get(failure['note'], failure['note'])}: " if "note" in failure else ""
    return f"{where}{one_line(failure.get('error', ''))}"


def job_run_not_taken_up(run, times: int) -> bool:
    """Tell the staff that a job's runs were abandoned `times` times in a row (their worker died each
    time) and it is not queued again: a person looks at why before it runs."""
    lines = [
        f"The job run {run.job} (run {run.pk}) was abandoned: its worker died. It is the last of {times} runs "
        "abandoned in a row, each a retry of the one before, so it is not queued again.",
        "",
        f"Last failure: {_failure_words((run.failures or ['(none recorded)'])[-1])}",
        "",
        "What to do: read the worker's log for why it stops (memory, a time limit, one note), then run the",
        "job by hand (manage.py) or wait for its next schedule.",
        "",
        f"Job runs: {_url('servicing:jobs')}",
    ]
    return _send(f"Job not taken up: {run.job}, abandoned {times} times in a row", lines)


def one_line(text, limit: int = 500) -> str:
    """Record text as one line of plain text: every run of whitespace (line breaks included) one space."""
    return " ".join(str(text).split())[:limit]


def statement_given_up(delivery) -> bool:
    """Tell the staff that a holder's statement was given up: who, which month, after how many
    tries, the last error, and what to do. The holder's name is record text: one line, plain."""
    holder, month = delivery.holder, delivery.month
    name = one_line(holder.name, 80)
    lines = [
        f"The statement for {month:%B %Y} to {one_line(holder.name)} (holder {holder.pk}) was given up "
        f"after {delivery.attempts} attempt(s).",
        "",
        f"Last error: {one_line(delivery.last_error) or '(none recorded)'}",
        "",
        "What to do: send it by post (its PDF, when it was made, is on the holder's page and the",
        "statements page), or correct the holder's e-mail address and send it by hand: no run tries a",
        "given-up statement again.",
        "",
        f"Holder: {_url('holders:detail', holder.pk)}",
        f"Statements: {_url('servicing:statements')}",
    ]
    return _send(f"Statement given up: {name}, {month:%B %Y}", lines)
