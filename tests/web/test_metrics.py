"""/metrics: off without METRICS_TOKEN, a bearer token to read it, and the business figures as the
database holds them."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from servicing.models import JobRun, StatementDelivery
from tests.factories import HolderFactory

pytestmark = pytest.mark.django_db
URL = "/metrics"
TOKEN = "s3cret-metrics-token-for-tests"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, url=URL) -> dict:
    """{(name, labels as a sorted tuple): value} of every sample."""
    response = client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response
    assert response["Content-Type"].startswith("text/plain")
    assert "no-store" in response["Cache-Control"]
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def run(job, *, seconds, ended_hours_ago=1.0, state=None, **counts) -> JobRun:
    made = JobRun.objects.create(job=job, **counts)
    finished = timezone.now() - timedelta(hours=ended_hours_ago)
    state = state or ("failed" if made.failures else "finished")
    JobRun.objects.filter(pk=made.pk).update(
        state=state, started_at=finished - timedelta(seconds=seconds), finished_at=finished
    )
    made.refresh_from_db()
    return made


def test_without_a_token_set_the_page_is_not_found(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get(URL).status_code == 404
    assert client.get(URL, headers={"Authorization": "Bearer "}).status_code == 404
    assert client.get(URL + "/").status_code == 404


def test_no_header_401_and_a_wrong_token_403_saying_nothing_secret(client, token):
    response = client.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert client.get(URL, headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    wrong = client.get(URL, headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 403
    assert client.get(URL, headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 403
    assert client.get(URL, headers={"Authorization": "Bearer jetón-ñ"}).status_code == 403  # not ASCII
    for refused in (response, wrong):
        body = refused.content.decode()
        assert TOKEN not in body and "servicing_" not in body


def test_right_token_answers_without_a_login_both_spellings(client, token):
    for url in (URL, URL + "/"):
        assert ("servicing_notes_closed_total", ()) in scrape(client, url)


def test_only_get(client, token):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post(URL, headers=auth).status_code == 405
    assert client.put(URL, headers=auth).status_code == 405


def test_exempt_from_the_https_redirect(client, token, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(URL, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/login/").status_code == 301  # while the pages are redirected


def test_job_runs_and_the_close(client, token):
    run("close_books", seconds=90, ended_hours_ago=30, notes_processed=40, entries_posted=400)
    run("close_books", seconds=12.5, ended_hours_ago=2, notes_processed=42, entries_posted=126)
    JobRun.objects.create(job="close_books")  # running: counted, not ended
    run("close_books", seconds=999, ended_hours_ago=1, state="abandoned", notes_processed=7)  # no duration
    run("reminders", seconds=3, ended_hours_ago=5, failures=[{"note": 1, "error": "x"}])
    run("statements", seconds=7, ended_hours_ago=24 * 9)  # more than 7 days ago
    found = scrape(client)
    close = (("job", "close_books"),)
    assert found[("servicing_job_runs_total", (*close, ("state", "finished")))] == 2
    assert found[("servicing_job_runs_total", (*close, ("state", "running")))] == 1
    assert found[("servicing_job_runs_total", (*close, ("state", "abandoned")))] == 1
    assert found[("servicing_job_runs_total", (("job", "reminders"), ("state", "failed")))] == 1
    assert found[("servicing_job_last_duration_seconds", (("job", "close_books"),))] == 12.5
    assert found[("servicing_job_last_duration_seconds", (("job", "reminders"),))] == 3
    assert found[("servicing_job_last_duration_seconds", (("job", "statements"),))] == 7
    last = JobRun.objects.filter(job="close_books", notes_processed=42).get()
    assert found[("servicing_job_last_finished_timestamp_seconds", (("job", "close_books"),))] == pytest.approx(
        last.finished_at.timestamp()
    )
    assert found[("servicing_job_last_failures", (("job", "reminders"),))] == 1
    assert found[("servicing_job_last_failures", (("job", "close_books"),))] == 0
    assert found[("servicing_job_recent_runs", (("job", "close_books"),))] == 2
    assert found[("servicing_job_recent_duration_seconds_max", (("job", "close_books"),))] == 90
    assert ("servicing_job_recent_runs", (("job", "statements"),)) not in found
    assert found[("servicing_notes_closed_total", ())] == 89  # the abandoned run's notes were closed
    assert found[("servicing_close_last_notes", ())] == 42
    assert found[("servicing_close_last_entries", ())] == 126


def test_no_runs_yet(client, token):
    found = scrape(client)
    assert found[("servicing_notes_closed_total", ())] == 0
    assert ("servicing_close_last_notes", ()) not in found
    assert not any(name == "servicing_job_runs_total" for name, _ in found)


def test_statements_by_status(client, token):
    holders = [HolderFactory() for _ in range(4)]
    statuses = ["sent", "sent", "failed", "gave_up", "queued", "sent"]
    for i, status in enumerate(statuses):
        StatementDelivery.objects.create(holder=holders[i % 4], month=date(2026, 1 + i // 4, 1), status=status)
    found = scrape(client)
    statements = {
        dict(labels)["status"]: value for (name, labels), value in found.items() if name == "servicing_statements"
    }
    assert statements == {"queued": 1, "sending": 0, "sent": 3, "failed": 1, "gave_up": 1}


def test_failed_logins_and_lockouts(client, token, staff, settings):
    for _ in range(2):
        client.post(reverse("login"), {"username": staff.username, "password": "wrong"})
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "nobody", "password": "wrong"})
    found = scrape(client)
    assert found[("servicing_login_failures_total", ())] == 2 + settings.AXES_FAILURE_LIMIT
    assert found[("servicing_login_lockouts", ())] == 1


def test_every_business_metric_has_help(client, token):
    response = client.get(URL, headers={"Authorization": f"Bearer {TOKEN}"})
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}
    ours = [f for name, f in families.items() if name.startswith("servicing_")]
    assert len(ours) == 12
    assert all(f.documentation for f in ours)
    assert "django_http_requests_total_by_method" in families  # django-prometheus' request counts


def test_made_up_methods_and_paths_add_no_series(client, token):
    """Labels come from a bounded set: a client's made-up methods and paths are not label values."""
    for method in ("AAAA", "AAAB", "ZZZZZZZZZZZZZZZZZZZZ"):
        client.generic(method, "/login/")
        client.generic(method, f"/no-such-page-{method}/")
    client.get("/no-such-page-at-all/")
    response = client.get(URL, headers={"Authorization": f"Bearer {TOKEN}"})
    labels = {
        value
        for family in text_string_to_metric_families(response.content.decode())
        if family.name.startswith("django_http")
        for sample in family.samples
        for value in sample.labels.values()
    }
    assert "<invalid method>" in labels and "login" in labels
    assert not {"AAAA", "AAAB", "ZZZZZZZZZZZZZZZZZZZZ"} & labels
    assert not [value for value in labels if "no-such-page" in value]


def test_the_token_works_only_in_the_header_and_odd_requests_are_refused_plainly(client, token, staff):
    for query in (f"?token={TOKEN}", f"?access_token={TOKEN}", f"?authorization=Bearer%20{TOKEN}"):
        assert client.get(URL + query).status_code == 401
    client.force_login(staff)  # a logged-in user is no token
    assert client.get(URL).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for method in ("HEAD", "OPTIONS", "DELETE", "PATCH"):
        answer = client.generic(method, URL, headers=auth)
        assert answer.status_code == 405 and b"servicing_" not in answer.content
    huge = client.get(URL, headers={"Authorization": "Bearer " + "x" * 100_000})
    assert huge.status_code == 403 and len(huge.content) < 100
    spaced = client.get(URL, headers={"Authorization": f"Bearer  {TOKEN}  "})
    assert spaced.status_code == 200  # spaces around the token are not part of it
    for refused in ("Bearer", f"Token {TOKEN}", TOKEN, f"{TOKEN} Bearer"):
        assert client.get(URL, headers={"Authorization": refused}).status_code == 401


def test_only_our_view_exports_metrics():
    """django-prometheus' own export view (no token) is not among the site's URLs."""
    from django.urls import URLPattern, URLResolver, get_resolver, resolve

    from servicing import metrics

    def views(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from views(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                yield pattern.callback

    modules = {getattr(view, "__module__", "") or "" for view in views(get_resolver().url_patterns)}
    assert len(modules) > 5 and not [m for m in modules if m.startswith(("django_prometheus", "prometheus_client"))]
    assert resolve("/metrics").func is metrics.metrics and resolve("/metrics/").func is metrics.metrics
