"""The real parts: Redis as the broker, a Celery worker process, an SMTP server (aiosmtpd).

The worker runs `celery -A config worker` against this test's PostgreSQL database, so these tests
commit their data (transaction=True) and need PostgreSQL; CI runs them.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from email import message_from_bytes
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from kombu import pools

from config.celery import app

REDIS = "redis://127.0.0.1:6379"
# The worker's: short enough for a test to see a claim expire and a dead worker's task come back.
CLAIM_SECONDS = 2
VISIBILITY_SECONDS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, *, timeout=90, what="it", log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    pytest.fail(f"timed out waiting for {what}\n{tail}")


class Broker:
    """A Redis database of this test's own."""

    def __init__(self, url):
        self.url = url
        self.client = redis.Redis.from_url(url)

    def idle(self) -> bool:
        """No task waits in a queue, and none is held by a worker: tasks are acknowledged late, so
        one running, waiting for its countdown, or left by a dead worker until the visibility
        timeout brings it back, is still unacknowledged."""
        queued = sum(self.client.llen(key) for key in self.client.scan_iter(_type="list"))
        return queued == 0 and self.client.hlen("unacked") == 0

    def overdue(self) -> bool:
        """Every unacknowledged task was delivered longer ago than the visibility timeout, so that
        the next worker to start brings it back at once. (A running worker looks for such tasks
        only every 100 seconds: kombu's sweep every 10 seconds scans on every tenth.)"""
        delivered = [at for _, at in self.client.zrange("unacked_index", 0, -1, withscores=True)]
        return all(time.time() - at > VISIBILITY_SECONDS for at in delivered)


@pytest.fixture
def broker(worker_id):
    """A Redis database of this test's own; tasks sent from this process go to it."""
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database it can share: run with DATABASE_URL=postgres://… (CI does)")
    db = 10 + (int(worker_id[2:]) if worker_id.startswith("gw") else 0)
    broker = Broker(f"{REDIS}/{db}")
    broker.client.flushdb()
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=broker.url, task_always_eager=False)
    _fresh_connections()
    yield broker
    app.conf.update(saved)
    _fresh_connections()
    broker.client.flushdb()


def _fresh_connections():
    """Drop the app's broker connections, so the next message goes to the broker now configured
    (as Celery does after a fork)."""
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


class Mailbox:
    """An SMTP server that keeps what it accepts. With `hold` set, the next message waits at the
    server, not yet accepted, until `drop()`: then it is refused, as when the sender died before
    the server's reply."""

    def __init__(self, port):
        self.port = port
        self.messages = []
        self.hold = False
        self.holding = False
        self.dropping = False
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        if self.hold:
            self.hold, self.holding = False, True
            try:
                while not self.dropping:
                    await asyncio.sleep(0.05)  # cancelled when the sender's connection drops
                return "451 4.3.0 Not accepted: the sender went away"
            finally:
                self.holding = self.dropping = False
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def drop(self):
        self.dropping = True

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def to(self, address):
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def mailbox():
    box = Mailbox(free_port())
    box.start()
    yield box
    box.stop()


class Worker:
    def __init__(self, env, log):
        self.env, self.log, self.process = env, log, None

    def start(self):
        self.log.write_text("")
        out = self.log.open("a")
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"test-{os.getpid()}@%h"]
        self.process = subprocess.Popen(
            command, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR
        )
        wait_for(lambda: "ready." in self.log.read_text(), timeout=60, what="the worker to start", log=self.log)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker_env():
    """Environment variables a test gives its worker over those below (override it in the test)."""
    return {}


@pytest.fixture
def worker(broker, mailbox, media_root, tmp_path, settings, worker_env):
    """A Celery worker process on the broker, this test's database and the mailbox. This process
    counts a delivery's claim as stale after as many seconds as the worker does."""
    settings.STATEMENT_CLAIM_SECONDS = CLAIM_SECONDS
    db = connection.settings_dict
    database = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    env = (
        os.environ
        | {
            "DATABASE_URL": database,
            "CELERY_BROKER_URL": broker.url,
            "EMAIL_URL": f"smtp://127.0.0.1:{mailbox.port}",
            "MEDIA_ROOT": str(media_root),
            "STATEMENT_RETRY_SECONDS": "1",
            "STATEMENT_MAX_ATTEMPTS": "10",
            "STATEMENT_CLAIM_SECONDS": str(CLAIM_SECONDS),
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_SECONDS),
            "LOG_LEVEL": "INFO",
        }
        | worker_env
    )
    w = Worker(env, tmp_path / "worker.log")
    w.start()
    yield w
    w.stop()
