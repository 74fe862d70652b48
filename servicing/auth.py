"""Logging in: Django's, except that the system approver never logs in and a login is no change to record."""

from django.contrib.auth import models
from django.contrib.auth.backends import ModelBackend

from servicing.approvals import SYSTEM_APPROVER


class Backend(ModelBackend):
    def user_can_authenticate(self, user):
        # `simulate` and the demo approve as this user; nobody may act as it, whatever its password.
        return user.get_username() != SYSTEM_APPROVER and super().user_can_authenticate(user)


def update_last_login(sender, user, **kwargs):
    """Django's own, without a history row: a login changes nothing of who the user is or may do."""
    user.skip_history_when_saving = True  # django-simple-history skips this save
    try:
        models.update_last_login(sender, user, **kwargs)
    finally:
        del user.skip_history_when_saving
