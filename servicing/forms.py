"""The staff forms: one per workflow. Each checks the shape of its input and hands it to the service,
which checks the rules; a refusal is shown next to the field it names. `preview()` gives what the
rules make of the input before anything is saved (deemed-received dates, windows, shares)."""

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from holders.models import Holder
from notes.models import Approval, ClosingPrice, CorporateAction, Issuer, Note, Participation, SuccessorSecurity
from servicing import engine, lifecycle, services
from servicing.models import DefaultEvent, Method, Notice
from servicing.once import SubmitOnce
from servicing.quotes import conversion_quote
from servicing.selectors import note_terms
from servicing.web import IsoDateField, add_service_errors
from servicing.words import amount as amount_text
from servicing.words import price
from servicing.words import quantity as shares_text

MONEY = {"max_digits": 20, "decimal_places": 2, "min_value": Decimal("0.01")}


TEXT_LENGTH = 5000  # a description or reason: a few paragraphs at most


def text_field(**kw):
    return forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=TEXT_LENGTH, **kw)


def date_field(label=None, **kw):
    return IsoDateField(label=label, **kw)


CONFIRM_DATE = "The date is right"


def unusual_day(day, calendar: str, doing: str) -> str | None:
    """Why a day without business is an unusual date for what the form records, or None on a business
    day: the calendar's own holidays (engine.calendar), named, or the weekend."""
    if engine.calendar.is_business_day(day, calendar):
        return None
    holiday = engine.calendar.holiday_name(day, calendar)
    why = (
        f"{day} is {holiday}, a bank holiday: {doing} on a bank holiday"
        if holiday
        else (f"{day} is a {day:%A}: {doing} on a weekend")
    )
    return f"{why}. Tick '{CONFIRM_DATE}' to record it."


class WorkflowForm(SubmitOnce):
    """A form recording one kind of event on a note."""

    title = ""
    permission = ""
    pending = True  # takes effect only once approved (four-eyes)
    has_preview = False  # preview() says what the rules make of the input
    fields_renamed: dict[str, str] = {}  # the service's field name → this form's
    # A date field → what is rarely done on a weekend or holiday: such a date is recorded once the
    # user ticks `confirm_date` (a typing slip, 2026-11-29 for 2026-11-24, is caught before approval).
    usual_days: dict[str, str] = {}

    @classmethod
    def unavailable(cls, note: Note) -> str | None:
        """Why nothing can be recorded with this form on the note now, and what to do instead, or
        None: the note page offers the form only when this is None and the form page says why."""
        return None

    def __init__(self, *args, note: Note, **kwargs):
        self.note = note
        super().__init__(*args, **kwargs)
        if self.usual_days:
            # Hidden until a date asks for it; placed just after the dates it confirms.
            confirm = forms.BooleanField(required=False, label=CONFIRM_DATE, widget=forms.HiddenInput)
            fields = list(self.fields.items())
            at = max(i for i, (name, _) in enumerate(fields) if name in self.usual_days) + 1
            self.fields = dict([*fields[:at], ("confirm_date", confirm), *fields[at:]])

    def clean(self):
        data = super().clean()
        self.date_confirmed = data.pop("confirm_date", False)  # kept apart from the values the service takes
        return data

    def record(self, by):
        raise NotImplementedError

    def preview(self) -> list[str]:
        return []

    def save(self, by):
        """Record through the service; a refusal becomes an error at its field. Returns the record."""
        try:
            return self.record_once(lambda: self.day_confirmed(self.record(by)))
        except ValidationError as e:
            add_service_errors(self, e, self.fields_renamed)
            return None

    def day_confirmed(self, item):
        """The record, if its dates are business days or the user said they are right; otherwise a
        refusal that asks, which rolls the record back. Asked after the rules are checked, so a
        date they refuse (a payment received in the future) is refused for that, not asked about."""
        unusual = self.unusual_dates()
        if unusual and not self.date_confirmed:
            raise ValidationError({name: [why] for name, why in unusual.items()})
        return item

    def unusual_dates(self) -> dict[str, str]:
        """Each date of the form on a weekend or holiday, with why it is unusual; the box that
        confirms them is shown once one is named."""
        unusual = {}
        for name, doing in self.usual_days.items():
            why = self.cleaned_data.get(name) and unusual_day(self.cleaned_data[name], self.note.calendar, doing)
            if why:
                unusual[name] = why
        if unusual:
            self.fields["confirm_date"].widget = forms.CheckboxInput()
        return unusual


class NoticeFields(WorkflowForm):
    notice_sent = date_field("Notice sent on")
    method = forms.ChoiceField(choices=Method.choices)
    usual_days = {"notice_sent": "notices are rarely sent"}

    def deemed(self):
        data = self.cleaned_data
        return engine.notices.deemed_received(data["notice_sent"], data["method"], self.note.calendar)


class PaymentForm(WorkflowForm):
    title = "Record a payment"
    permission = "servicing.add_payment"
    usual_days = {"received_on": "payments are rarely received"}
    received_on = date_field()
    amount = forms.DecimalField(**MONEY)
    reference = forms.CharField(required=False, max_length=100, help_text="Wire or cheque reference.")

    def record(self, by):
        d = self.cleaned_data
        return services.payment_record(
            note=self.note, received_on=d["received_on"], amount=d["amount"], reference=d["reference"], by=by
        )


class NoticeForm(WorkflowForm):
    title = "Record a notice"
    has_preview = True
    permission = "servicing.add_notice"
    pending = False
    usual_days = {"sent_on": "notices are rarely sent"}
    kind = forms.ChoiceField(
        choices=[
            c
            for c in Notice.Kind.choices
            if c[0] not in (Notice.Kind.CONVERSION, Notice.Kind.PREPAYMENT, Notice.Kind.ACCELERATION)
        ]
    )
    direction = forms.ChoiceField(choices=Notice.Direction.choices)
    method = forms.ChoiceField(choices=Method.choices)
    sent_on = date_field()
    description = text_field()

    def preview(self):
        d = self.cleaned_data
        deemed = engine.notices.deemed_received(d["sent_on"], d["method"], self.note.calendar)
        return [f"Deemed received on {deemed:%A %Y-%m-%d} (section 8(b))."]

    def record(self, by):
        d = self.cleaned_data
        return services.notice_record(note=self.note, by=by, **d)


class ConversionForm(NoticeFields):
    title = "Record the holder's notice of conversion"
    has_preview = True
    permission = "servicing.add_conversion"
    principal = forms.DecimalField(**MONEY, required=False, help_text="Empty: all principal outstanding.")

    def preview(self):
        d = self.cleaned_data
        on = self.deemed()
        quote = conversion_quote(self.note, on, d["principal"])
        lines = [f"Conversion Date (deemed received, 4(b)): {on:%A %Y-%m-%d}."]
        if quote.refusal:
            return [*lines, quote.refusal]
        return [
            *lines,
            f"Converts {amount_text(quote.amount)} at {price(quote.price)} into {shares_text(quote.shares)} shares.",
        ]

    def record(self, by):
        d = self.cleaned_data
        return services.conversion_record(
            note=self.note, notice_sent=d["notice_sent"], method=d["method"], principal=d["principal"], by=by
        )


class PrepaymentForm(NoticeFields):
    title = "Record the company's notice of prepayment"
    has_preview = True
    permission = "servicing.add_prepayment"
    prepayment_date = date_field()
    principal = forms.DecimalField(**MONEY, required=False, help_text="Empty: all principal outstanding.")

    def preview(self):
        received = self.deemed()
        _, window_end = engine.prepayment.conversion_window(received, self.note.calendar)
        return [
            f"Prepayment allowed from {note_terms(self.note).prepayment_allowed_from:%Y-%m-%d} (section 3).",
            f"The holder is deemed to receive the notice on {received:%A %Y-%m-%d}; the conversion window runs "
            f"through {window_end:%A %Y-%m-%d} (4(a)); the earliest prepayment date is "
            f"{window_end + timedelta(days=1):%Y-%m-%d}.",
        ]

    def record(self, by):
        d = self.cleaned_data
        return services.prepayment_record(
            note=self.note,
            notice_sent=d["notice_sent"],
            method=d["method"],
            prepayment_date=d["prepayment_date"],
            principal=d["principal"],
            by=by,
        )


class AccelerationForm(NoticeFields):
    title = "Record the holder's notice of acceleration (7(y))"
    has_preview = True
    permission = "servicing.add_accelerationnotice"

    def preview(self):
        return [f"Takes effect when deemed received: {self.deemed():%A %Y-%m-%d}, if an Event of Default continues."]

    def record(self, by):
        d = self.cleaned_data
        return services.acceleration_record(note=self.note, notice_sent=d["notice_sent"], method=d["method"], by=by)


class CovenantForm(WorkflowForm):
    title = "Record a covenant breach (7(a)(ii))"
    has_preview = True
    permission = "servicing.add_defaultevent"
    occurred_on = date_field("Breached on")
    cured_on = date_field(required=False)
    description = text_field()

    def preview(self):
        deadline = engine.defaults.cure_deadline(self.cleaned_data["occurred_on"], self.note.calendar)
        return [f"Cure deadline: the end of {deadline:%A %Y-%m-%d} (five business days)."]

    def record(self, by):
        d = self.cleaned_data
        return services.default_record(note=self.note, kind=DefaultEvent.Kind.COVENANT, by=by, **d)


class DefaultForm(WorkflowForm):
    permission = "servicing.add_defaultevent"
    kind = ""
    occurred_on = date_field()
    description = text_field()

    def record(self, by):
        d = self.cleaned_data
        return services.default_record(note=self.note, kind=self.kind, by=by, **d)


class InsolvencyForm(DefaultForm):
    title = "Record an insolvency (7(a)(iii)): the note accelerates at once"
    kind = DefaultEvent.Kind.INSOLVENCY


class MisrepresentationForm(DefaultForm):
    title = "Record a misrepresentation (7(a)(iv))"
    kind = DefaultEvent.Kind.MISREPRESENTATION


def open_defaults(note, kinds):
    events = note.default_events.filter(kind__in=kinds, approval=Approval.APPROVED).prefetch_related("waivers", "cures")
    return [e for e in events if e.ended_on is None]


PAYMENT_DEFAULT_ENDS = "A payment default (7(a)(i)) ends when the amount past due is paid: record a payment instead."


def _awaiting(note, kinds) -> str:
    """A sentence on the note's defaults of `kinds` still awaiting approval, or nothing."""
    pending = note.default_events.filter(kind__in=kinds, approval=Approval.PENDING).count()
    if not pending:
        return ""
    if pending == 1:
        return " One is recorded and awaits approval: it can be chosen here once approved."
    return f" {pending} are recorded and await approval: they can be chosen here once approved."


class CureForm(WorkflowForm):
    title = "Record the cure of a covenant breach"
    permission = "servicing.add_cure"
    event = forms.TypedChoiceField(coerce=int, label="Breach")
    cured_on = date_field()
    description = text_field()

    @classmethod
    def unavailable(cls, note):
        if open_defaults(note, [DefaultEvent.Kind.COVENANT]):
            return None
        return (
            f"No covenant breach of {note.number} is open: a cure applies only to a covenant breach (7(a)(ii)) "
            f"that is recorded, approved and not yet cured or waived.{_awaiting(note, [DefaultEvent.Kind.COVENANT])} "
            f"{PAYMENT_DEFAULT_ENDS}"
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event"].choices = [(e.pk, str(e)) for e in open_defaults(self.note, [DefaultEvent.Kind.COVENANT])]

    def record(self, by):
        d = self.cleaned_data
        event = DefaultEvent.objects.get(pk=d["event"], note=self.note)
        return services.cure_record(event=event, cured_on=d["cured_on"], description=d["description"], by=by)


class WaiverForm(WorkflowForm):
    title = "Record the holder's written waiver (7(d))"
    permission = "servicing.add_waiver"
    fields_renamed = {"default_event": "event"}
    event = forms.TypedChoiceField(coerce=int, label="Event of Default")
    waived_on = date_field()
    description = text_field()

    kinds = [DefaultEvent.Kind.COVENANT, DefaultEvent.Kind.MISREPRESENTATION]

    @classmethod
    def unavailable(cls, note):
        if open_defaults(note, cls.kinds):
            return None
        return (
            f"No covenant breach or misrepresentation of {note.number} is open: the holder's written waiver "
            f"(7(d)) applies only to one recorded, approved and not yet cured or waived.{_awaiting(note, cls.kinds)} "
            f"{PAYMENT_DEFAULT_ENDS} An insolvency accelerates the note (7(x)) and is not waived here."
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event"].choices = [(e.pk, str(e)) for e in open_defaults(self.note, self.kinds)]

    def record(self, by):
        d = self.cleaned_data
        event = DefaultEvent.objects.get(pk=d["event"], note=self.note)
        return services.waiver_record(event=event, waived_on=d["waived_on"], description=d["description"], by=by)


class CostForm(WorkflowForm):
    title = "Record costs of collection"
    permission = "servicing.add_collectioncost"
    billed_on = date_field()
    amount = forms.DecimalField(**MONEY)
    description = forms.CharField(max_length=TEXT_LENGTH, help_text="What the costs were for: counsel, filing fees…")

    def record(self, by):
        return services.cost_record(note=self.note, by=by, **self.cleaned_data)


class AssignmentForm(WorkflowForm):
    title = "Record an assignment (8(j))"
    permission = "notes.add_assignment"
    fields_renamed = {"principal": "principal_1", "assignee": "assignee_1", "parts": "assignee_1"}
    effective_on = date_field()
    assignee_1 = forms.ModelChoiceField(Holder.objects.all())
    principal_1 = forms.DecimalField(**MONEY)
    assignee_2 = forms.ModelChoiceField(Holder.objects.all(), required=False)
    principal_2 = forms.DecimalField(**MONEY, required=False)
    assignee_3 = forms.ModelChoiceField(Holder.objects.all(), required=False)
    principal_3 = forms.DecimalField(**MONEY, required=False)
    description = text_field()

    def clean(self):
        data = super().clean()
        for i in (2, 3):
            if bool(data.get(f"assignee_{i}")) != bool(data.get(f"principal_{i}")):
                self.add_error(f"principal_{i}", "give both the assignee and the principal assigned")
        return data

    def record(self, by):
        d = self.cleaned_data
        parts = [(d[f"assignee_{i}"], d[f"principal_{i}"]) for i in (1, 2, 3) if d.get(f"assignee_{i}")]
        return lifecycle.assignment_record(
            note=self.note, effective_on=d["effective_on"], parts=parts, description=d["description"], by=by
        )


class ParticipationForm(WorkflowForm):
    title = "Record a participation (8(j))"
    permission = "notes.add_participation"
    participant = forms.ModelChoiceField(Holder.objects.all())
    share = Participation._meta.get_field("share").formfield(help_text="Of each payment: 0.25 is a quarter.")
    starts_on = date_field()

    def record(self, by):
        return lifecycle.participation_record(note=self.note, by=by, **self.cleaned_data)


WORKFLOWS = {
    "payment": PaymentForm,
    "notice": NoticeForm,
    "conversion": ConversionForm,
    "prepayment": PrepaymentForm,
    "covenant": CovenantForm,
    "cure": CureForm,
    "misrepresentation": MisrepresentationForm,
    "insolvency": InsolvencyForm,
    "acceleration": AccelerationForm,
    "waiver": WaiverForm,
    "cost": CostForm,
    "assignment": AssignmentForm,
    "participation": ParticipationForm,
}


class WarrantExerciseForm(SubmitOnce):
    exercised_on = date_field()
    shares = forms.IntegerField(min_value=1)


class WarrantAssignmentForm(SubmitOnce):
    effective_on = date_field()
    assignee = forms.ModelChoiceField(Holder.objects.all())
    shares = forms.IntegerField(min_value=1)


class ClosingPriceForm(SubmitOnce):
    issuer = forms.ModelChoiceField(Issuer.objects.all())
    date = date_field()
    close = ClosingPrice._meta.get_field("close").formfield()


SUCCESSOR_SIGNS = "A merger or sale: the successor signs the supplemental agreement, which is refused without these."


class CorporateActionForm(SubmitOnce):
    issuer = forms.ModelChoiceField(Issuer.objects.all())
    kind = forms.ChoiceField(choices=CorporateAction.Kind.choices)
    effective_on = date_field()
    ratio = CorporateAction._meta.get_field("ratio").formfield(
        required=False, help_text="A split or combination: new shares per old."
    )
    successor = forms.CharField(
        required=False, max_length=200, help_text="A merger or sale: the successor or purchasing corporation."
    )
    successor_jurisdiction = forms.CharField(
        required=False, max_length=100, label="Successor's state of incorporation", help_text=SUCCESSOR_SIGNS
    )
    successor_notice_address = forms.CharField(
        required=False, label="Successor's notice address", widget=forms.Textarea(attrs={"rows": 3})
    )
    successor_signatory_name = forms.CharField(required=False, max_length=200, label="Successor's signatory name")
    successor_signatory_title = forms.CharField(required=False, max_length=200, label="Successor's signatory title")
    security_1 = forms.CharField(required=False, max_length=200, label="Successor security 1")
    per_share_1 = SuccessorSecurity._meta.get_field("per_share").formfield(required=False, label="Per common share")
    security_2 = forms.CharField(required=False, max_length=200, label="Successor security 2")
    per_share_2 = SuccessorSecurity._meta.get_field("per_share").formfield(required=False, label="Per common share")
    description = text_field()

    def securities(self):
        d = self.cleaned_data
        return [(d[f"security_{i}"], d[f"per_share_{i}"]) for i in (1, 2) if d.get(f"security_{i}")]

    def clean(self):
        data = super().clean()
        for i in (1, 2):
            if bool(data.get(f"security_{i}")) != (data.get(f"per_share_{i}") is not None):
                self.add_error(f"per_share_{i}", "give both the security and the amount per common share")
        return data


class QuoteForm(forms.Form):
    """The note page's what-ifs: the payoff on a date, the shares a conversion would give."""

    on = date_field("Date")
    principal = forms.DecimalField(**MONEY, required=False, help_text="Conversion: empty for all principal.")

    def __init__(self, *args, note: Note, **kwargs):
        self.note = note
        super().__init__(*args, **kwargs)

    def clean_on(self):
        on = self.cleaned_data["on"]
        try:
            note_terms(self.note).check_day("on", on)  # the replay is bounded: no what-if past the note's window
        except engine.RuleError as e:
            raise ValidationError(e.message) from None
        return on


class ExhibitForm(SubmitOnce):
    """An exhibit to a note's agreement: the service checks the label and the file."""

    label = forms.CharField(max_length=7, help_text='As the agreement names it: "A" for Exhibit A.')
    title = forms.CharField(
        max_length=200, help_text="As its cover page prints it, e.g. Registration Rights Agreement."
    )
    pdf = forms.FileField(label="PDF", help_text="A PDF of at most 20 MB.")
