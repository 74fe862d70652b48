"""Figures are kept exactly (servicing-rules.md, "Numbers"): a value read back equals the value
stored, to the last digit, on SQLite as on PostgreSQL; a figure its column cannot keep is refused
with a message naming the field, never rounded."""

from datetime import date
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from django.db import DataError, connection, transaction
from django.db.models import Q

from notes.fields import rewrite_on_sqlite
from notes.models import ClosingPrice, Note, Participation, SuccessorSecurity, Warrant
from servicing import clock, lifecycle, services
from servicing.close import close_books
from servicing.forms import ClosingPriceForm, ParticipationForm
from servicing.holder_tables import holders_with_totals
from servicing.models import Conversion, LedgerEntry, Period
from servicing.selectors import MoneySum, ledger_sums
from servicing.simulate import ScenarioError, simulate
from tests.conftest import once
from tests.factories import ClosingPriceFactory, HolderFactory, UserFactory
from tests.helpers import refused, refused_at, row_counts

pytestmark = pytest.mark.django_db

# Closes of 0.9999999999 and a premium of 1.0000000001 give a conversion price of
# 1.0000000001 × 0.9999999999 = 1 - 0.0000000001² = 0.99999999999999999999 (4(a)): twenty nines,
# which a floating-point number (about 16 digits) cannot tell from 1.
CLOSE = D("0.9999999999")
PREMIUM = D("1.0000000001")
PRICE_JUST_BELOW_ONE = D("0." + "9" * 20)


@pytest.fixture
def closes(issuer):
    """Five closes of 0.9999999999 before 10 January 2024."""
    with clock.pinned(date(2024, 1, 10)):
        days = [date(2024, 1, day) for day in (2, 3, 4, 5, 8)]
        return [ClosingPriceFactory(issuer=issuer, date=day, close=CLOSE) for day in days]


def test_it_reads_back_every_kind_of_figure_as_it_was_stored(make_note, closes, issuer, holder, staff):
    note = make_note(
        principal=D("999999999999.99"),
        rate=D("0.0703125001"),
        default_rate_spread=D("0.0299999999"),
        max_lawful_rate=D("0.1234567891"),
        conversion_premium=PREMIUM,
        conversion_price=None,
    )
    with clock.pinned(date(2024, 1, 10)):
        close = D("98765432109876.0123456789")
        close = services.closing_price_record(issuer=issuer, date=date(2024, 1, 9), close=close)
        warrant = lifecycle.warrant_issue(
            issuer=issuer,
            holder=holder,
            note=note,
            shares=2**63 - 1,
            exercise_price=D("12345678901234.0123456789"),
            issued_on=date(2024, 1, 10),
            expires_on=date(2029, 1, 10),
            by=staff,
        )
    pat = HolderFactory(name="Pat Participant")
    participation = lifecycle.participation_record(
        note=note, participant=pat, share=D("0.1234567891"), starts_on=date(2024, 2, 1)
    )
    action = lifecycle.corporate_action_record(
        issuer=issuer,
        kind="merger",
        effective_on=date(2024, 6, 1),
        successor="Successor Corp.",
        securities=[("Successor common", D("12345678901234567890.0123456789"))],
        by=staff,
    )

    stored = Note.objects.get(pk=note.pk)
    assert (
        stored.principal,
        stored.rate,
        stored.default_rate_spread,
        stored.max_lawful_rate,
        stored.conversion_premium,
        stored.conversion_price,
    ) == (
        D("999999999999.99"),
        D("0.0703125001"),
        D("0.0299999999"),
        D("0.1234567891"),
        PREMIUM,
        PRICE_JUST_BELOW_ONE,
    )
    assert ClosingPrice.objects.get(pk=close.pk).close == D("98765432109876.0123456789")
    assert [c.close for c in stored.reference_closes.all()] == [CLOSE] * 5
    warrant = Warrant.objects.get(pk=warrant.pk)
    assert (warrant.shares, warrant.exercise_price) == (2**63 - 1, D("12345678901234.0123456789"))
    assert Participation.objects.get(pk=participation.pk).share == D("0.1234567891")
    assert SuccessorSecurity.objects.get(action=action).per_share == D("12345678901234567890.0123456789")
    funding = LedgerEntry.objects.get(note=note)
    assert funding.amount == D("999999999999.99")


def test_a_conversion_at_a_price_a_hair_below_one_issues_one_more_share(make_note, closes, staff, approve):
    # 100,000.00 ÷ 0.99999999999999999999 is a little over 100,000; a fraction of a share rounds up (4(b)).
    note = make_note(
        principal=D("100000.00"), rate=D("0"), conversion_premium=PREMIUM, conversion_price=None, today=date(2024, 2, 1)
    )
    with clock.pinned(date(2024, 2, 1)):
        approve(services.conversion_record(note=note, notice_sent=date(2024, 2, 1), method="telecopy", by=staff))
    conversion = Conversion.objects.get(note=note)
    assert (conversion.status, conversion.amount, conversion.shares) == ("converted", D("100000.00"), 100_001)


def test_a_rate_of_7_1_32_percent_bills_february_on_the_rate_given(make_note):
    # 100,000.00 × 0.0703125 × 29 days (February 2024) / 365 = 203,906.25 / 365 = 558.647… → 558.65;
    # the rate cut to six places (0.070312) would give 558.637… → 558.64.
    note = make_note(principal=D("100000.00"), rate=D("0.0703125"))
    close_books(through=date(2024, 3, 1))
    assert Note.objects.get(pk=note.pk).rate == D("0.0703125")
    assert Period.objects.get(note=note, start=date(2024, 2, 1)).interest == D("558.65")


def test_simulate_bills_february_on_the_rate_given():
    scenario = {
        "note": {
            "agreement_date": "2024-01-10",
            "maturity_date": "2025-01-10",
            "principal": "100000.00",
            "rate": "0.0703125",
            "conversion_price": "4.00",
        },
        "events": [],
        "as_of": "2024-03-05",
    }
    _, report = simulate(scenario)
    february = next(p for p in report["periods"] if p["start"] == "2024-02-01")
    assert february["interest"] == "558.65"


@pytest.mark.parametrize(
    "field, change",
    [
        ("rate", {"rate": D("0.07031250001")}),
        ("default_rate_spread", {"default_rate_spread": D("0.03000000001")}),
        ("max_lawful_rate", {"max_lawful_rate": D("0.20000000001")}),
        ("conversion_premium", {"conversion_premium": D("1.10000000001"), "conversion_price": None}),
    ],
)
def test_a_note_term_with_eleven_places_is_refused_naming_it(make_note, closes, field, change):
    with refused(field, f"{field} ", "at most 10 digits after the decimal point", unchanged=row_counts):
        make_note(**change)


def test_a_close_or_a_share_with_eleven_places_is_refused_naming_it(make_note, issuer, holder):
    too_fine = "close 2.12345678901: at most 10 digits after the decimal point"
    with clock.pinned(date(2024, 1, 10)), refused("close", too_fine, unchanged=row_counts):
        services.closing_price_record(issuer=issuer, date=date(2024, 1, 9), close=D("2.12345678901"))
    note, pat = make_note(), HolderFactory(name="Pat Participant")
    with refused("share", "share 0.12345678901: at most 10 digits after the decimal point", unchanged=row_counts):
        lifecycle.participation_record(note=note, participant=pat, share=D("0.12345678901"), starts_on=date(2024, 2, 1))


def test_a_form_refuses_eleven_places_naming_the_field(make_note, issuer, holder):
    form = ClosingPriceForm(once({"issuer": issuer.pk, "date": "2024-01-09", "close": "2.12345678901"}))
    assert not form.is_valid()
    assert form.errors["close"] == ["close 2.12345678901: at most 14 digits before the decimal point and 10 after it"]
    participant = HolderFactory(name="Pat Participant")
    data = {"participant": participant.pk, "share": "0.12345678901", "starts_on": "2024-02-01"}
    form = ParticipationForm(once(data), note=make_note())
    assert not form.is_valid()
    assert form.errors["share"] == ["share 0.12345678901: at most 1 digit before the decimal point and 10 after it"]


def test_the_admin_refuses_a_rate_with_eleven_places_naming_it(client, issuer, holder):
    boss = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client.force_login(boss)
    form = {
        "number": "CN-EXACT",
        "issuer": issuer.pk,
        "holder": holder.pk,
        "agreement_date": "2024-01-10",
        "maturity_date": "2025-01-10",
        "principal": "100000.00",
        "rate": "0.07031250001",
        "default_rate_spread": "0.03",
        "prepayment_lockout_months": "3",
        "conversion_premium": "1.10",
        "conversion_price": "2.00",
        "calendar": "XFED",
    }
    response = client.post("/admin/notes/note/add/", once(form))
    refused_at(response, "rate", "rate 0.07031250001: at most 3 digits before the decimal point and 10 after it")
    assert not Note.objects.exists()


def test_simulate_refuses_a_rate_with_eleven_places_naming_it():
    scenario = {
        "note": {
            "agreement_date": "2024-01-10",
            "maturity_date": "2025-01-10",
            "principal": "100000.00",
            "rate": "0.07031250001",
            "conversion_price": "4.00",
        },
        "as_of": "2024-03-05",
    }
    with pytest.raises(ScenarioError, match=r"^note\.rate: '0\.07031250001' has more than 10 decimal places$"):
        simulate(scenario)


def test_a_share_count_beyond_its_column_is_refused_with_a_message(issuer, holder, staff):
    with refused("shares", "shares 9,223,372,036,854,775,808: at most 9,223,372,036,854,775,807", unchanged=row_counts):
        lifecycle.warrant_issue(
            issuer=issuer,
            holder=holder,
            shares=2**63,
            exercise_price=D("2.50"),
            issued_on=date(2024, 1, 10),
            expires_on=date(2029, 1, 10),
            by=staff,
        )


def test_money_adds_up_to_the_cent_beyond_what_floating_point_keeps(make_note, holder):
    # Three notes of 999,999,999,999.99: 2,999,999,999,999.97, sixteen digits.
    for _ in range(3):
        make_note(principal=D("999999999999.99"))
    assert holders_with_totals().get(pk=holder.pk).principal_outstanding == D("2999999999999.97")

    # 999,999,999,999.99 and 999 cents unapplied: 999,999,999,999.99 + 9.99 = 1,000,000,000,009.98.
    note = Note.objects.first()
    entry = {"note": note, "effective_on": date(2024, 1, 10), "kind": "payment", "account": "unapplied", "job": "test"}
    LedgerEntry.objects.bulk_create(
        [LedgerEntry(**entry, key="big", amount=D("999999999999.99"))]
        + [LedgerEntry(**entry, key=f"cent:{i}", amount=D("0.01")) for i in range(999)]
    )
    assert ledger_sums(LedgerEntry.objects.filter(note=note))["unapplied"] == D("1000000000009.98")
    sums = Note.objects.annotate(total=MoneySum("entries__amount", filter=Q(entries__account="unapplied")))
    assert sums.get(pk=note.pk).total == D("1000000000009.98")
    assert list(sums.filter(total__gt=D("1000000000009.97"))) == [note]
    assert not sums.filter(total__gt=D("1000000000009.98")).exists()


def test_money_sum_adds_only_a_money_column(make_note):
    make_note()
    with pytest.raises(TypeError, match="MoneySum adds a money column"):
        Note.objects.aggregate(t=MoneySum("rate"))


def test_figures_sort_and_compare_as_numbers(issuer):
    with clock.pinned(date(2024, 1, 10)):
        for day, close in ((2, "100"), (3, "9.5"), (4, "10.25"), (5, "0.0000000001")):
            services.closing_price_record(issuer=issuer, date=date(2024, 1, day), close=D(close))
    closes = ClosingPrice.objects.order_by("close").values_list("close", flat=True)
    assert list(closes) == [D("0.0000000001"), D("9.5"), D("10.25"), D("100")]
    above = ClosingPrice.objects.filter(close__gt=D("9.75")).order_by("-close")
    assert list(above.values_list("close", flat=True)) == [D("100"), D("10.25")]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's text columns")
def test_the_migration_writes_old_sqlite_figures_with_their_columns_places(issuer):
    from django.apps import apps

    with clock.pinned(date(2024, 1, 10)):
        price = services.closing_price_record(issuer=issuer, date=date(2024, 1, 9), close=D("2.5"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT close FROM notes_closingprice WHERE id = %s", [price.pk])
        assert cursor.fetchone() == ("2.5000000000",)
        # What copying a NUMERIC column into the new text column leaves.
        cursor.execute("UPDATE notes_closingprice SET close = '2.5' WHERE id = %s", [price.pk])
        rewrite_on_sqlite("notes")(apps, SimpleNamespace(connection=connection))
        cursor.execute("SELECT close FROM notes_closingprice WHERE id = %s", [price.pk])
        assert cursor.fetchone() == ("2.5000000000",)


def test_the_database_is_never_handed_a_figure_to_round(make_note):
    note = make_note()
    rate = "rate 0.07031250001: at most 10 digits after the decimal point"
    with pytest.raises(DataError, match=rate), transaction.atomic():
        Note.objects.filter(pk=note.pk).update(rate=D("0.07031250001"))
    note.principal = D("10.001")
    principal = "principal 10.001: at most 2 digits after the decimal point"
    with pytest.raises(DataError, match=principal), transaction.atomic():
        note.save()
    assert Note.objects.get(pk=note.pk).principal == D("365000.00")


def test_the_note_page_shows_a_share_to_its_last_place(client, make_note, staff, approve):
    note = make_note()
    pat = HolderFactory(name="Pat Participant")
    with clock.pinned(date(2024, 1, 10)):
        approve(
            lifecycle.participation_record(
                note=note, participant=pat, share=D("0.1234567891"), starts_on=date(2024, 2, 1), by=staff
            )
        )
    client.force_login(staff)
    # As a percentage, every place kept: 0.1234567891 of each payment is 12.34567891%.
    assert "Pat Participant, 12.34567891% of each payment" in client.get(note.get_absolute_url()).content.decode()
    assert "12.34567891% of each payment" in client.get(pat.get_absolute_url()).content.decode()
