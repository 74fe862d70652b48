"""The beat schedules, defined in config/celery.py, land in the database where admins can pause
and edit them; `migrate` and beat's start create the missing ones and keep every edit."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from celery.utils.imports import symbol_by_name
from django.conf import settings as django_settings
from django.contrib.admin.sites import site
from django.core.management import call_command
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from config.celery import app, install_schedules
from servicing.schedules import KeptScheduler

# The scheduler closes stale database connections as it starts: these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


def start_beat(at: datetime | None = None):
    """Start the scheduler as `celery beat` does: the one CELERY_BEAT_SCHEDULER names. (It holds
    only the crontabs due within two hours of `at`, the hour it starts.) Return what it schedules."""
    with time_machine.travel(at or datetime.now(TZ), tick=False):
        scheduler = symbol_by_name(app.conf.beat_scheduler)(app=app, lazy=True)
        scheduler.setup_schedule()
        return dict(scheduler.schedule)  # what beat then runs, by name


TZ = ZoneInfo(django_settings.TIME_ZONE)  # the schedules' zone
NIGHT = datetime(2024, 3, 5, 1, 0, tzinfo=TZ)  # around the close
MORNING = datetime(2024, 3, 5, 6, 0, tzinfo=TZ)  # around reminders and statements


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


def edit_close_to_01_15():
    """As an operator does in the admin: the close moved to 01:15, on a new crontab row."""
    tz = PeriodicTask.objects.get(name="close-books-daily").crontab.timezone
    crontab = CrontabSchedule.objects.create(minute="15", hour="1", timezone=tz)
    PeriodicTask.objects.filter(name="close-books-daily").update(crontab=crontab)
    return crontab


def test_beat_runs_the_kept_scheduler():
    assert issubclass(symbol_by_name(app.conf.beat_scheduler), KeptScheduler)


def test_an_edited_time_survives_migrate_and_beat_starting_again():
    crontab = edit_close_to_01_15()
    call_command("migrate", verbosity=0)
    install_schedules()
    schedule = start_beat(NIGHT)
    close = PeriodicTask.objects.select_related("crontab").get(name="close-books-daily")
    assert close.crontab_id == crontab.pk
    assert (close.crontab.hour, close.crontab.minute) == ("1", "15")
    # beat schedules the edited time, not the default 00:30.
    entry = schedule["close-books-daily"]
    assert (entry.schedule.hour, entry.schedule.minute) == ({1}, {15})
    assert PeriodicTask.objects.filter(name="close-books-daily").count() == 1


def test_a_deleted_default_is_created_again_at_migrate_and_at_beat_start(settings):
    PeriodicTask.objects.filter(name="reminders-daily").delete()
    install_schedules()
    assert PeriodicTask.objects.get(name="reminders-daily").crontab.hour == "6"
    PeriodicTask.objects.filter(name="statements-daily").delete()
    schedule = start_beat(MORNING)
    again = PeriodicTask.objects.select_related("crontab").get(name="statements-daily")
    assert (again.crontab.hour, again.crontab.minute) == ("6", "30")
    assert "statements-daily" in schedule


def test_a_paused_schedule_is_not_scheduled_by_beat():
    PeriodicTask.objects.filter(name="reminders-daily").update(enabled=False)
    schedule = start_beat(MORNING)
    assert "statements-daily" in schedule
    assert "reminders-daily" not in schedule


def test_the_admin_lists_each_schedules_last_run_and_next_run(admin_client):
    edit_close_to_01_15()
    last = datetime(2024, 3, 4, 1, 15, tzinfo=TZ)  # it ran at its new time on 4 March
    PeriodicTask.objects.filter(name="close-books-daily").update(last_run_at=last)
    PeriodicTask.objects.filter(name="reminders-daily").update(enabled=False)
    admin = site._registry[PeriodicTask]
    with time_machine.travel(datetime(2024, 3, 4, 12, 0, tzinfo=TZ), tick=False):
        page = admin_client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
        rows = {r.name: r for r in page.context["cl"].result_list}
        # The edited close runs next at 01:15 the next day; a paused one not at all.
        assert admin.next_run_at(rows["close-books-daily"]) == datetime(2024, 3, 5, 1, 15, tzinfo=TZ)
        assert admin.next_run_at(rows["reminders-daily"]) == "paused"
    assert page.status_code == 200
    assert admin.last_run(rows["close-books-daily"]) == last and admin.last_run(rows["reminders-daily"]) == "never"
    text = page.content.decode()
    assert "Last run" in text and "Next run" in text
    assert "March 4, 2024, 1:15 a.m." in text and "March 5, 2024, 1:15 a.m." in text and "paused" in text


def test_a_run_missed_while_beat_was_down_is_due_at_once():
    from servicing.admin_schedules import next_run

    PeriodicTask.objects.filter(name="close-books-daily").update(last_run_at=datetime(2024, 3, 1, 0, 30, tzinfo=TZ))
    now = datetime(2024, 3, 4, 12, 0, tzinfo=TZ)
    with time_machine.travel(now, tick=False):
        assert next_run(PeriodicTask.objects.get(name="close-books-daily")) == now
