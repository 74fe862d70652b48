"""One beat at a time: a lock in Redis that beat holds while it schedules.

Two beats would send every schedule twice. Each beat's scheduler takes the lock `servicing:beat-lock`
in the broker's Redis (SET NX with a time to live, the value naming the beat: host, process and a
random id) and renews it on every tick. A beat that does not hold it schedules nothing and says so,
once, at WARNING; when the holder stops, it releases the lock and the other beat takes over on its
next tick; when the holder dies, the lock expires after its time to live and the other beat takes over
then. On taking over, a beat reads the schedules afresh from the database, so what the other beat sent
(its last run times, written after every task it sends) is not sent again.

With no Redis broker (the embedded default: tasks run in process, and no beat runs) there is no lock
and the scheduler is django-celery-beat's own.
"""

import datetime
import logging
import os
import socket
import uuid

import redis

from servicing.schedules import KeptScheduler

logger = logging.getLogger(__name__)

LOCK_KEY = "servicing:beat-lock"

# Renew the lock if it still holds our value; release it only if it does (never another beat's).
RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class OneBeatMixin:
    """Schedules only while this beat holds the lock. Put it before a database scheduler class."""

    lock_key = LOCK_KEY
    # The lock lives three beat intervals, and never less than this, so that a beat slow for a
    # moment (a slow database) keeps it; a dead beat's lock is taken over after at most this long.
    min_lock_seconds = 30

    def __init__(self, *args, **kwargs):
        self.holds_lock = False
        self._told_waiting = False
        self._told_unreachable = False
        self.lock_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        super().__init__(*args, **kwargs)
        url = self.app.conf.broker_url or ""
        self.lock_client = (
            redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
            if url.startswith(("redis://", "rediss://"))
            else None
        )
        # Every task sent is written to the database at once (its last run), so a beat that takes
        # over after this one died sends none of them again.
        self.sync_every_tasks = 1

    @property
    def lock_seconds(self) -> float:
        return max(3 * self.max_interval, self.min_lock_seconds)

    def tick(self, *args, **kwargs):
        if self.lock_client is None or self.take_lock():
            return super().tick(*args, **kwargs)
        return self.max_interval

    def take_lock(self) -> bool:
        """Renew the lock if this beat holds it, else take it if it is free. False while another
        beat holds it, or while Redis does not answer (then the tasks could not be sent anyway)."""
        ttl = int(self.lock_seconds * 1000)
        try:
            if self.holds_lock:
                if self.lock_client.eval(RENEW, 1, self.lock_key, self.lock_id, ttl):
                    return True
                self.holds_lock = False
                logger.warning("this beat lost the lock %s (it expired): it takes it again if free", self.lock_key)
            if self.lock_client.set(self.lock_key, self.lock_id, nx=True, px=ttl):
                self.holds_lock = True
                # Taking over from another beat is worth a warning; taking the lock on start is not.
                level = logging.WARNING if self._told_waiting else logging.INFO
                logger.log(level, "this beat holds the lock %s (%s): it schedules", self.lock_key, self.lock_id)
                self._told_waiting = self._told_unreachable = False
                self.reread_schedules()
                return True
            holder = self.lock_client.get(self.lock_key)
            expires = self.lock_client.pttl(self.lock_key)
        except redis.RedisError as exc:
            if not self._told_unreachable:
                logger.error("the beat lock cannot be checked (%s): this beat schedules nothing until it can", exc)
                self._told_unreachable = True
            return False
        self._told_unreachable = False
        if not self._told_waiting:
            holder = holder.decode() if isinstance(holder, bytes) else holder
            logger.warning(
                "another beat holds the lock (%s, held by %s, %s s to live unless renewed): "
                "this one schedules nothing until it is released",
                self.lock_key,
                holder,
                round(expires / 1000) if expires and expires > 0 else "?",
            )
            self._told_waiting = True
        return False

    def reread_schedules(self) -> None:
        """Read every schedule and its last run from the database now, as django-celery-beat does
        when a schedule changes: what another beat sent while this one waited is not due again."""
        self.sync()
        self._schedule = self.all_as_schedule()
        self._initial_read = False
        self._last_full_sync = datetime.datetime.now()  # noqa: DTZ005 (as django-celery-beat keeps it)
        self._heap = []
        self._heap_invalidated = True  # the next tick rebuilds its heap from this read

    def release_lock(self) -> None:
        if self.lock_client is None or not self.holds_lock:
            return
        self.holds_lock = False
        try:
            self.lock_client.eval(RELEASE, 1, self.lock_key, self.lock_id)
        except redis.RedisError as exc:
            logger.warning("the beat lock %s was not released (%s): it expires by itself", self.lock_key, exc)
        else:
            logger.info("this beat released the lock %s", self.lock_key)

    def close(self):
        try:
            super().close()
        finally:
            self.release_lock()


class OneBeatScheduler(OneBeatMixin, KeptScheduler):
    """The schedules as kept in the database (servicing.schedules), one beat at a time: the
    scheduler CELERY_BEAT_SCHEDULER names."""
