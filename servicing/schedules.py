"""Schedules are data once written: the defaults of config/celery.py are created in the database
when missing (by name), and never put back over what an operator edited or paused in the admin.

Both `migrate` (config.celery.install_schedules) and beat as it starts (KeptScheduler, the
CELERY_BEAT_SCHEDULER) go through `install_missing`. A default an operator deleted is created
again, with its default time.
"""

from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry


def install_missing(app, mapping: dict) -> list[str]:
    """Create the entries of `mapping` whose name is not in the database; return their names."""
    existing = set(PeriodicTask.objects.filter(name__in=list(mapping)).values_list("name", flat=True))
    created = []
    for name, fields in mapping.items():
        if name not in existing:
            ModelEntry.from_entry(name, app=app, **fields)
            created.append(name)
    return created


class KeptScheduler(DatabaseScheduler):
    """django-celery-beat's database scheduler, except that starting it creates only the missing
    schedules (its own default `celery.backend_cleanup` included) and rewrites none: the rows in
    the database, as the admin left them, are the schedule."""

    def update_from_dict(self, mapping):
        install_missing(self.app, mapping)
        # What is scheduled is read back from the database (enabled rows only), as edited.
        self.schedule.update({name: entry for name, entry in self.all_as_schedule().items() if name in mapping})
