from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from holders.validators import one_line
from notes.fields import ExactDecimalField
from notes.figures import cents, percent, quantity

# Every figure keeps exactly what it was given (servicing-rules.md, "Numbers"): money to the cent;
# rates, spreads, caps, prices, the premium and a participation's share to 10 decimal places.
MONEY = {"max_digits": 20, "decimal_places": 2}
RATE = {"max_digits": 13, "decimal_places": 10}
PRICE = {"max_digits": 24, "decimal_places": 10}


class Approval(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Approvable(models.Model):
    """Four-eyes: what moves money or shares is recorded by one user and takes effect only when a
    different user with the approver permission approves it (`servicing.approvals`)."""

    approval = models.CharField(max_length=10, choices=Approval.choices, default=Approval.PENDING, editable=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, editable=False, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    rejection_reason = models.TextField(blank=True, editable=False)

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=~Q(decided_by=models.F("recorded_by")), name="%(app_label)s_%(class)s_four_eyes"
            ),
            models.CheckConstraint(
                condition=Q(approval="pending") | Q(decided_at__isnull=False), name="%(app_label)s_%(class)s_decided"
            ),
        ]

    @property
    def is_approved(self) -> bool:
        return self.approval == Approval.APPROVED


class Issuer(models.Model):
    name = models.CharField(max_length=200, unique=True, validators=[one_line])
    # No default: a state printed in an agreement is a fact someone entered (documents refuse a blank).
    jurisdiction = models.CharField(
        "state of incorporation",
        max_length=100,
        blank=True,
        validators=[one_line],
        help_text="The state under whose laws the company is incorporated (section 2(a)).",
    )
    notice_address = models.TextField(blank=True, help_text="Below the name: attention line, street, city (8(b)).")
    signatory_name = models.CharField(
        max_length=200, blank=True, validators=[one_line], help_text="Who signs for the company."
    )
    signatory_title = models.CharField(max_length=200, blank=True, validators=[one_line])

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ClosingPrice(models.Model):
    """A closing price of the issuer's common stock on a trading day (section 4(a))."""

    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="closing_prices")
    date = models.DateField()
    close = ExactDecimalField(**PRICE)

    history = HistoricalRecords()

    class Meta:
        ordering = ["issuer", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "date"], name="one_close_per_issuer_and_day"),
            models.CheckConstraint(condition=Q(close__gt=0), name="close_above_zero"),
        ]

    def __str__(self):
        return f"{self.issuer} {self.date} {quantity(self.close)}"


class Note(models.Model):
    """A Convertible Note Agreement: every blank of the agreement and every term of the rules."""

    class Calendar(models.TextChoices):
        XFED = "XFED", "US Federal Reserve banking days"

    number = models.CharField(max_length=40, unique=True, validators=[one_line])
    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="notes")
    holder = models.ForeignKey("holders.Holder", on_delete=models.PROTECT, related_name="notes")
    # 8(j): a substitute note issued on an assignment names the note it came from, keeps its terms
    # and accrues from the assignment date.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="substitutes")
    agreement_date = models.DateField()
    accrues_from = models.DateField(null=True, blank=True, help_text="A substitute note: the assignment date.")
    maturity_date = models.DateField()
    principal = ExactDecimalField(**MONEY)
    rate = ExactDecimalField(**RATE)
    default_rate_spread = ExactDecimalField(**RATE, default=Decimal("0.03"))
    max_lawful_rate = ExactDecimalField(**RATE, null=True, blank=True)
    prepayment_lockout_months = models.PositiveSmallIntegerField(default=3)
    conversion_premium = ExactDecimalField(max_digits=15, decimal_places=10, default=Decimal("1.10"))
    # premium × the average of five closes, unrounded (4(a)): 10 + 10 places, and one more from
    # dividing by five, so 21 places hold every price a note's closes can give.
    conversion_price = ExactDecimalField(max_digits=33, decimal_places=21)
    reference_closes = models.ManyToManyField(ClosingPrice, blank=True, related_name="+")
    calendar = models.CharField(max_length=10, choices=Calendar.choices, default=Calendar.XFED)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    # Servicing state, written only by servicing.posting from the engine's result, in the same
    # transaction as the ledger entries it sums: the last day posted, the engine's state at the end
    # of it, and the note's balances then (`engine.Balances`: each account's ledger total, the open
    # period's interest accrued so far, what is past due as the next day begins, and what falls due
    # next). Lists, filters and the dashboard read these columns instead of summing the ledger;
    # `manage.py verify_ledger` proves them equal to it.
    closed_through = models.DateField(null=True, blank=True)
    engine_state = models.JSONField(null=True, blank=True, editable=False)
    principal_outstanding = ExactDecimalField(**MONEY, default=Decimal("0"), db_index=True)
    interest_due = ExactDecimalField(**MONEY, default=Decimal("0"))
    default_interest_due = ExactDecimalField(**MONEY, default=Decimal("0"))
    costs_due = ExactDecimalField(**MONEY, default=Decimal("0"))
    unapplied = ExactDecimalField(**MONEY, default=Decimal("0"))
    accrued_interest = ExactDecimalField(**MONEY, default=Decimal("0"))
    accrued_default_interest = ExactDecimalField(**MONEY, default=Decimal("0"))
    past_due = ExactDecimalField(**MONEY, default=Decimal("0"), db_index=True)
    past_due_since = models.DateField(null=True, blank=True)
    next_due_on = models.DateField(null=True, blank=True, db_index=True)
    next_due_amount = ExactDecimalField(**MONEY, default=Decimal("0"))

    POSTED = (
        "closed_through",
        "engine_state",
        "principal_outstanding",
        "interest_due",
        "default_interest_due",
        "costs_due",
        "unapplied",
        "accrued_interest",
        "accrued_default_interest",
        "past_due",
        "past_due_since",
        "next_due_on",
        "next_due_amount",
    )
    history = HistoricalRecords(excluded_fields=POSTED)

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
    def first_day(self):
        return self.accrues_from or self.agreement_date

    def chain_of_title(self) -> list[tuple[int, "Note"]]:
        """The note's original and every substitute note issued from it (8(j)), each under the note
        it came from, with its depth."""
        root = self
        while root.parent_id:
            root = root.parent

        def walk(note, depth):
            yield depth, note
            for substitute in note.substitutes.select_related("holder").order_by("pk"):
                yield from walk(substitute, depth + 1)

        return list(walk(root, 0))


class Assignment(Approvable):
    """The holder assigns all or part of a note (8(j)); each part becomes a substitute note."""

    note = models.ForeignKey(Note, on_delete=models.PROTECT, related_name="assignments")
    effective_on = models.DateField(help_text="The assigned principal leaves the note on this day.")
    description = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta(Approvable.Meta):
        ordering = ["note", "effective_on", "pk"]

    def __str__(self):
        return f"Assignment of {self.note} effective {self.effective_on}"

    @property
    def principal(self) -> Decimal:
        return sum((p.principal for p in self.parts.all()), Decimal("0.00"))


class AssignmentPart(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="parts")
    assignee = models.ForeignKey("holders.Holder", on_delete=models.PROTECT, related_name="+")
    principal = ExactDecimalField(**MONEY)
    substitute = models.OneToOneField(
        Note, null=True, blank=True, editable=False, on_delete=models.PROTECT, related_name="assigned_by"
    )

    class Meta:
        ordering = ["assignment", "pk"]
        constraints = [models.CheckConstraint(condition=Q(principal__gt=0), name="assigned_principal_above_zero")]

    def __str__(self):
        return f"{cents(self.principal)} to {self.assignee}"


class Participation(Approvable):
    """A share of the note's payments sold to a participant; the holder of record is unchanged (8(j))."""

    note = models.ForeignKey(Note, on_delete=models.PROTECT, related_name="participations")
    participant = models.ForeignKey("holders.Holder", on_delete=models.PROTECT, related_name="participations")
    share = ExactDecimalField(max_digits=11, decimal_places=10, help_text="The fraction of each payment, 0 to 1.")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True, help_text="The first day it no longer shares.")

    history = HistoricalRecords()

    class Meta(Approvable.Meta):
        ordering = ["note", "starts_on", "pk"]
        constraints = [
            *Approvable.Meta.constraints,
            models.CheckConstraint(condition=Q(share__gt=0) & Q(share__lte=1), name="participation_share_0_to_1"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gt=models.F("starts_on")),
                name="participation_ends_later",
            ),
        ]

    def __str__(self):
        return f"{percent(self.share)} of {self.note} to {self.participant}"

    def active_on(self, day) -> bool:
        return self.is_approved and self.starts_on <= day and (self.ends_on is None or day < self.ends_on)


class Warrant(models.Model):
    """A warrant to purchase common stock delivered with the note (section 6)."""

    class Status(models.TextChoices):
        OUTSTANDING = "outstanding", "Outstanding"
        EXPIRED = "expired", "Expired"

    number = models.CharField(max_length=40, unique=True, validators=[one_line])
    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="warrants")
    holder = models.ForeignKey("holders.Holder", on_delete=models.PROTECT, related_name="warrants")
    note = models.ForeignKey(Note, null=True, blank=True, on_delete=models.PROTECT, related_name="warrants")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="substitutes")
    shares = models.PositiveBigIntegerField()
    exercise_price = ExactDecimalField(**PRICE)
    issued_on = models.DateField()
    expires_on = models.DateField(help_text="The last day it may be exercised.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OUTSTANDING, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(condition=Q(shares__gt=0), name="warrant_shares_above_zero"),
            models.CheckConstraint(condition=Q(exercise_price__gt=0), name="exercise_price_above_zero"),
            models.CheckConstraint(condition=Q(expires_on__gte=models.F("issued_on")), name="expires_after_issue"),
        ]

    def __str__(self):
        return self.number


class WarrantExercise(Approvable):
    warrant = models.ForeignKey(Warrant, on_delete=models.PROTECT, related_name="exercises")
    exercised_on = models.DateField()
    shares = models.PositiveBigIntegerField()
    price_paid = ExactDecimalField(**MONEY, help_text="Shares × exercise price, to the cent.")

    history = HistoricalRecords()

    class Meta(Approvable.Meta):
        ordering = ["warrant", "exercised_on", "pk"]

    def __str__(self):
        return f"{quantity(self.shares)} shares of {self.warrant} on {self.exercised_on}"


class WarrantAssignment(Approvable):
    """All or part of a warrant assigned (8(j)); the assignee receives a substitute warrant."""

    warrant = models.ForeignKey(Warrant, on_delete=models.PROTECT, related_name="assignments")
    effective_on = models.DateField()
    assignee = models.ForeignKey("holders.Holder", on_delete=models.PROTECT, related_name="+")
    shares = models.PositiveBigIntegerField()
    substitute = models.OneToOneField(
        Warrant, null=True, blank=True, editable=False, on_delete=models.PROTECT, related_name="assigned_by"
    )

    history = HistoricalRecords()

    class Meta(Approvable.Meta):
        ordering = ["warrant", "effective_on", "pk"]

    def __str__(self):
        return f"{quantity(self.shares)} shares of {self.warrant} to {self.assignee}"


class CorporateAction(Approvable):
    """A change to the issuer's common stock (section 5)."""

    class Kind(models.TextChoices):
        SPLIT = "split", "Subdivision (split)"
        COMBINATION = "combination", "Combination (reverse split)"
        RECLASSIFICATION = "reclassification", "Reclassification"
        MERGER = "merger", "Consolidation or merger"
        SALE = "sale", "Sale or conveyance"

    SUPPLEMENTAL = (Kind.RECLASSIFICATION, Kind.MERGER, Kind.SALE)
    # What the supplemental agreement prints of a successor that signs it (documents.party_of_successor).
    SUCCESSOR_FACTS = (
        "successor_jurisdiction",
        "successor_notice_address",
        "successor_signatory_name",
        "successor_signatory_title",
    )

    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="corporate_actions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    effective_on = models.DateField()
    ratio = ExactDecimalField(
        max_digits=20, decimal_places=10, null=True, blank=True, help_text="A split or combination: new shares per old."
    )
    successor = models.CharField(
        max_length=200, blank=True, validators=[one_line], help_text="The successor or purchasing corporation."
    )
    # The successor executes the supplemental agreement in the Company's place (section 5): the
    # document names it "a Nevada corporation" and it signs through its officer.
    successor_jurisdiction = models.CharField(
        "successor's state of incorporation", max_length=100, blank=True, validators=[one_line]
    )
    successor_notice_address = models.TextField(
        "successor's notice address", blank=True, help_text="Below the name: attention line, street, city (8(b))."
    )
    successor_signatory_name = models.CharField(
        "successor's signatory name", max_length=200, blank=True, validators=[one_line]
    )
    successor_signatory_title = models.CharField(
        "successor's signatory title", max_length=200, blank=True, validators=[one_line]
    )
    description = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta(Approvable.Meta):
        ordering = ["issuer", "effective_on", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.issuer} on {self.effective_on}"


class SuccessorSecurity(models.Model):
    """What one common share became: the kind and amount of securities per share (section 5)."""

    action = models.ForeignKey(CorporateAction, on_delete=models.PROTECT, related_name="securities")
    name = models.CharField(max_length=200, validators=[one_line])
    per_share = ExactDecimalField(max_digits=30, decimal_places=10)

    class Meta:
        ordering = ["action", "pk"]
        verbose_name_plural = "successor securities"
        constraints = [models.CheckConstraint(condition=Q(per_share__gt=0), name="per_share_above_zero")]

    def __str__(self):
        return f"{self.per_share.normalize()} {self.name} per share"


class SupplementalAgreement(models.Model):
    """Made on an approved reclassification, merger or sale: from its date the notes convert into
    the successor securities (section 5)."""

    action = models.OneToOneField(CorporateAction, on_delete=models.PROTECT, related_name="supplemental_agreement")
    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="supplemental_agreements")
    effective_on = models.DateField()
    notes = models.ManyToManyField(Note, related_name="supplemental_agreements")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["issuer", "effective_on"]

    def __str__(self):
        return f"Supplemental agreement of {self.effective_on} ({self.action.get_kind_display().lower()})"


class ReviewFlag(models.Model):
    """Something staff must look at on a note: a split to review, a holder's notice due."""

    class Kind(models.TextChoices):
        SPLIT_REVIEW = "split_review", "Split or combination to review"
        NOTICE_DUE = "notice_due", "Notice of supplemental agreement due (section 5)"

    note = models.ForeignKey(Note, on_delete=models.PROTECT, related_name="flags")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    action = models.ForeignKey(CorporateAction, null=True, on_delete=models.PROTECT, related_name="flags")
    raised_on = models.DateField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["note", "raised_on", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.note}"
