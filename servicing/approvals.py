"""Four-eyes: what moves money or shares takes effect only when a second user approves it.

A record made by one user (a payment, conversion, prepayment, acceleration, covenant breach,
misrepresentation or insolvency, cure, waiver, cost, payment reversal, assignment, participation,
warrant exercise or assignment, corporate action) waits as pending: it
changes no balance and the close ignores it. A different user with the approver permission
approves it — the rules are checked again and it takes effect in the same transaction — or
rejects it with a reason, which is kept.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from notes.models import (
    Approval,
    Assignment,
    CorporateAction,
    Note,
    Participation,
    Warrant,
    WarrantAssignment,
    WarrantExercise,
)
from servicing import lifecycle, services
from servicing.models import (
    APPROVE,
    AccelerationNotice,
    CollectionCost,
    Conversion,
    Cure,
    DefaultEvent,
    Payment,
    PaymentReversal,
    Prepayment,
    Waiver,
)

SYSTEM_APPROVER = "system-approver"


def _post_note(day):
    return lambda item, by: services.note_event_post(note=item.note, on=day(item), by=by)


# What approving each kind of record does, once it is marked approved.
ON_APPROVAL = {
    Payment: _post_note(lambda p: p.received_on),
    Conversion: _post_note(lambda c: c.notice.deemed_received_on),
    Prepayment: _post_note(lambda p: p.prepayment_date),
    AccelerationNotice: _post_note(lambda a: a.notice.deemed_received_on),
    CollectionCost: _post_note(lambda c: c.billed_on),
    DefaultEvent: _post_note(lambda d: d.occurred_on),
    Cure: lambda c, by: services.note_event_post(note=c.default_event.note, on=c.cured_on, by=by),
    Waiver: lambda w, by: services.note_event_post(note=w.default_event.note, on=w.waived_on, by=by),
    PaymentReversal: lambda r, by: services.reversal_apply(reversal=r, by=by),
    Assignment: lambda a, by: lifecycle.assignment_apply(assignment=a, by=by),
    Participation: lambda p, by: lifecycle.participation_apply(participation=p),
    WarrantExercise: lambda e, by: lifecycle.warrant_exercise_apply(exercise=e),
    WarrantAssignment: lambda a, by: lifecycle.warrant_assignment_apply(assignment=a, by=by),
    CorporateAction: lambda a, by: lifecycle.corporate_action_apply(action=a, by=by),
}


@transaction.atomic
def approve(item, *, by):
    """The item takes effect, or nothing changes and the reason is raised (ValidationError)."""
    item = _claim(item, by, approving=True)
    item.approval, item.decided_by, item.decided_at = Approval.APPROVED, by, timezone.now()
    item._history_user = by
    item.save(update_fields=["approval", "decided_by", "decided_at"])
    ON_APPROVAL[type(item)](item, by)
    return item


@transaction.atomic
def reject(item, *, by, reason: str):
    """The item is kept, marked rejected with the reason; it never takes effect."""
    if not reason.strip():
        raise ValidationError({"reason": ["a rejection needs a reason"]})
    item = _claim(item, by)
    item.approval, item.decided_by, item.decided_at = Approval.REJECTED, by, timezone.now()
    item.rejection_reason = reason
    services.stamp(item, by).save(update_fields=["approval", "decided_by", "decided_at", "rejection_reason"])
    return item


def _claim(item, by, *, approving: bool = False):
    """Lock what the item changes, then the item, and check that `by` may decide it."""
    if by is None or not by.has_perm(APPROVE):
        raise PermissionDenied("approving needs the approver permission")
    if isinstance(item, Waiver | Cure):
        Note.objects.select_for_update().filter(pk=item.default_event.note_id).get()
    elif isinstance(item, PaymentReversal):
        Note.objects.select_for_update().filter(pk=item.payment.note_id).get()
    elif isinstance(item, (WarrantExercise, WarrantAssignment)):
        Warrant.objects.select_for_update().filter(pk=item.warrant_id).get()
    elif hasattr(item, "note_id"):
        Note.objects.select_for_update().filter(pk=item.note_id).get()
    item = type(item).objects.select_for_update().get(pk=item.pk)
    if item.approval != Approval.PENDING:
        raise ValidationError(
            {"approval": [f"this was already {item.get_approval_display().lower()} on {item.decided_at:%Y-%m-%d}"]}
        )
    if why := decide_refused(item, by, approving=approving):
        raise ValidationError({"approval": [why]})
    return item


def decide_refused(item, user, *, approving: bool = False) -> str | None:
    """Why `user`, an approver, may not decide the pending item, or None: the check `approve` and
    `reject` make, which the approvals queue reads to offer only the buttons that would work. Four-eyes:
    no one decides what they recorded; a payment's reversal is approved by neither who recorded nor
    who approved the payment (`services.reversal_approver_refused`, checked again as it applies)."""
    if item.recorded_by_id == user.pk:
        return "you recorded this: a different user must approve it (four-eyes)"
    if approving and isinstance(item, PaymentReversal):
        return services.reversal_approver_refused(item.payment, user)
    return None


def system_approver():
    """The approver of `simulate` and the demo: a user no one can log in as."""
    user, created = get_user_model().objects.get_or_create(
        username=SYSTEM_APPROVER, defaults={"first_name": "System", "last_name": "approver"}
    )
    if created:
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name="approver"))
    return user


# Groups: what each role may do. Approvers may also hold the servicer role: four-eyes is per record.
RECORDS = {
    "holders": ["holder"],
    "notes": [
        "issuer",
        "closingprice",
        "note",
        "assignment",
        "assignmentpart",
        "participation",
        "warrant",
        "warrantexercise",
        "warrantassignment",
        "corporateaction",
        "successorsecurity",
        "reviewflag",
    ],
    "servicing": [
        "notice",
        "payment",
        "conversion",
        "prepayment",
        "defaultevent",
        "cure",
        "waiver",
        "paymentreversal",
        "collectioncost",
        "accelerationnotice",
        "importrun",  # a CSV file uploaded on Operations → Import (each kind also needs its records' add permission)
    ],
}


def ensure_groups(**kwargs) -> None:
    """Create or refresh the groups viewer, servicer, approver and admin (after every migrate)."""
    apps = ("holders", "notes", "servicing")
    perms = Permission.objects.filter(content_type__app_label__in=apps)
    view = list(perms.filter(codename__startswith="view_"))
    record = [
        p
        for p in perms
        if p.codename.split("_", 1)[0] in ("add", "change")
        and p.codename.split("_", 1)[1] in RECORDS[p.content_type.app_label]
    ]
    approve = list(perms.filter(codename="approve_entries"))
    users = list(Permission.objects.filter(content_type__app_label="auth", content_type__model__in=["user", "group"]))
    roles = {
        "viewer": view,
        "servicer": view + record,
        "approver": view + approve,
        "admin": list(perms) + users,
    }
    for name, granted in roles.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(granted)
