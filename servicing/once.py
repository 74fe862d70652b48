"""A form submitted twice records once.

Each rendered form carries a one-time token in a hidden field. Recording spends the token in the
same transaction as the record: a second submission of the same page (a double click, a browser's
"resend") finds it spent and records nothing; a refused submission rolls the token back with
everything else, so the corrected form can be sent again.
"""

import secrets

from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from servicing.models import SpentToken

SPENT = "this form was already submitted, and recorded once: open the page again to record something new"


class SubmitOnce(forms.Form):
    """A form with a one-time token; `record_once(do)` records through `do` at most once per token."""

    once = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["once"].initial = secrets.token_urlsafe(24)

    def clean(self):
        data = super().clean()
        # Kept apart from the form's values, which go to the service as they are.
        self.once_token = data.pop("once", "")
        if not self.once_token:
            raise ValidationError("this page is out of date: open it again and submit the form from there")
        return data

    def spend(self) -> None:
        """Spend the token in the caller's transaction; raises ValidationError if it was spent. A
        second submission sent at the same moment waits here for the first to commit."""
        try:
            with transaction.atomic():
                SpentToken.objects.create(token=self.once_token)
        except IntegrityError:
            raise ValidationError(SPENT) from None

    def record_once(self, do):
        """Spend the token and call `do()` in one transaction; raises ValidationError if spent."""
        with transaction.atomic():
            self.spend()
            return do()
