from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ServicingConfig(AppConfig):
    name = "servicing"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from config.celery import install_schedules
        from servicing.approvals import ensure_groups
        from servicing.auth import update_last_login
        from servicing.metrics import register

        # /metrics' business figures, read from the database at each scrape.
        register()

        # After migrate has created every app's permissions and tables: the roles' groups
        # (viewer, servicer…) and the beat schedules.
        post_migrate.connect(ensure_groups, sender=self)
        post_migrate.connect(install_schedules, sender=self)
        # The same receiver as django.contrib.auth's (its dispatch_uid), without a history row.
        user_logged_in.disconnect(dispatch_uid="update_last_login")
        user_logged_in.connect(update_last_login, dispatch_uid="update_last_login")
