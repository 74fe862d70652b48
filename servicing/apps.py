from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ServicingConfig(AppConfig):
    name = "servicing"

    def ready(self):
        from config.celery import install_schedules
        from servicing.approvals import ensure_groups

        # After migrate has created every app's permissions and tables: the roles' groups
        # (viewer, servicer…) and the beat schedules.
        post_migrate.connect(ensure_groups, sender=self)
        post_migrate.connect(install_schedules, sender=self)
