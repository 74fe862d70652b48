"""Writes for the rest of a note's life: assignments and substitute notes, participations,
warrants, corporate actions and the review flags they raise.

Each `*_record` checks the rules and records the item pending; `servicing.approvals` calls the
matching `*_apply` when a second user approves it, and the rules are checked again there.
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from holders.models import Holder
from notes.models import (
    Assignment,
    AssignmentPart,
    CorporateAction,
    Issuer,
    Note,
    Participation,
    ReviewFlag,
    SuccessorSecurity,
    SupplementalAgreement,
    Warrant,
    WarrantAssignment,
    WarrantExercise,
)
from servicing import engine
from servicing.engine.calendar import add_months
from servicing.engine.money import to_cents
from servicing.engine.terms import LONGEST_TERM_YEARS
from servicing.selectors import notes_with_balances, participation_shares, warrant_shares_left
from servicing.services import (
    check_day,
    check_number,
    check_rules,
    check_year,
    fit,
    lock_note,
    post_note,
    refuse,
    stamp,
    substitute_number,
)
from servicing.words import percent, quantity


@transaction.atomic
def assignment_record(
    *, note: Note, effective_on: date, parts: list[tuple[Holder, Decimal]], description: str = "", by=None
) -> Assignment:
    """The holder assigns `parts` of the note's principal (8(j)), each to an assignee; pending approval.

    The assigned principal leaves the note on `effective_on`; interest accrued before it stays
    with the assignor's note, billed and payable to the assignor.
    """
    note = lock_note(note)
    if not parts:
        raise refuse("parts", "name at least one assignee and the principal assigned to them")
    assignees = [holder for holder, _ in parts]
    if note.holder in assignees:
        raise refuse("assignee", f"{note.holder} holds the note already and cannot be its assignee")
    if len(set(assignees)) != len(assignees):
        raise refuse("assignee", "name each assignee once")
    for _, principal in parts:
        if principal <= 0 or principal != to_cents(principal):
            raise refuse("principal", f"principal assigned {principal} must be a whole number of cents above zero")
    total = sum(principal for _, principal in parts)
    check_rules(note, engine.Assignment("new", effective_on, total))
    assignment = stamp(Assignment(note=note, effective_on=effective_on, description=description, recorded_by=by), by)
    assignment.save()
    AssignmentPart.objects.bulk_create(
        AssignmentPart(assignment=assignment, assignee=holder, principal=principal) for holder, principal in parts
    )
    return assignment


def assignment_apply(*, assignment: Assignment, by) -> None:
    """Move the assigned principal to substitute notes with the original's terms, and post both sides."""
    note = lock_note(assignment.note)
    check_rules(note)
    for part in assignment.parts.select_related("assignee"):
        substitute = Note(
            number=substitute_number(note, Note),
            issuer=note.issuer,
            holder=part.assignee,
            parent=note,
            agreement_date=note.agreement_date,
            accrues_from=assignment.effective_on,
            maturity_date=note.maturity_date,
            principal=part.principal,
            rate=note.rate,
            default_rate_spread=note.default_rate_spread,
            max_lawful_rate=note.max_lawful_rate,
            prepayment_lockout_months=note.prepayment_lockout_months,
            conversion_premium=note.conversion_premium,
            conversion_price=note.conversion_price,
            calendar=note.calendar,
            created_by=by,
        )
        stamp(substitute, by).save()
        substitute.reference_closes.set(note.reference_closes.all())
        for agreement in note.supplemental_agreements.all():
            agreement.notes.add(substitute)
        part.substitute = substitute
        part.save(update_fields=["substitute"])
        post_note(substitute, assignment.effective_on, by=by, job="")
    post_note(note, assignment.effective_on, by=by, job="")


@transaction.atomic
def participation_record(*, note: Note, participant: Holder, share: Decimal, starts_on: date, by=None) -> Participation:
    """A participation sold by the holder of record (8(j)); pending approval."""
    note = lock_note(note)
    if participant == note.holder:
        raise refuse("participant", f"{participant} is the holder of record; a participant is someone else")
    if not 0 < share <= 1:
        raise refuse("share", f"share {share} must be above 0 and at most 1 (for example 0.25 for a quarter)")
    if not note.first_day <= starts_on < note.maturity_date:
        raise refuse("starts_on", f"starts_on {starts_on} must be from {note.first_day} to before {note.maturity_date}")
    participation = Participation(note=note, participant=participant, share=share, starts_on=starts_on, recorded_by=by)
    _check_shares(participation)
    stamp(participation, by).save()
    return participation


def participation_apply(*, participation: Participation) -> None:
    _check_shares(participation)


def _check_shares(participation: Participation) -> None:
    sold = participation_shares(participation.note, starts_on=participation.starts_on, exclude=participation)
    if sold + participation.share > 1:
        raise refuse(
            "share",
            f"participations of {percent(sold)} are already sold from {participation.starts_on}; "
            f"{percent(participation.share)} more would be more than the whole note",
        )


@transaction.atomic
def participation_end(*, participation: Participation, ends_on: date, by=None) -> Participation:
    """The participation stops sharing in payments received from `ends_on`."""
    lock_note(participation.note)
    participation = Participation.objects.select_for_update().get(pk=participation.pk)
    if not participation.is_approved:
        raise refuse("participation", "only an approved participation can end; reject a pending one")
    if participation.ends_on is not None:
        raise refuse("ends_on", f"this participation already ended on {participation.ends_on}")
    check_day(participation.note, "ends_on", ends_on)
    if ends_on <= participation.starts_on:
        raise refuse("ends_on", f"ends_on {ends_on} must be after it started on {participation.starts_on}")
    participation.ends_on = ends_on
    stamp(participation, by).save(update_fields=["ends_on"])
    return participation


@transaction.atomic
def warrant_issue(
    *,
    issuer: Issuer,
    holder: Holder,
    shares: int,
    exercise_price: Decimal,
    issued_on: date,
    expires_on: date,
    note: Note | None = None,
    number: str = "",
    by=None,
) -> Warrant:
    """The warrant delivered with the note (section 6)."""
    if shares <= 0:
        raise refuse("shares", f"shares {shares} must be above zero")
    if exercise_price <= 0:
        raise refuse("exercise_price", f"exercise price {exercise_price} must be above zero")
    if expires_on < issued_on:
        raise refuse("expires_on", f"expires_on {expires_on} is before issued_on {issued_on}")
    check_year("issued_on", issued_on)
    if expires_on > add_months(issued_on, 12 * LONGEST_TERM_YEARS):
        raise refuse("expires_on", f"expires_on {expires_on} is more than {LONGEST_TERM_YEARS} years after issue")
    if number:
        check_number("number", number, "W")
    if number and Warrant.objects.filter(number=number).exists():
        raise refuse("number", f"a warrant numbered {number} already exists")
    warrant = Warrant(
        number=number or f"W-{timezone.now():%Y%m%d%H%M%S%f}",
        issuer=issuer,
        holder=holder,
        note=note,
        shares=shares,
        exercise_price=exercise_price,
        issued_on=issued_on,
        expires_on=expires_on,
        created_by=by,
    )
    stamp(warrant, by).save()
    if not number:
        warrant.number = f"W-{warrant.pk:05d}"
        warrant.save(update_fields=["number"])
    return warrant


def _check_warrant(warrant: Warrant, day: date, shares: int, what: str, field: str) -> None:
    if not warrant.issued_on <= day <= warrant.expires_on:
        raise refuse(
            field, f"{what} on {day} is outside the warrant's term, {warrant.issued_on} through {warrant.expires_on}"
        )
    if shares <= 0:
        raise refuse("shares", f"shares {shares} must be above zero")
    left = warrant_shares_left(warrant)
    if shares > left:
        raise refuse("shares", f"{quantity(shares)} shares is more than the {quantity(left)} left on warrant {warrant}")


@transaction.atomic
def warrant_exercise_record(*, warrant: Warrant, exercised_on: date, shares: int, by=None) -> WarrantExercise:
    """The holder exercises all or part of the warrant, paying shares × exercise price; pending approval."""
    warrant = Warrant.objects.select_for_update().get(pk=warrant.pk)
    _check_warrant(warrant, exercised_on, shares, "an exercise", "exercised_on")
    exercise = WarrantExercise(
        warrant=warrant,
        exercised_on=exercised_on,
        shares=shares,
        price_paid=to_cents(warrant.exercise_price * shares),
        recorded_by=by,
    )
    stamp(exercise, by).save()
    return exercise


def warrant_exercise_apply(*, exercise: WarrantExercise) -> None:
    # The exercise is approved already, so its own shares are counted as taken.
    if warrant_shares_left(exercise.warrant) < 0:
        raise refuse("shares", f"{exercise.shares} shares is more than is left on warrant {exercise.warrant}")


@transaction.atomic
def warrant_assignment_record(
    *, warrant: Warrant, effective_on: date, assignee: Holder, shares: int, by=None
) -> WarrantAssignment:
    """All or part of the warrant assigned (8(j)); pending approval."""
    warrant = Warrant.objects.select_for_update().get(pk=warrant.pk)
    if assignee == warrant.holder:
        raise refuse("assignee", f"{assignee} holds the warrant already")
    _check_warrant(warrant, effective_on, shares, "an assignment", "effective_on")
    assignment = WarrantAssignment(
        warrant=warrant, effective_on=effective_on, assignee=assignee, shares=shares, recorded_by=by
    )
    stamp(assignment, by).save()
    return assignment


def warrant_assignment_apply(*, assignment: WarrantAssignment, by) -> None:
    """The assignee receives a substitute warrant for the shares, with the same price and expiry."""
    warrant = assignment.warrant
    if warrant_shares_left(warrant) < 0:
        raise refuse("shares", f"{assignment.shares} shares is more than is left on warrant {warrant}")
    substitute = Warrant(
        number=substitute_number(warrant, Warrant),
        issuer=warrant.issuer,
        holder=assignment.assignee,
        note=warrant.note,
        parent=warrant,
        shares=assignment.shares,
        exercise_price=warrant.exercise_price,
        issued_on=assignment.effective_on,
        expires_on=warrant.expires_on,
        created_by=by,
    )
    stamp(substitute, by).save()
    assignment.substitute = substitute
    assignment.save(update_fields=["substitute"])


def warrants_expire(*, through: date) -> int:
    """Warrants whose last day has passed are marked expired (by the close)."""
    expired = 0
    for warrant in Warrant.objects.filter(status=Warrant.Status.OUTSTANDING, expires_on__lte=through):
        warrant.status = Warrant.Status.EXPIRED
        warrant.save(update_fields=["status"])  # through the model, so the history shows it
        expired += 1
    return expired


@transaction.atomic
def corporate_action_record(
    *,
    issuer: Issuer,
    kind: str,
    effective_on: date,
    ratio: Decimal | None = None,
    successor: str = "",
    securities: list[tuple[str, Decimal]] = (),
    description: str = "",
    successor_jurisdiction: str = "",
    successor_notice_address: str = "",
    successor_signatory_name: str = "",
    successor_signatory_title: str = "",
    by=None,
) -> CorporateAction:
    """A split or combination (recorded, flagged for review), or a reclassification, merger or sale
    with the successor securities per common share (section 5); pending approval."""
    kinds = CorporateAction.Kind
    if kind not in kinds.values:
        raise refuse("kind", f"kind {kind!r} is not one of {', '.join(kinds.values)}")
    check_year("effective_on", effective_on)
    if kind in (kinds.SPLIT, kinds.COMBINATION):
        if ratio is None or ratio <= 0:
            raise refuse("ratio", "a split or combination needs its ratio: new shares per old share, above zero")
        if (kind == kinds.SPLIT) != (ratio > 1):
            raise refuse("ratio", f"a {kind} has a ratio {'above' if kind == kinds.SPLIT else 'below'} 1, not {ratio}")
        if securities:
            raise refuse("securities", "a split or combination has no successor securities (section 5 excludes it)")
    else:
        if ratio is not None:
            raise refuse("ratio", "a ratio is for a split or combination; name the successor securities instead")
        if not securities:
            raise refuse("securities", "name the securities one common share became, and how many of each")
        for name, per_share in securities:
            if not name.strip() or per_share <= 0:
                raise refuse("securities", "each successor security needs a name and an amount above zero per share")
        if kind in (kinds.MERGER, kinds.SALE) and not successor.strip():
            raise refuse("successor", "name the successor or purchasing corporation")
    action = CorporateAction(
        issuer=issuer,
        kind=kind,
        effective_on=effective_on,
        ratio=ratio,
        successor=successor,
        successor_jurisdiction=successor_jurisdiction,
        successor_notice_address=successor_notice_address,
        successor_signatory_name=successor_signatory_name,
        successor_signatory_title=successor_signatory_title,
        description=description,
        recorded_by=by,
    )
    stamp(action, by).save()
    parts = [SuccessorSecurity(action=action, name=name, per_share=per_share) for name, per_share in securities]
    for part in parts:
        fit(part)
    SuccessorSecurity.objects.bulk_create(parts)
    return action


@transaction.atomic
def corporate_action_successor_record(
    *,
    action: CorporateAction,
    jurisdiction: str,
    notice_address: str,
    signatory_name: str,
    signatory_title: str,
    by=None,
) -> CorporateAction:
    """The successor's particulars that its supplemental agreement prints (section 5), given or
    corrected after the action was recorded. They are a party's particulars, like a holder's
    address, not a term of the action: kept in its history, with no second approval."""
    if not action.successor.strip():
        raise refuse("successor", f"{action} names no successor: the Company signs its supplemental agreement")
    action = CorporateAction.objects.select_for_update().get(pk=action.pk)
    action.successor_jurisdiction = jurisdiction.strip()
    action.successor_notice_address = notice_address.strip()
    action.successor_signatory_name = signatory_name.strip()
    action.successor_signatory_title = signatory_title.strip()
    stamp(action, by).save(update_fields=list(CorporateAction.SUCCESSOR_FACTS))
    return action


def corporate_action_apply(*, action: CorporateAction, by) -> None:
    """A split flags the issuer's notes for review and changes no term; a reclassification, merger
    or sale makes the supplemental agreement and flags each note's holder notice as due."""
    outstanding = notes_with_balances().filter(issuer=action.issuer, principal_outstanding__gt=0)
    notes = list(outstanding.filter(maturity_date__gte=action.effective_on).order_by("pk"))
    if action.kind in CorporateAction.SUPPLEMENTAL:
        agreement = SupplementalAgreement.objects.create(
            action=action, issuer=action.issuer, effective_on=action.effective_on
        )
        agreement.notes.set(notes)
        kind = ReviewFlag.Kind.NOTICE_DUE
    else:
        kind = ReviewFlag.Kind.SPLIT_REVIEW
    for note in notes:
        stamp(ReviewFlag(note=note, kind=kind, action=action, raised_on=action.effective_on), by).save()


@transaction.atomic
def flag_clear(*, flag: ReviewFlag, resolution: str, by=None) -> ReviewFlag:
    flag = ReviewFlag.objects.select_for_update().get(pk=flag.pk)
    if flag.cleared_at:
        raise refuse("flag", f"this flag was cleared on {flag.cleared_at:%Y-%m-%d}")
    if not resolution.strip():
        raise refuse("resolution", "say what was done about it")
    flag.cleared_at, flag.cleared_by, flag.resolution = timezone.now(), by, resolution
    stamp(flag, by).save()
    return flag
