"""A real worker with LOG_FORMAT=json: every log line is JSON, a task's lines carry its task_id and
the request_id of whoever queued it, and nothing bound for one task reaches the next."""

import json

import pytest
import structlog

from servicing.tasks import reminders_task
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def json_worker(request, monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "json")
    return request.getfixturevalue("worker")


def lines(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def test_task_lines_carry_the_task_and_the_request_that_queued_it(json_worker):
    sent = {}
    for request_id in ("req-A", "req-B", None):
        structlog.contextvars.clear_contextvars()
        if request_id:
            structlog.contextvars.bind_contextvars(request_id=request_id)
        sent[reminders_task.delay().id] = request_id
    structlog.contextvars.clear_contextvars()
    done = lambda: sum(line["event"] == "task_succeeded" for line in lines(json_worker.log)) == 3  # noqa: E731
    wait_for(done, what="three tasks", log=json_worker.log)

    found = lines(json_worker.log)
    assert any("ready." in line["event"] for line in found)  # Celery's own lines are JSON too
    for task_id, request_id in sent.items():
        mine = [line for line in found if line.get("task_id") == task_id]
        events = [line["event"] for line in mine]
        assert "task_started" in events and "task_succeeded" in events, events
        # Celery's stdlib line about the task carries the bound task_id as well
        assert any(line["logger"].startswith("celery") and "succeeded" in line["event"] for line in mine), mine
        assert {line.get("request_id") for line in mine} == {request_id}, mine
        assert all(line["timestamp"] and line["level"] for line in mine)
