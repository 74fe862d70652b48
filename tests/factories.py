"""The records tests start from, made as the application makes them: through its services, so that
a note is checked and funded, a payment checked against the rules, an approval four-eyed.

    note = NoteFactory()  # 365,000.00 at 10 % from 10 January 2024: 100.00 a day
    PaymentFactory(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), approved_by=approver)
"""

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from factory.django import DjangoModelFactory

from holders.models import Holder
from holders.services import holder_create
from notes.models import ClosingPrice, Issuer, Note
from servicing import approvals, clock, services
from servicing.models import DefaultEvent, Payment


def a_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


class UserFactory(DjangoModelFactory):
    """A user in the groups `roles` names ("servicer", "approver", "viewer", "admin"), whose
    password is pw-<username>-1."""

    class Meta:
        model = "auth.User"
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user-{n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs.setdefault("password", f"pw-{kwargs['username']}-1")
        return model_class._default_manager.create_user(*args, **kwargs)

    @factory.post_generation
    def roles(user, create, roles, **kwargs):
        if roles:
            groups = Group.objects.filter(name__in=roles)
            assert len(groups) == len(set(roles)), f"no such role among {roles}"
            user.groups.set(groups)


class IssuerFactory(DjangoModelFactory):
    class Meta:
        model = Issuer
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Issuer {n} Inc.")

    @classmethod
    def _create(cls, model_class, *, name, **details):
        issuer = services.issuer_for(name)
        if details:  # the notice address and signatory the documents print
            for field, value in details.items():
                setattr(issuer, field, value)
            issuer.full_clean()
            issuer.save()
        return issuer


class HolderFactory(DjangoModelFactory):
    class Meta:
        model = Holder
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Holder {n}")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return holder_create(**kwargs)


class ClosingPriceFactory(DjangoModelFactory):
    class Meta:
        model = ClosingPrice
        skip_postgeneration_save = True

    issuer = factory.SubFactory(IssuerFactory)
    date = date(2024, 1, 9)
    close = Decimal("2.00")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.closing_price_record(**kwargs)


class NoteFactory(DjangoModelFactory):
    """A note made and funded by `services.note_create` with the clock on `today` (its agreement date
    unless given). By default 365,000.00 at 10 % (100.00 a day, Actual/365) from 10 January 2024 to
    10 January 2025, converting at 2.00: the note the tests' hand figures are worked on. With
    `conversion_price=None` the price comes from the issuer's closes."""

    class Meta:
        model = Note
        skip_postgeneration_save = True

    issuer = factory.SubFactory(IssuerFactory)
    holder = factory.SubFactory(HolderFactory)
    agreement_date = date(2024, 1, 10)
    maturity_date = factory.LazyAttribute(lambda n: a_year_after(n.agreement_date))
    principal = Decimal("365000.00")
    rate = Decimal("0.10")
    conversion_price = Decimal("2.00")
    by = factory.SubFactory(UserFactory, roles=["servicer"])
    today = factory.SelfAttribute("agreement_date")

    @classmethod
    def _create(cls, model_class, *, today, **kwargs):
        with clock.pinned(today):
            return services.note_create(**kwargs)


class RecordedFactory(DjangoModelFactory):
    """What a servicer records and an approver approves: recorded through its service with the clock
    on `today`, by the user who made the note unless `by` is given; with `approved_by`, approved by
    that user the same day, so that it takes effect."""

    class Meta:
        abstract = True
        skip_postgeneration_save = True

    note = factory.SubFactory(NoteFactory)
    by = factory.LazyAttribute(lambda r: r.note.created_by)
    approved_by = None

    @classmethod
    def _create(cls, model_class, *, today, approved_by, **kwargs):
        with clock.pinned(today):
            item = cls.record(**kwargs)
            if approved_by is not None:
                item = approvals.approve(item, by=approved_by)
        return item


class PaymentFactory(RecordedFactory):
    """By default January's interest on the default note, paid when it falls due."""

    class Meta:
        model = Payment

    received_on = date(2024, 2, 1)
    amount = Decimal("2200.00")
    today = factory.SelfAttribute("received_on")
    record = staticmethod(services.payment_record)


class DefaultEventFactory(RecordedFactory):
    """A covenant breach, misrepresentation or insolvency (`kind`) on `occurred_on`."""

    class Meta:
        model = DefaultEvent

    kind = DefaultEvent.Kind.COVENANT
    occurred_on = date(2024, 3, 1)
    today = factory.SelfAttribute("occurred_on")
    record = staticmethod(services.default_record)


def exhibit_pdf(*, pages: int = 2, heading: str = "REGISTRATION RIGHTS AGREEMENT", variant="pdf/a-3u") -> bytes:
    """A PDF of `pages` pages, each saying "<heading> page n of pages", printed by WeasyPrint as the
    PDF/A `variant` says (None: plain, no PDF/A)."""
    from weasyprint import HTML

    body = "".join(
        f'<p style="page-break-after: always">{heading} page {n} of {pages}</p>' for n in range(1, pages + 1)
    )
    head = f'<head><meta charset="utf-8"><title>{heading}</title></head>'
    html = f'<!doctype html><html lang="en">{head}<body>{body}</body></html>'
    return HTML(string=html).write_pdf(pdf_variant=variant)


def exhibit_attached(note, *, label: str = "A", title: str = "Registration Rights Agreement", content=None, by=None):
    """Exhibit `label` attached to `note` through its service (by default the Registration Rights
    Agreement of section 4(c), two pages)."""
    from servicing.documents import exhibit_attach

    return exhibit_attach(note=note, label=label, title=title, content=content or exhibit_pdf(), by=by)
