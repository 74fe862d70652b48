from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from servicing import engine

MONEY = {"max_digits": 20, "decimal_places": 2}
RATE = {"max_digits": 9, "decimal_places": 6}


class Issuer(models.Model):
    name = models.CharField(max_length=200, unique=True)
    jurisdiction = models.CharField(max_length=100, default="Delaware")
    notice_address = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ClosingPrice(models.Model):
    """A closing price of the issuer's common stock on a trading day (section 4(a))."""

    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="closing_prices")
    date = models.DateField()
    close = models.DecimalField(max_digits=20, decimal_places=6)

    history = HistoricalRecords()

    class Meta:
        ordering = ["issuer", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "date"], name="one_close_per_issuer_and_day"),
            models.CheckConstraint(condition=Q(close__gt=0), name="close_above_zero"),
        ]

    def __str__(self):
        return f"{self.issuer} {self.date} {self.close}"


class Note(models.Model):
    """A Convertible Note Agreement: every blank of the agreement and every term of the rules."""

    class Calendar(models.TextChoices):
        XFED = "XFED", "US Federal Reserve banking days"

    number = models.CharField(max_length=40, unique=True)
    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="notes")
    holder = models.ForeignKey("holders.Holder", on_delete=models.PROTECT, related_name="notes")
    # Room for 8(j): a substitute note issued on an assignment names the note it came from.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="substitutes")
    agreement_date = models.DateField()
    maturity_date = models.DateField()
    principal = models.DecimalField(**MONEY)
    rate = models.DecimalField(**RATE)
    default_rate_spread = models.DecimalField(**RATE, default=Decimal("0.03"))
    max_lawful_rate = models.DecimalField(**RATE, null=True, blank=True)
    prepayment_lockout_months = models.PositiveSmallIntegerField(default=3)
    conversion_premium = models.DecimalField(max_digits=9, decimal_places=4, default=Decimal("1.10"))
    conversion_price = models.DecimalField(max_digits=30, decimal_places=18)
    reference_closes = models.ManyToManyField(ClosingPrice, blank=True, related_name="+")
    calendar = models.CharField(max_length=10, choices=Calendar.choices, default=Calendar.XFED)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    # Servicing state, written only by servicing.posting: the last day posted, the engine's state at
    # the end of it, and the open period's interest accrued so far.
    closed_through = models.DateField(null=True, blank=True)
    engine_state = models.JSONField(null=True, blank=True, editable=False)
    accrued_interest = models.DecimalField(**MONEY, default=Decimal("0"))
    accrued_default_interest = models.DecimalField(**MONEY, default=Decimal("0"))

    history = HistoricalRecords(
        excluded_fields=["closed_through", "engine_state", "accrued_interest", "accrued_default_interest"]
    )

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(condition=Q(principal__gt=0), name="note_principal_above_zero"),
            models.CheckConstraint(
                condition=Q(maturity_date__gt=models.F("agreement_date")), name="matures_after_agreement"
            ),
            models.CheckConstraint(condition=Q(conversion_price__gt=0), name="conversion_price_above_zero"),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("notes:detail", args=[self.pk])

    @property
    def terms(self) -> engine.Terms:
        return engine.Terms(
            agreement_date=self.agreement_date,
            maturity_date=self.maturity_date,
            principal=self.principal,
            rate=self.rate,
            conversion_price=self.conversion_price,
            default_rate_spread=self.default_rate_spread,
            max_lawful_rate=self.max_lawful_rate,
            prepayment_lockout_months=self.prepayment_lockout_months,
            calendar=self.calendar,
        )

    @property
    def conversion_price_display(self) -> Decimal:
        return engine.conversion.price_display(self.conversion_price)

    @property
    def prepayment_allowed_from(self):
        return self.terms.prepayment_allowed_from
