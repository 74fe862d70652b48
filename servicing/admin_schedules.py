"""The admin's periodic tasks (django-celery-beat) with each schedule's last run and next run."""

from datetime import timedelta

from django.contrib import admin
from django.utils import timezone
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask


def next_run(task: PeriodicTask):
    """When beat runs `task` next, from its schedule and its last run; None when paused or when
    it has no schedule (a clocked or one-off task already run)."""
    if not task.enabled:
        return None
    schedule = task.schedule
    now = schedule.now() if hasattr(schedule, "now") else timezone.now()
    last = task.last_run_at or task.start_time or now
    due = now + schedule.remaining_estimate(last)
    # To the second: the schedule reads the clock again, microseconds later than `now`.
    due = (due + timedelta(microseconds=500_000)).replace(microsecond=0)
    return max(due, now)  # a run missed while beat was down is due at once


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class SchedulesAdmin(PeriodicTaskAdmin):
    # The runs before the schedule's long description, so a phone shows them without scrolling.
    list_display = ("name", "enabled", "next_run_at", "last_run", "scheduler", "one_off")

    @admin.display(description="last run", ordering="last_run_at")
    def last_run(self, obj: PeriodicTask):
        return timezone.localtime(obj.last_run_at) if obj.last_run_at else "never"

    @admin.display(description="next run")
    def next_run_at(self, obj: PeriodicTask):
        when = next_run(obj)
        return timezone.localtime(when) if when else ("paused" if not obj.enabled else "—")
