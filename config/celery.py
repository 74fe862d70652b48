"""The Celery app, and every periodic schedule in one place.

Beat runs with django-celery-beat's database scheduler (servicing.schedules.KeptScheduler):
`migrate` and beat's start create these schedules in the database when missing, by name, and
never rewrite one: there admins see them, edit a time or pause one, and the edit is kept. Times
are in TIME_ZONE.
"""

import logging
import logging.config
import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import setup_logging, worker_ready
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("servicing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# django-structlog in the worker: before each task the log context is cleared, then its task_id
# (and the request_id of the request that queued it) bound; its start and end are logged.
app.steps["worker"].add(DjangoStructLogInitStep)


@setup_logging.connect
def log_as_django(loglevel=None, **kwargs) -> None:
    """The worker and beat write their lines as Django's LOGGING says (LOG_FORMAT: JSON or plain),
    not in Celery's own format; `--loglevel` still sets the level."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


app.conf.beat_schedule = {
    # Post every note through yesterday: bills on the first of the month, defaults, accruals.
    "close-books-daily": {"task": "servicing.tasks.close_books_task", "schedule": crontab(hour=0, minute=30)},
    # Reminders to staff, after the close.
    "reminders-daily": {"task": "servicing.tasks.reminders_task", "schedule": crontab(hour=6, minute=0)},
    # The statement run, on the first business day after the close that bills the month, and the
    # retries of failed e-mails; on other days it only retries.
    "statements-daily": {"task": "servicing.tasks.statements_task", "schedule": crontab(hour=6, minute=30)},
}


def install_schedules(**kwargs) -> None:
    """Create the missing schedules in the database (after every migrate), so admins see them
    before beat first starts; one an admin edited or paused is left as it is."""
    from servicing.schedules import install_missing

    install_missing(app, app.conf.beat_schedule)


# A worker that starts takes up the job runs its node held when it died (a node starts again only
# once its earlier process is gone), and any other run whose heartbeat has gone stale.
@worker_ready.connect
def take_up_dead_runs(sender=None, **kwargs) -> None:
    from django.db import connection

    from servicing.tasks import take_up_dead

    try:
        take_up_dead(node=getattr(sender, "hostname", None))
    except Exception:  # noqa: BLE001 - the worker serves anyway; the next scheduled close takes them up
        logging.getLogger(__name__).exception("dead job runs not taken up at worker start")
    finally:
        connection.close()  # the main process keeps no connection its pool's children would inherit
