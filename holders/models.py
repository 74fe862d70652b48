from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from holders.validators import one_line


class Holder(models.Model):
    """A holder of notes: the person or entity the company owes, and where notices go (8(b))."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", "Individual"
        ENTITY = "entity", "Entity"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.INDIVIDUAL)
    name = models.CharField(max_length=200, validators=[one_line])
    notice_address = models.TextField(blank=True, help_text="Where notices to the holder are sent (section 8(b)).")
    email = models.EmailField(blank=True)
    telecopy = models.CharField("telecopy number", max_length=40, blank=True, validators=[one_line])
    # An entity is drafted as one: "Harbor Point Capital LLC, a Delaware limited liability company",
    # signed "By: / Name: / Title:" (documents.party_of_holder refuses a document without them).
    entity_type = models.CharField(
        max_length=100,
        blank=True,
        validators=[one_line],
        help_text="An entity: what it is, as its documents say (limited liability company, limited partnership).",
    )
    organized_in = models.CharField(
        "state of organization",
        max_length=100,
        blank=True,
        validators=[one_line],
        help_text="An entity: the state under whose laws it is organized (Delaware).",
    )
    signatory_name = models.CharField(
        max_length=200, blank=True, validators=[one_line], help_text="An entity: who signs for it."
    )
    signatory_title = models.CharField(max_length=200, blank=True, validators=[one_line])
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("holders:detail", args=[self.pk])
