"""Logs: one JSON object a line (LOG_FORMAT=json) carrying the bound context — the job run, the
request — for stdlib loggers and structlog's alike; a wrong LOG_FORMAT stops the start."""

import copy
import io
import json
import logging
import logging.config
import os
import subprocess
import sys
from contextlib import contextmanager

import pytest
import structlog
from django.conf import settings

from servicing.logs import bind_job_run, job_run_context
from servicing.models import JobRun


def formatter(name: str) -> logging.Formatter:
    """The formatter exactly as settings.LOGGING configures it."""
    config = copy.deepcopy(settings.LOGGING["formatters"][name])
    return logging.config.DictConfigurator({"version": 1}).configure_formatter(config)


@contextmanager
def captured(*names, level=logging.INFO, format="json"):
    """The lines the loggers `names` write meanwhile, formatted as LOGGING's `format` says."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(format))
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(level)
    lines = []
    try:
        yield lines
    finally:
        for logger, was in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(was)
        lines.extend(stream.getvalue().splitlines())


@pytest.fixture(autouse=True)
def clean_context():
    structlog.contextvars.clear_contextvars()
    yield
    structlog.contextvars.clear_contextvars()


def test_a_stdlib_line_inside_a_job_run_is_json_with_its_run():
    run = JobRun(pk=41, job="close_books")
    log = logging.getLogger("servicing.close")
    with captured("servicing.close") as lines:
        with job_run_context(run.job, run.pk):
            log.warning("closed %d notes", 3)
        log.warning("after the run")
    inside, after = (json.loads(line) for line in lines)
    assert inside["event"] == "closed 3 notes"
    assert inside["job_run_id"] == 41 and inside["job"] == "close_books"
    assert inside["level"] == "warning" and inside["logger"] == "servicing.close"
    assert inside["timestamp"].endswith("Z")
    assert after["event"] == "after the run" and "job_run_id" not in after and "job" not in after


@pytest.mark.django_db
def test_a_close_says_when_its_run_starts_and_ends_naming_the_run(make_note):
    from datetime import date

    from servicing.close import close_books

    make_note()
    with captured("servicing.jobruns") as lines:
        run = close_books(through=date(2024, 1, 31))
        logging.getLogger("servicing.jobruns").info("after the run")
    started, ended, after = (json.loads(line) for line in lines)
    assert started["event"].startswith(f"job run {run.pk} (close_books) started on ")
    posted = run.entries_posted
    assert ended["event"] == f"job run {run.pk} (close_books) finished: 1 notes, {posted} entries, 0 failure(s)"
    assert started["job_run_id"] == ended["job_run_id"] == run.pk and ended["job"] == "close_books"
    assert "job_run_id" not in after  # the run has ended: later lines are not its


def test_the_context_restores_what_was_bound_before():
    bind_job_run("statements", 1)
    with job_run_context("reminders", 2):
        assert structlog.contextvars.get_contextvars() == {"job": "reminders", "job_run_id": 2}
    assert structlog.contextvars.get_contextvars() == {"job": "statements", "job_run_id": 1}


def test_an_exception_is_in_the_json_line():
    log = logging.getLogger("servicing.deliveries")
    with captured("servicing.deliveries") as lines:
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("the e-mail failed")
    (line,) = (json.loads(line) for line in lines)
    assert line["event"] == "the e-mail failed" and line["level"] == "error"
    assert "ValueError: boom" in line["exception"]


def test_plain_lines_are_readable_text_with_the_context():
    with captured("servicing.close", format="plain") as lines, job_run_context("close_books", 5):
        logging.getLogger("servicing.close").warning("closed")
    (line,) = lines
    assert "closed" in line and "job_run_id=5" in line and "warning" in line
    assert not line.startswith("{")


@pytest.mark.django_db
def test_a_request_line_carries_its_request_id_and_user(client, staff):
    client.force_login(staff)
    with captured("django.request", "django_structlog") as lines:
        client.get("/no-such-page/")
        client.get("/login/")
    found = [json.loads(line) for line in lines]
    missing = [line for line in found if line.get("request") == "GET /no-such-page/" or "Not Found" in line["event"]]
    events = {line["event"].split(":")[0] for line in missing}
    assert events == {"request_started", "Not Found", "request_finished"}, found
    ids = {line["request_id"] for line in missing}
    assert len(ids) == 1 and next(iter(ids))  # one request, one id, on Django's own line too
    finished = next(line for line in missing if line["event"] == "request_finished")
    assert finished["code"] == 404 and finished["user_id"] == staff.pk
    others = {line["request_id"] for line in found} - ids
    assert len(others) == 1  # the second request has an id of its own
    assert structlog.contextvars.get_contextvars() == {}  # nothing left bound after a request


@pytest.mark.django_db
def test_an_anonymous_request_sent_to_the_login_has_an_id(client):
    with captured("django_structlog") as lines:
        response = client.get("/")
    assert response.status_code == 302
    finished = next(json.loads(line) for line in lines if '"request_finished"' in line)
    assert finished["code"] == 302 and finished["request_id"] and finished["user_id"] is None


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"LOG_FORMAT", "DEBUG"}}
    environment |= {"DJANGO_SETTINGS_MODULE": "config.settings"} | env
    return subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True
    )


def test_a_wrong_log_format_stops_the_settings_load():
    result = run_python("import django; django.setup()", LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "LOG_FORMAT must be one of json, plain" in result.stderr


CODE = """
import django, logging
django.setup()
from django.conf import settings
from servicing.logs import job_run_context
from servicing.models import JobRun
print(settings.LOG_FORMAT)
with job_run_context("close_books", 9):
    logging.getLogger("servicing.close").warning("closing %s", "now")
"""


def test_debug_off_writes_json_lines_on_the_console():
    result = run_python(CODE, DEBUG="false", SECRET_KEY="not-the-dev-key-" + "x" * 40)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "json"
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["event"] == "closing now" and line["job_run_id"] == 9 and line["logger"] == "servicing.close"


def test_debug_on_writes_plain_lines_unless_told():
    plain = run_python(CODE)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == "plain"
    assert "closing now" in plain.stderr and "job_run_id=9" in plain.stderr and "{" not in plain.stderr
    told = run_python(CODE, LOG_FORMAT="JSON")
    assert told.stdout.strip() == "json" and json.loads(told.stderr.strip().splitlines()[-1])["job"] == "close_books"


def test_the_worker_clears_the_context_before_each_task_and_uses_django_logging():
    from django_structlog.celery.steps import DjangoStructLogInitStep

    from config.celery import app, log_as_django

    assert DjangoStructLogInitStep in app.steps["worker"]
    from celery.signals import setup_logging

    assert any(receiver() is log_as_django for _, receiver in setup_logging.receivers)


@pytest.mark.django_db
def test_a_request_line_names_the_address_the_login_throttle_counts(client):
    """The `ip` of a request's lines is the client's as the proxy saw it (servicing.client_ip), never
    an address the client wrote into X-Forwarded-For itself."""
    with captured("django_structlog") as lines:
        client.get("/login/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
        client.get("/login/", REMOTE_ADDR="198.51.100.4", HTTP_X_FORWARDED_FOR="6.6.6.6")
    found = [json.loads(line) for line in lines if '"request_finished"' in line]
    assert [line["ip"] for line in found] == ["203.0.113.9", "198.51.100.4"]


@pytest.mark.django_db
def test_no_line_carries_a_password_a_bearer_token_or_a_session(client, settings):
    from axes.models import AccessAttempt

    settings.METRICS_TOKEN = "metrics-token-never-logged"
    password = "Pw-never-logged-77"
    with captured("", level=logging.DEBUG) as lines:
        client.post("/login/", {"username": "nobody", "password": password})
        client.get("/metrics", headers={"Authorization": "Bearer not-it-but-never-logged-either"})
        client.get("/metrics", headers={"Authorization": f"Bearer {settings.METRICS_TOKEN}"})
        client.get("/metrics?token=metrics-token-never-logged-2&x=1&Api_Key=k-never-logged-3&api_key=4")
        client.get("/login/?next=/notes/&page=2")
    text = "\n".join(lines)
    assert '"request_finished"' in text and "AXES" in text  # the lines were captured
    assert '"GET /metrics?token=********&x=1&Api_Key=********&api_key=********"' in text
    assert '"GET /login/?next=/notes/&page=2"' in text  # other parameters as they came
    for secret in (password, "never-logged", settings.METRICS_TOKEN, settings.SECRET_KEY):
        assert secret not in text
    assert "sessionid" not in text and "Authorization" not in text and "Bearer" not in text
    assert password not in AccessAttempt.objects.get().post_data


@pytest.mark.django_db
def test_a_query_django_refuses_to_read_is_logged_masked_and_answered_as_before(client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    with captured("django_structlog") as lines:
        response = client.get("/?token=t-never-logged&a=1&b=2&c=3")
    assert response.status_code == 302  # sent to the login (which reads no query): logging refuses nothing
    text = "\n".join(lines)
    assert '"GET /?********"' in text and "t-never-logged" not in text
    assert structlog.contextvars.get_contextvars() == {}
