"""Logging in: Django's model backend, except that the system approver never logs in."""

from django.contrib.auth.backends import ModelBackend

from servicing.approvals import SYSTEM_APPROVER


class Backend(ModelBackend):
    def user_can_authenticate(self, user):
        # `simulate` and the demo approve as this user; nobody may act as it, whatever its password.
        return user.get_username() != SYSTEM_APPROVER and super().user_can_authenticate(user)
