"""`/health/`: what a proxy or a monitor polls. 200 only when every check is right, 503 otherwise,
with one JSON entry per check. Open without a login, read-only, a few queries, and nothing secret
in the body (an error is named by its class, never by its message, which may hold a host or a URL)."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

CLOSE_JOB = "close_books"  # servicing.close.JOB, named here so a failing import cannot hide the check
TIMEOUT_SECONDS = 3


def failed(error: Exception) -> dict:
    return {"ok": False, "error": type(error).__name__}


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - any failure is the answer
        return failed(error)
    return {"ok": True, "vendor": connection.vendor}


def check_redis() -> dict:
    """The broker the worker and beat share; with none configured, tasks run in process (not used)."""
    url = settings.CELERY_BROKER_URL
    if not url:
        return {"ok": True, "used": False}
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            import redis

            client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)
            try:
                client.ping()
            finally:
                client.close()
        else:
            from kombu import Connection

            with Connection(url, connect_timeout=TIMEOUT_SECONDS) as broker:
                broker.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
    except Exception as error:  # noqa: BLE001
        return failed(error)
    return {"ok": True, "used": True}


def check_storage() -> dict:
    """The documents' storage (MEDIA_ROOT) takes a tiny file and lets it go."""
    try:
        name = default_storage.save(f".health-{secrets.token_hex(8)}.txt", ContentFile(b"ok"))
        default_storage.delete(name)
    except Exception as error:  # noqa: BLE001
        return failed(error)
    return {"ok": True}


def check_close() -> dict:
    """The latest close that ended (finished, failed or abandoned; one still running is not yet an
    answer) finished, and recently (HEALTH_CLOSE_MAX_AGE_HOURS); with no notes, none is needed."""
    from notes.models import Note
    from servicing.models import JobRun

    hours = settings.HEALTH_CLOSE_MAX_AGE_HOURS
    try:
        latest = (
            JobRun.objects.filter(job=CLOSE_JOB)
            .exclude(state=JobRun.State.RUNNING)
            .order_by("-finished_at", "-pk")
            .values("state", "finished_at")
            .first()
        )
        if latest is None and not Note.objects.exists():
            return {"ok": True, "needed": False}
    except Exception as error:  # noqa: BLE001
        return failed(error)
    if latest is None:
        return {"ok": False, "max_age_hours": hours, "state": None, "finished_at": None}
    finished = latest["finished_at"]
    recent = timezone.now() - finished <= timedelta(hours=hours)
    entry = {"max_age_hours": hours, "state": latest["state"], "finished_at": finished.isoformat()}
    return {"ok": latest["state"] == JobRun.State.FINISHED and recent, **entry}


CHECKS = {"database": check_database, "redis": check_redis, "storage": check_storage, "close": check_close}


@login_not_required
@require_safe
@never_cache
@transaction.non_atomic_requests
def health(request):
    checks = {name: check() for name, check in CHECKS.items()}
    status = 200 if all(entry["ok"] for entry in checks.values()) else 503
    return JsonResponse(checks, status=status)
