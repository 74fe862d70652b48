"""`/metrics`: Prometheus metrics, behind a bearer token (METRICS_TOKEN; unset, the page is off).

The business figures (job runs, the close, statement e-mails, failed logins) are read from the
database at each scrape (`ServicingCollector`), so every web worker answers the same, whatever ran
in which process. django-prometheus's request and database figures, and the process's own, are
counted in the process that answers."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Sum
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django_prometheus.middleware import PrometheusAfterMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

CLOSE_JOB = "close_books"  # servicing.close.JOB
RECENT = timedelta(days=7)


def families() -> dict:
    """Every metric of the collector, empty: its names and help, for the registry."""
    job = ["job"]
    return {
        "runs": CounterMetricFamily(
            "servicing_job_runs",
            "Runs of each job by state: running, finished, failed, abandoned (its worker died).",
            labels=["job", "state"],
        ),
        "last_duration": GaugeMetricFamily(
            "servicing_job_last_duration_seconds",
            "How long the last run of each job that ended (finished or failed) took.",
            labels=job,
        ),
        "last_finished": GaugeMetricFamily(
            "servicing_job_last_finished_timestamp_seconds",
            "When the last run of each job that ended (finished or failed) ended (Unix time).",
            labels=job,
        ),
        "last_failures": GaugeMetricFamily(
            "servicing_job_last_failures",
            "Failures recorded by the last run of each job that ended (finished or failed).",
            labels=job,
        ),
        "recent_runs": GaugeMetricFamily(
            "servicing_job_recent_runs",
            "Runs of each job that ended (finished or failed) in the last 7 days.",
            labels=job,
        ),
        "recent_max": GaugeMetricFamily(
            "servicing_job_recent_duration_seconds_max",
            "The longest run of each job that ended (finished or failed) in the last 7 days.",
            labels=job,
        ),
        "notes_closed": CounterMetricFamily(
            "servicing_notes_closed", "Notes processed by every close (close_books) run, added up."
        ),
        "close_notes": GaugeMetricFamily("servicing_close_last_notes", "Notes processed by the last finished close."),
        "close_entries": GaugeMetricFamily(
            "servicing_close_last_entries", "Ledger entries posted by the last finished close."
        ),
        "statements": GaugeMetricFamily(
            "servicing_statements",
            "Statement e-mails by status: queued, sending, sent, failed, gave_up.",
            labels=["status"],
        ),
        "login_failures": CounterMetricFamily(
            "servicing_login_failures", "Failed logins (django-axes' failure log, up to 1,000 kept per user name)."
        ),
        "lockouts": GaugeMetricFamily(
            "servicing_login_lockouts", "User names (from one address) locked out now after repeated failures."
        ),
    }


def collect_jobs(found: dict) -> None:
    from servicing.models import JobRun

    # A run that ended by itself (finished or failed) has a duration; an abandoned one has none.
    ended = JobRun.objects.filter(state__in=[JobRun.State.FINISHED, JobRun.State.FAILED])
    counts = JobRun.objects.order_by().values_list("job", "state").annotate(n=Count("id"))
    for job, state, n in sorted(counts):
        found["runs"].add_metric([job, state], n)
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    recent = (
        ended.filter(finished_at__gte=timezone.now() - RECENT)
        .order_by()
        .values("job")
        .annotate(n=Count("id"), longest=Max(duration))
    )
    for row in sorted(recent, key=lambda row: row["job"]):
        found["recent_runs"].add_metric([row["job"]], row["n"])
        found["recent_max"].add_metric([row["job"]], row["longest"].total_seconds())
    for job in sorted({job for job, _, _ in counts}):
        last = (
            ended.filter(job=job)
            .order_by("-finished_at", "-pk")
            .only("started_at", "finished_at", "failures", "notes_processed", "entries_posted")
            .first()
        )
        if last is None:
            continue
        found["last_duration"].add_metric([job], (last.finished_at - last.started_at).total_seconds())
        found["last_finished"].add_metric([job], last.finished_at.timestamp())
        found["last_failures"].add_metric([job], len(last.failures or []))
        if job == CLOSE_JOB:
            found["close_notes"].add_metric([], last.notes_processed)
            found["close_entries"].add_metric([], last.entries_posted)
    closed = JobRun.objects.filter(job=CLOSE_JOB).aggregate(n=Sum("notes_processed"))["n"]
    found["notes_closed"].add_metric([], closed or 0)


def collect_statements(found: dict) -> None:
    from servicing.models import StatementDelivery

    counts = dict(StatementDelivery.objects.order_by().values_list("status").annotate(n=Count("id")))
    for status in StatementDelivery.Status.values:
        found["statements"].add_metric([status], counts.get(status, 0))


def collect_logins(found: dict) -> None:
    from axes.helpers import get_cool_off
    from axes.models import AccessAttempt, AccessFailureLog

    found["login_failures"].add_metric([], AccessFailureLog.objects.count())
    limit = settings.AXES_FAILURE_LIMIT
    if isinstance(limit, int):  # a callable limit depends on the request: no figure
        locked = AccessAttempt.objects.filter(failures_since_start__gte=limit)
        cool_off = get_cool_off()
        if cool_off is not None:
            locked = locked.filter(attempt_time__gt=timezone.now() - cool_off)
        found["lockouts"].add_metric([], locked.count())


class RequestMetricsMiddleware(PrometheusAfterMiddleware):
    """django-prometheus' request figures, each labelled by a method it knows (any other is
    `<invalid method>`): its own labels its latency histogram by the method as sent, so a client
    making up methods (`AAAA`, `AAAB`…) would add a histogram to every web worker's memory with each.
    Its other labels are bounded already: the view's name (never the path), the status, the template."""

    def label_metric(self, metric, request, response=None, **labels):
        if "method" in labels:
            labels["method"] = self._method(request)
        return super().label_metric(metric, request, response, **labels)


class ServicingCollector:
    """A few aggregate queries at each scrape."""

    def describe(self):
        return list(families().values())

    def collect(self):
        found = families()
        collect_jobs(found)
        collect_statements(found)
        collect_logins(found)
        return list(found.values())


_registered = False


def register() -> None:
    """Once per process (AppConfig.ready)."""
    global _registered
    if not _registered:
        REGISTRY.register(ServicingCollector())
        _registered = True


def authorized(request, token: str) -> int:
    """200, or the refusal's status: 401 without a bearer token, 403 with a wrong one."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return 401
    return 200 if secrets.compare_digest(given.strip().encode(), token.encode()) else 403


@login_not_required
@never_cache
@transaction.non_atomic_requests
def metrics(request):
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("Metrics are off.")
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    status = authorized(request, token)
    if status == 401:
        response = HttpResponse("A bearer token is needed.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if status == 403:
        return HttpResponse("The token is not right.\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
