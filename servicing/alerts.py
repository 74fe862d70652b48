"""E-mails to the staff (STAFF_EMAILS) when something needs a person: a job run that failed.

An alert that cannot be sent is logged, never raised: the job's own record stays the truth.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

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


def job_run_failed(run) -> bool:
    """Tell the staff that a job run ended failed: what it did, its first failures, where to look."""
    failures = run.failures or []
    lines = [
        f"The job run {run.job} (run {run.pk}), started {run.started_at:%Y-%m-%d %H:%M:%S %Z}"
        f"{f', through {run.through}' if run.through else ''}, ended failed with {len(failures)} failure(s).",
        "",
        f"It processed {run.notes_processed:,} and posted {run.entries_posted:,} entries.",
        "",
        *(f"- {_failure_words(f)}" for f in failures[:SHOWN]),
    ]
    if len(failures) > SHOWN:
        lines.append(f"- and {len(failures) - SHOWN} more")
    lines += ["", f"Job runs: {settings.SITE_URL.rstrip('/')}{reverse('servicing:jobs')}"]
    return _send(f"Job run failed: {run.job} ({len(failures)} failure(s))", lines)


def _failure_words(failure) -> str:
    if not isinstance(failure, dict):
        return str(failure)[:500]
    where = f"note {failure['note']}: " if "note" in failure else ""
    return f"{where}{str(failure.get('error', ''))[:500]}"
