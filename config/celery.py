"""The Celery app, and every periodic schedule in one place.

Beat runs with django-celery-beat's database scheduler: on start it writes these schedules to
the database, where admins see them and can pause one (a paused schedule stays paused). Times
are in TIME_ZONE.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("servicing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

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
    """Write the schedules to the database (after every migrate), so admins see them before beat
    first starts; a schedule an admin paused stays paused."""
    from django_celery_beat.schedulers import ModelEntry

    for name, entry in app.conf.beat_schedule.items():
        ModelEntry.from_entry(name, app=app, **entry)
