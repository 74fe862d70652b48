from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ServicingConfig(AppConfig):
    name = "servicing"

    def ready(self):
        from servicing.approvals import ensure_groups

        # After migrate has created every app's permissions: the roles' groups (viewer, servicer…).
        post_migrate.connect(ensure_groups, sender=self)
