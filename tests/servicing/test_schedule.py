"""The beat schedules, defined in config/celery.py, land in the database where admins can pause them."""

import pytest
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from config.celery import app

# The scheduler closes stale database connections as it starts: these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


def start_beat():
    DatabaseScheduler(app=app, lazy=True).setup_schedule()


def test_every_schedule_is_in_the_database_in_the_servicing_time_zone(settings):
    # migrate wrote them (admins see them before beat first starts); beat writes them again.
    assert PeriodicTask.objects.filter(name="close-books-daily").exists()
    start_beat()
    tasks = {t.name: t for t in PeriodicTask.objects.select_related("crontab")}
    close = tasks["close-books-daily"]
    assert close.task == "servicing.tasks.close_books_task"
    assert (close.crontab.hour, close.crontab.minute, str(close.crontab.timezone)) == ("0", "30", settings.TIME_ZONE)
    assert tasks["reminders-daily"].task == "servicing.tasks.reminders_task"
    assert tasks["statements-daily"].task == "servicing.tasks.statements_task"


def test_a_schedule_paused_by_an_admin_stays_paused_when_beat_starts_again():
    start_beat()
    PeriodicTask.objects.filter(name="reminders-daily").update(enabled=False)
    start_beat()
    assert not PeriodicTask.objects.get(name="reminders-daily").enabled
    assert PeriodicTask.objects.get(name="close-books-daily").enabled
