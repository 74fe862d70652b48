"""The servicing records: the events staff record, and what posting them produced.

Events (notices, payments, conversions, prepayments, defaults) are recorded by
`servicing.services`. Ledger entries, periods, Events of Default and accelerations are written
only by `servicing.posting`, from the engine's replay of the note.
"""

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import models
from django.db.models import Q
from simple_history import register
from simple_history.models import HistoricalRecords

from holders.validators import one_line
from notes.fields import ExactDecimalField
from notes.models import MONEY, Approvable
from servicing import engine, words

# Who may log in and what each role may do are recorded like any other record (who changed them, when).
# (Not its password hash, which is no one's to keep; nor a login, which changes only last_login.)
register(User, app="servicing", m2m_fields=["groups", "user_permissions"], excluded_fields=["last_login", "password"])
register(Group, app="servicing", m2m_fields=["permissions"])

APPROVE = "servicing.approve_entries"  # four-eyes: approve what another user recorded, reverse a payment


class Method(models.TextChoices):
    """How a notice was given (section 8(b))."""

    CERTIFIED_MAIL = "certified_mail", "Certified mail"
    REGISTERED_MAIL = "registered_mail", "Registered mail"
    OVERNIGHT_COURIER = "overnight_courier", "Overnight courier"
    TELECOPY = "telecopy", "Telecopy"
    PERSONAL_DELIVERY = "personal_delivery", "Personal delivery"


class Notice(models.Model):
    class Kind(models.TextChoices):
        CONVERSION = "conversion", "Notice of conversion (4(b))"
        PREPAYMENT = "prepayment", "Notice of prepayment (3)"
        ACCELERATION = "acceleration", "Notice of acceleration (7(y))"
        DEFAULT = "default", "Notice of default"
        WAIVER = "waiver", "Written waiver (7(d))"
        SUPPLEMENTAL = "supplemental", "Notice of supplemental agreement (5)"
        ADDRESS_CHANGE = "address_change", "Change of address (8(b))"
        OTHER = "other", "Other"

    class Direction(models.TextChoices):
        HOLDER_TO_COMPANY = "holder_to_company", "Holder to company"
        COMPANY_TO_HOLDER = "company_to_holder", "Company to holder"

    note = models.ForeignKey("notes.Note", on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    direction = models.CharField(max_length=20, choices=Direction.choices)
    method = models.CharField(max_length=20, choices=Method.choices)
    sent_on = models.DateField()
    deemed_received_on = models.DateField(editable=False)
    description = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["note", "sent_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(deemed_received_on__gte=models.F("sent_on")), name="received_after_sent"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} sent {self.sent_on} by {self.get_method_display().lower()}"


class Payment(Approvable):
    note = models.ForeignKey("notes.Note", on_delete=models.PROTECT, related_name="payments")
    received_on = models.DateField()
    amount = ExactDecimalField(**MONEY)
    reference = models.CharField(
        max_length=100, blank=True, validators=[one_line], help_text="Wire or cheque reference."
    )
    # A payment keyed in error is not deleted: it is reversed, and the note replayed without it.
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversal_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta(Approvable.Meta):
        ordering = ["note", "received_on", "pk"]
        constraints = [
            *Approvable.Meta.constraints,
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_above_zero"),
        ]

    def __str__(self):
        return f"{words.amount(self.amount)} received {self.received_on}"


class Conversion(Approvable):
    """The holder's election to convert (section 4); the results are filled in on the Conversion Date."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CONVERTED = "converted", "Converted"
        REFUSED = "refused", "Refused"

    note = models.ForeignKey("notes.Note", on_delete=models.PROTECT, related_name="conversions")
    notice = models.OneToOneField(Notice, on_delete=models.PROTECT, related_name="conversion")
    principal_requested = ExactDecimalField(**MONEY, null=True, blank=True, help_text="Empty: all principal.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED, editable=False)
    principal = ExactDecimalField(**MONEY, null=True, editable=False)
    interest = ExactDecimalField(**MONEY, null=True, editable=False)
    default_interest = ExactDecimalField(**MONEY, null=True, editable=False)
    amount = ExactDecimalField(**MONEY, null=True, editable=False)
    shares = models.PositiveBigIntegerField(null=True, editable=False)
    # After a supplemental agreement (section 5): [{"security": name, "units": n}] delivered instead of shares.
    deliveries = models.JSONField(default=list, blank=True, editable=False)
    refusal = models.TextField(blank=True, editable=False)

    history = HistoricalRecords()

    class Meta(Approvable.Meta):
        ordering = ["note", "notice__deemed_received_on", "pk"]

    def __str__(self):
        return f"Conversion on {self.conversion_date}"

    @property
    def conversion_date(self):
        return self.notice.deemed_received_on


class Prepayment(Approvable):
    """The company's prepayment under section 3, after the holder's conversion window."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        PAID = "paid", "Paid"

    note = models.ForeignKey("notes.Note", on_delete=models.PROTECT, related_name="prepayments")
    notice = models.OneToOneField(Notice, on_delete=models.PROTECT, related_name="prepayment")
    prepayment_date = models.DateField()
    principal_requested = ExactDecimalField(**MONEY, null=True, blank=True, help_text="Empty: all principal.")
    window_end = models.DateField(editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED, editable=False)
    principal = ExactDecimalField(**MONEY, null=True, editable=False)
    interest = ExactDecimalField(**MONEY, null=True, editable=False)
    default_interest = ExactDecimalField(**MONEY, null=True, editable=False)
    amount = ExactDecimalField(**MONEY, null=True, editable=False)

    history = HistoricalRecords()

    class Meta(Approvable.Meta):
        ordering = ["note", "prepayment_date", "pk"]

    def __str__(self):
        return f"Prepayment on {self.prepayment_date}"


class DefaultEvent(Approvable):
    """A default other than non-payment, as recorded by staff (section 7(a)(ii)–(iv)). It moves
    money (default interest) and the note's status (an insolvency accelerates it), so it takes
    effect only once a second user approves it."""

    class Kind(models.TextChoices):
        COVENANT = "covenant", "Covenant breach (7(a)(ii))"
        INSOLVENCY = "insolvency", "Insolvency (7(a)(iii))"
        MISREPRESENTATION = "misrepresentation", "Misrepresentation (7(a)(iv))"

    note = models.ForeignKey("notes.Note", on_delete=models.PROTECT, related_name="default_events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    occurred_on = models.DateField()
    cured_on = models.DateField(null=True, blank=True, help_text="A covenant breach: the day it was cured.")
    description = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta(Approvable.Meta):
        ordering = ["note", "occurred_on", "pk"]
        constraints = [
            *Approvable.Meta.constraints,
            models.CheckConstraint(
                condition=Q(cured_on__isnull=True) | Q(cured_on__gte=models.F("occurred_on")),
                name="cured_after_it_occurs",
            ),
            models.CheckConstraint(condition=Q(kind="covenant") | Q(cured_on__isnull=True), name="only_covenants_cure"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.occurred_on}"

    @property
    def cure_deadline(self):
        """A covenant breach not cured by the end of this day is an Event of Default (7(a)(ii))."""
        if self.kind != self.Kind.COVENANT:
            return None
        return engine.defaults.cure_deadline(self.occurred_on, self.note.calendar)

    @property
    def ended_on(self):
        """The first day it no longer runs: cured (at recording, or by an approved cure), or waived
        by an approved written waiver (7(d))."""
        ends = [w.waived_on for w in self.waivers.all() if w.is_approved] if self.pk else []
        ends += [c.cured_on for c in self.cures.all() if c.is_approved] if self.pk else []
        if self.cured_on is not None:
            ends.append(self.cured_on)
        return min(ends, default=None)


class Waiver(Approvable):
    """The holder's written waiver of an Event of Default (7(d): delay or silence never waives)."""

    default_event = models.ForeignKey(DefaultEvent, on_delete=models.PROTECT, related_name="waivers")
    waived_on = models.DateField(help_text="The date of the holder's written waiver; the default ends that day.")
    description = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta(Approvable.Meta):
        ordering = ["default_event", "pk"]

    def __str__(self):
        return f"Waiver of {self.default_event} on {self.waived_on}"


class Cure(Approvable):
    """The cure of a covenant breach (7(a)(ii)), recorded after the breach; it ends the breach, and
    within five business days the breach never became an Event of Default."""

    default_event = models.ForeignKey(DefaultEvent, on_delete=models.PROTECT, related_name="cures")
    cured_on = models.DateField()
    description = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta(Approvable.Meta):
        ordering = ["default_event", "pk"]

    def __str__(self):
        return f"Cure of {self.default_event} on {self.cured_on}"


class PaymentReversal(Approvable):
    """A payment keyed in error, to be reversed: once approved by someone other than whoever
    recorded or approved the payment, the payment is marked reversed and the note replayed without it."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="reversals")
    reason = models.TextField()

    history = HistoricalRecords()

    class Meta(Approvable.Meta):
        ordering = ["payment", "pk"]

    def __str__(self):
        return f"Reversal of the payment of {self.payment}"


class CollectionCost(Approvable):
    """Costs the holder incurred enforcing the agreement, billed to the company (sections 6, 7(b), 8(k))."""

    note = models.ForeignKey("notes.Note", on_delete=models.PROTECT, related_name="collection_costs")
    billed_on = models.DateField()
    amount = ExactDecimalField(**MONEY)
    description = models.TextField(help_text="What the cost was for: counsel, filing fees…")

    history = HistoricalRecords()

    class Meta(Approvable.Meta):
        ordering = ["note", "billed_on", "pk"]
        constraints = [
            *Approvable.Meta.constraints,
            models.CheckConstraint(condition=Q(amount__gt=0), name="cost_above_zero"),
        ]

    def __str__(self):
        return f"Costs of {words.amount(self.amount)} billed {self.billed_on}"


class AccelerationNotice(Approvable):
    """The holder's written notice declaring the note due (7(y))."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        EFFECTIVE = "effective", "Accelerated"
        NO_EFFECT = "no_effect", "No effect (already accelerated)"
        REFUSED = "refused", "Refused"

    note = models.ForeignKey("notes.Note", on_delete=models.PROTECT, related_name="acceleration_notices")
    notice = models.OneToOneField(Notice, on_delete=models.PROTECT, related_name="acceleration")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED, editable=False)
    refusal = models.TextField(blank=True, editable=False)

    history = HistoricalRecords()

    class Meta(Approvable.Meta):
        pass

    def __str__(self):
        return f"Acceleration notice effective {self.notice.deemed_received_on}"


class WriteOnceQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValueError(self.model.altered)

    def delete(self):
        raise ValueError(self.model.deleted)


class WriteOnce(models.Model):
    """Rows written once and never changed or deleted, also not through querysets; `altered` and
    `deleted` say what to do instead."""

    altered = deleted = "written once, never changed"

    objects = WriteOnceQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError(self.altered)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(self.deleted)


class LedgerEntry(WriteOnce):
    """One append-only ledger line. Balances are sums of these; a correction is a reversal."""

    class Account(models.TextChoices):
        PRINCIPAL = "principal", "Principal"
        INTEREST = "interest", "Interest"
        DEFAULT_INTEREST = "default_interest", "Default interest"
        COSTS = "costs", "Costs of collection"
        UNAPPLIED = "unapplied", "Unapplied funds"

    class Kind(models.TextChoices):
        FUNDING = "funding", "Funding"
        BILL = "bill", "Interest billed"
        COST = "cost", "Costs billed"
        PAYMENT = "payment", "Payment"
        UNAPPLIED_APPLIED = "unapplied_applied", "Unapplied funds applied"
        CONVERSION = "conversion", "Conversion"
        PREPAYMENT = "prepayment", "Prepayment"
        ASSIGNMENT = "assignment", "Assignment"
        REVERSAL = "reversal", "Reversal"

    note = models.ForeignKey("notes.Note", on_delete=models.PROTECT, related_name="entries")
    effective_on = models.DateField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    account = models.CharField(max_length=20, choices=Account.choices)
    key = models.CharField(max_length=60, help_text="What the entry is for: a period, payment, conversion…")
    amount = ExactDecimalField(**MONEY)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    posted_at = models.DateTimeField(auto_now_add=True)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    job = models.CharField(max_length=40, blank=True, help_text="The job that posted it, when no user did.")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who approved the payment, conversion… the entry is for (four-eyes).",
    )

    altered = deleted = "ledger entries are append-only: post a reversal instead"

    class Meta:
        ordering = ["note", "effective_on", "pk"]
        verbose_name_plural = "ledger entries"
        permissions = [("approve_entries", "Can approve what another user recorded (four-eyes)")]
        indexes = [
            models.Index(fields=["note", "effective_on"]),
            models.Index(fields=["note", "key"]),
            # The dashboard's month totals and charts, over every note (an index-only scan on PostgreSQL).
            models.Index(fields=["account", "effective_on"], include=["kind", "amount"], name="entry_account_day"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="entry_not_zero"),
            models.CheckConstraint(
                condition=Q(kind="reversal", reverses__isnull=False) | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="reversal_names_what_it_reverses",
            ),
            models.CheckConstraint(condition=Q(posted_by__isnull=False) | ~Q(job=""), name="entry_names_who_posted_it"),
        ]

    def __str__(self):
        return f"{self.effective_on} {self.kind} {self.account} {self.amount}"

    @property
    def what(self) -> str:
        """What the entry is for, in words ("Interest for October 2026", "Payment received 2026-11-02")."""
        return engine.keys.describe(self.key, self.effective_on)


class Period(models.Model):
    """An accrual period as billed (servicing-rules.md, "Accrual periods and billing")."""

    class Reason(models.TextChoices):
        MONTH_END = "month_end", "Month end"
        MATURITY = "maturity", "Maturity"
        ACCELERATION = "acceleration", "Acceleration"
        PREPAYMENT = "prepayment", "Prepayment"
        CONVERSION = "conversion", "Conversion"

    note = models.ForeignKey("notes.Note", on_delete=models.CASCADE, related_name="periods")
    start = models.DateField()
    end = models.DateField()
    days = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    interest = ExactDecimalField(**MONEY)
    default_interest = ExactDecimalField(**MONEY)

    class Meta:
        ordering = ["note", "start"]
        constraints = [models.UniqueConstraint(fields=["note", "start"], name="one_period_per_start")]

    def __str__(self):
        return f"{self.start} – {self.end}"


class MonthEndState(models.Model):
    """The replay's state at the end of the last month end a posting replayed through, one per note
    (servicing.posting): the month's statement goes on from it instead of replaying the note's
    whole life. A full replay of the note rewrites it, as it does the note's own state."""

    note = models.OneToOneField("notes.Note", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    state = models.JSONField()

    def __str__(self):
        return f"State at the end of {self.day}"


class DefaultPeriod(models.Model):
    """An Event of Default or payment default, as the replay found it: first day in, first day out."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment default (7(a)(i))"
        COVENANT = "covenant", "Covenant breach (7(a)(ii))"
        INSOLVENCY = "insolvency", "Insolvency (7(a)(iii))"
        MISREPRESENTATION = "misrepresentation", "Misrepresentation (7(a)(iv))"

    note = models.ForeignKey("notes.Note", on_delete=models.CASCADE, related_name="default_periods")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    start = models.DateField()
    end = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["note", "start", "kind"]
        verbose_name = "Event of Default"
        verbose_name_plural = "Events of Default"

    def __str__(self):
        return f"{self.get_kind_display()} from {self.start}"


class Acceleration(models.Model):
    class Kind(models.TextChoices):
        AUTOMATIC = "automatic", "Automatic (insolvency, 7(x))"
        HOLDER_NOTICE = "holder_notice", "Holder's notice (7(y))"

    note = models.OneToOneField("notes.Note", on_delete=models.CASCADE, related_name="acceleration")
    date = models.DateField()
    kind = models.CharField(max_length=20, choices=Kind.choices)

    def __str__(self):
        return f"Accelerated {self.date}"


class JobRun(models.Model):
    """One run of a job (the close, a statement run): when, what it did, what failed, and whether it
    is still running (servicing.jobruns: a run is *running* only while its worker's heartbeat is fresh)."""

    class State(models.TextChoices):
        RUNNING = "running", "running"
        FINISHED = "finished", "finished"
        FAILED = "failed", "failed"
        ABANDONED = "abandoned", "abandoned (its worker died)"

    job = models.CharField(max_length=40)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="When its worker last said it was alive.")
    worker = models.CharField(max_length=200, blank=True, help_text="The host and process that run it.")
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="retries", help_text="The run it retries."
    )
    through = models.DateField(null=True, blank=True)
    notes_processed = models.PositiveIntegerField(default=0)
    entries_posted = models.PositiveIntegerField(default=0)
    failures = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True, help_text="What else it did, counted.")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["job", "state"], name="jobrun_job_state")]
        constraints = [
            # A run has ended (finished, failed or abandoned) exactly when it has a finish time.
            models.CheckConstraint(
                condition=models.Q(state="running", finished_at__isnull=True)
                | (~models.Q(state="running") & models.Q(finished_at__isnull=False)),
                name="jobrun_ended_has_finished_at",
            ),
        ]

    def __str__(self):
        return f"{self.job} {self.started_at:%Y-%m-%d %H:%M}"


class Document(WriteOnce):
    """A PDF produced from a template, kept with its HTML source and SHA-256, never altered: a new
    version of the same document is a new row."""

    class Kind(models.TextChoices):
        AGREEMENT = "agreement", "Convertible Note Agreement"
        CONVERSION_NOTICE = "conversion_notice", "Notice of conversion"
        CONVERSION_CONFIRMATION = "conversion_confirmation", "Confirmation of conversion"
        PREPAYMENT_NOTICE = "prepayment_notice", "Notice of prepayment"
        DEFAULT_NOTICE = "default_notice", "Notice of default"
        SUPPLEMENTAL_AGREEMENT = "supplemental_agreement", "Supplemental agreement"
        STATEMENT = "statement", "Holder statement"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    subject = models.CharField(max_length=80, help_text="What it speaks of, e.g. note:12 or statement:3:2026-10.")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    note = models.ForeignKey("notes.Note", null=True, blank=True, on_delete=models.PROTECT, related_name="documents")
    holder = models.ForeignKey(
        "holders.Holder", null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    conversion = models.ForeignKey(Conversion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    prepayment = models.ForeignKey(Prepayment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    acceleration_notice = models.ForeignKey(
        AccelerationNotice, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    supplemental_agreement = models.ForeignKey(
        "notes.SupplementalAgreement", null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    month = models.DateField(null=True, blank=True, help_text="A statement: the first day of its month.")
    html = models.TextField(help_text="The HTML the PDF was printed from.")
    pdf = models.FileField(upload_to="documents/%Y/%m/")
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    job = models.CharField(max_length=40, blank=True)

    altered = "documents are never altered: produce a new version"
    deleted = "documents are never deleted"

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["subject", "version"], name="one_document_per_version")]

    def __str__(self):
        return f"{self.title} (v{self.version})"


class NoteExhibit(models.Model):
    """A PDF exhibit to a note's agreement (Exhibit A, the Registration Rights Agreement of section
    4(c)): the produced agreement carries it after the signature page. Kept as uploaded, never
    altered; one that no produced document carries may be deleted and attached again."""

    note = models.ForeignKey("notes.Note", on_delete=models.PROTECT, related_name="exhibits")
    label = models.CharField(max_length=7, help_text='As the agreement names it: "A" for Exhibit A.')
    title = models.CharField(max_length=200, validators=[one_line], help_text="e.g. Registration Rights Agreement")
    pdf = models.FileField("PDF", upload_to="exhibits/", max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.PositiveIntegerField()
    pages = models.PositiveIntegerField()
    pdfa = models.CharField(
        "PDF/A", max_length=4, blank=True, help_text="The PDF/A part and level the file declares (3B, 1A…), if any."
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    job = models.CharField(max_length=40, blank=True, help_text="The job that attached it, when no user did.")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    documents = models.ManyToManyField(Document, through="DocumentExhibit", related_name="exhibits", blank=True)

    history = HistoricalRecords()

    altered = "exhibits are never altered: delete it (while no document carries it) and attach it again"

    class Meta:
        ordering = ["note", "label"]
        constraints = [models.UniqueConstraint(fields=["note", "label"], name="one_exhibit_per_label")]

    def __str__(self):
        return f"Exhibit {self.label} to {self.note}: {self.title}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError(self.altered)
        super().save(*args, **kwargs)


class DocumentExhibit(models.Model):
    """An exhibit a produced document carries: kept while the document is, so the exhibit is too."""

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    exhibit = models.ForeignKey(NoteExhibit, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["document", "exhibit"], name="one_row_per_document_exhibit")]

    def __str__(self):
        return f"{self.exhibit} in {self.document}"


class StatementDelivery(models.Model):
    """The e-mail of one holder's statement for one month: queued, sent, or failed with its error."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed, will retry"
        GAVE_UP = "gave_up", "Failed, gave up"

    holder = models.ForeignKey("holders.Holder", on_delete=models.PROTECT, related_name="statement_deliveries")
    month = models.DateField(help_text="The first day of the statement's month.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    email = models.EmailField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    run = models.ForeignKey(
        JobRun,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The run that holds it now: only its tasks try it (servicing.deliveries).",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-month", "holder"]
        verbose_name_plural = "statement deliveries"
        constraints = [models.UniqueConstraint(fields=["holder", "month"], name="one_statement_per_holder_month")]

    def __str__(self):
        return f"Statement {self.month:%Y-%m} to {self.holder}"


class StatementOutcome(models.Model):
    """What became of one delivery in one statement run (the month's, or a day's retries): waiting
    while the run's task (and its retries) try it, then sent, given up, skipped (nothing to do:
    already sent, not due, or another worker had it) or passed on (a later run took it up). Each
    try is also in the delivery's history; here are the run's counts."""

    class Outcome(models.TextChoices):
        WAITING = "waiting", "waiting"
        SENT = "sent", "sent"
        GAVE_UP = "gave_up", "given up"
        SKIPPED = "skipped", "skipped"
        PASSED_ON = "passed_on", "passed on to a later run"

    run = models.ForeignKey(JobRun, on_delete=models.PROTECT, related_name="statement_outcomes")
    delivery = models.ForeignKey(StatementDelivery, on_delete=models.PROTECT, related_name="outcomes")
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.WAITING)
    tries = models.PositiveSmallIntegerField(default=0, help_text="Tries made in this run.")
    failed = models.PositiveSmallIntegerField(
        default=0, help_text="Tries that failed and were retried (a last one that gives up counts as given up)."
    )
    error = models.TextField(blank=True, help_text="The last try's error.")
    queued_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "delivery"]
        constraints = [models.UniqueConstraint(fields=["run", "delivery"], name="one_outcome_per_run_delivery")]
        indexes = [models.Index(fields=["run", "outcome"], name="statementoutcome_run_outcome")]

    def __str__(self):
        return f"{self.delivery} in run {self.run_id}: {self.outcome}"


class Reminder(models.Model):
    """Something coming due that staff are told of once, by e-mail, and see on the dashboard until
    what it is about ends (paid, cured, converted, matured, window closed): then it is closed, with
    the reason in words (servicing.reminders)."""

    # What it is about; how far off it is, the badge says from the day it is read
    # (servicing.reminders.badge), never the label.
    class Kind(models.TextChoices):
        INTEREST_DUE = "interest_due", "Interest due"
        PAST_DUE = "past_due", "Payment past due"
        MATURITY_30 = "maturity_30", "Maturity within 30 days"
        MATURITY_7 = "maturity_7", "Maturity within 7 days"
        WINDOW_CLOSING = "window_closing", "Holder's conversion window closing"
        CURE_DEADLINE = "cure_deadline", "Covenant cure deadline"
        WARRANT_EXPIRING = "warrant_expiring", "Warrant expiring"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=120, unique=True, help_text="What it is about; each goes out once.")
    note = models.ForeignKey("notes.Note", null=True, blank=True, on_delete=models.PROTECT, related_name="reminders")
    warrant = models.ForeignKey("notes.Warrant", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField()
    message = models.TextField()
    created_on = models.DateField()
    emailed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    closed_reason = models.CharField(max_length=200, blank=True, help_text='In words: "paid on 2026-11-27".')

    class Meta:
        ordering = ["due_on", "pk"]

    def __str__(self):
        return self.message


class SpentToken(models.Model):
    """The one-time token of a form already submitted (`servicing.once`)."""

    token = models.CharField(max_length=64, unique=True)
    spent_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.token


class ImportRun(models.Model):
    """One CSV file uploaded on *Operations → Import* (`servicing.imports`): kept from its dry run to
    its import, with what each step found; the progress of a running step is in the cache."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        CHECKING = "checking", "Checking"
        CHECKED = "checked", "Checked"
        IMPORTING = "importing", "Importing"
        IMPORTED = "imported", "Imported"
        REFUSED = "refused", "Refused"

    kind = models.CharField(max_length=20)
    filename = models.CharField(max_length=200)
    content = models.BinaryField(help_text="The file as uploaded, at most servicing.imports.MAX_BYTES.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UPLOADED)
    rows = models.PositiveIntegerField(default=0, help_text="Rows in the file (without its header).")
    done = models.PositiveIntegerField(default=0, help_text="Rows the running step has gone through.")
    report = models.JSONField(default=dict, blank=True, help_text="What the last step found, row by row.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.kind} from {self.filename}"
