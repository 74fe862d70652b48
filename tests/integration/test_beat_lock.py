"""One beat at a time, on the real Redis: two schedulers as two beats would run them. The first
sends what is due; the second sends nothing and says so; when the first stops or dies, the second
takes over and sends nothing twice."""

import logging
import time
import uuid
from datetime import timedelta
from unittest import mock

import pytest
import redis
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.celery import app
from servicing.beat import OneBeatScheduler
from tests.integration.conftest import REDIS, _fresh_connections, free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PROBE = "tests.beat_probe"  # no such task is registered: beat hands it to app.send_task
WAITING = "another beat holds the lock"


@pytest.fixture
def lock_redis():
    """The broker is a Redis database of these tests' own (15: the worker tests use 10 and up)."""
    url = f"{REDIS}/15"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("needs Redis at 127.0.0.1:6379")
    saved = app.conf.broker_url
    app.conf.broker_url = url
    _fresh_connections()
    yield client
    app.conf.broker_url = saved
    _fresh_connections()


@pytest.fixture
def key(lock_redis):
    name = f"test:beat-lock:{uuid.uuid4().hex}"
    yield name
    lock_redis.delete(name)


@pytest.fixture
def sent():
    """What beat sends, by task name, in order (app.send_task, mocked: nothing reaches a worker)."""
    with mock.patch.object(app, "send_task") as send_task:
        yield lambda: [c.args[0] for c in send_task.call_args_list if c.args[0] == PROBE]


def make_due():
    """An hourly schedule that last ran two hours ago: due now, and not again for an hour."""
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.HOURS)
    task, _ = PeriodicTask.objects.get_or_create(name="probe", defaults={"task": PROBE, "interval": every_hour})
    task.last_run_at = timezone.now() - timedelta(hours=2)
    task.no_changes = False  # a beat that runs sees the change
    task.save()


def beat(key, **kwargs):
    scheduler = OneBeatScheduler(app=app, **kwargs)  # as beat does: reads the schedules now
    scheduler.lock_key = key
    return scheduler


def ticks(scheduler, n=5):
    for _ in range(n):
        scheduler.tick()


def test_a_second_beat_sends_nothing_while_the_first_holds_the_lock_and_takes_over_when_it_stops(
    lock_redis, key, sent, caplog
):
    make_due()
    first, second = beat(key), beat(key)
    caplog.set_level(logging.INFO, logger="servicing.beat")

    ticks(first)
    assert sent() == [PROBE]
    assert lock_redis.get(key).decode() == first.lock_id
    assert 29 <= lock_redis.pttl(key) / 1000 <= 30  # 30 s at least (3 × the 5 s interval is less)

    ticks(second)
    assert sent() == [PROBE]  # nothing more
    waiting = [r for r in caplog.records if WAITING in r.getMessage()]
    assert len(waiting) == 1  # said once, not at every tick
    assert waiting[0].levelno == logging.WARNING
    assert first.lock_id in waiting[0].getMessage()
    assert "this one schedules nothing until it is released" in waiting[0].getMessage()

    first.close()
    assert not lock_redis.exists(key)

    ticks(second)
    assert lock_redis.get(key).decode() == second.lock_id
    assert sent() == [PROBE]  # the schedule the first sent is not due again
    taking = [r for r in caplog.records if "this beat holds the lock" in r.getMessage()]
    assert [r.levelno for r in taking] == [logging.INFO, logging.WARNING]  # on start; taking over

    make_due()
    ticks(second)
    assert sent() == [PROBE, PROBE]  # the second now schedules
    second.close()
    assert not lock_redis.exists(key)


def test_when_the_beat_holding_the_lock_dies_the_other_takes_over_once_it_expires(lock_redis, key, sent, caplog):
    make_due()
    first, second = beat(key, max_interval=0.2), beat(key, max_interval=0.2)
    first.min_lock_seconds = second.min_lock_seconds = 0  # the lock lives 3 × 0.2 s

    ticks(first)
    ticks(second)
    assert sent() == [PROBE]

    # The first stops ticking without releasing (killed): its lock expires.
    wait_for(lambda: not lock_redis.exists(key), timeout=5, what="the lock to expire")
    ticks(second)
    assert lock_redis.get(key).decode() == second.lock_id
    assert sent() == [PROBE]  # nothing sent twice

    # Were the first to come back, it finds the lock taken and sends nothing.
    caplog.clear()
    make_due()
    ticks(first)
    assert sent() == [PROBE]
    assert any(WAITING in r.getMessage() and second.lock_id in r.getMessage() for r in caplog.records)
    ticks(second)
    assert sent() == [PROBE, PROBE]
    first.close()
    assert lock_redis.get(key).decode() == second.lock_id  # the first releases only its own lock
    second.close()


def test_without_a_redis_broker_there_is_no_lock(sent, settings):
    make_due()
    assert app.conf.broker_url in ("", None)  # the embedded default
    scheduler = OneBeatScheduler(app=app, lazy=True)
    assert scheduler.lock_client is None
    ticks(scheduler)
    assert sent() == [PROBE]
    scheduler.close()


def test_the_lock_lives_three_beat_intervals_when_longer_than_the_minimum(lock_redis, key):
    scheduler = beat(key, max_interval=20)
    start = time.time()
    assert scheduler.take_lock()
    assert 59 <= lock_redis.pttl(key) / 1000 <= 60 + (time.time() - start)
    scheduler.release_lock()
    assert not lock_redis.exists(key)


def test_while_redis_does_not_answer_beat_sends_nothing_and_says_so_once(sent, caplog):
    make_due()
    saved = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    try:
        scheduler = OneBeatScheduler(app=app, lazy=True, max_interval=0.2)
        assert [scheduler.tick() for _ in range(3)] == [0.2, 0.2, 0.2]
    finally:
        app.conf.broker_url = saved
        _fresh_connections()
    assert sent() == []
    errors = [r for r in caplog.records if "the beat lock cannot be checked" in r.getMessage()]
    assert [r.levelno for r in errors] == [logging.ERROR]
