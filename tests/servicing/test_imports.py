"""The CSV import engine and `manage.py import_csv`: every problem of every row, named by row and
column; nothing changed by a dry run or a refused commit; a second commit creates nothing."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from holders.models import Holder
from notes.models import Approval, ClosingPrice, Note
from servicing import clock, imports
from servicing.models import LedgerEntry, Payment
from tests.factories import HolderFactory

TODAY = date(2025, 3, 3)
MODELS = [Holder, Note, ClosingPrice, Payment, LedgerEntry, Holder.history.model, Note.history.model]


def counts():
    return [m.objects.count() for m in MODELS]


def csv(*lines) -> bytes:
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(autouse=True)
def pinned():
    with clock.pinned(TODAY):
        yield


@pytest.fixture
def closes(issuer):
    for day, close in zip(range(6, 11), ["2.00", "2.10", "2.20", "2.30", "2.40"], strict=True):
        ClosingPrice.objects.create(issuer=issuer, date=date(2025, 1, day), close=Decimal(close))


NOTES_HEADER = "number,issuer,holder,agreement_date,maturity_date,principal,rate,conversion_price"


def test_a_dry_run_reports_every_mistake_at_its_row_and_column_and_changes_nothing(issuer, holder):
    before = counts()
    report = imports.run(
        "notes",
        csv(
            NOTES_HEADER,
            "A-1,Innovo Group Inc.,Ann Lee,2025-02-30,2026-02-01,1000.00,0.08,2.00",  # no 30 February
            "A-2,Nobody Corp,Ann Lee,2025-02-01,2026-02-01,1000.00,0.08,2.00",  # unknown issuer
            "A-3,Innovo Group Inc.,Ann Lee,2025-02-01,2026-02-01,-1000.00,0.08,2.00",  # negative principal
            "A-4,Innovo Group Inc.,Ann Lee,2025-02-01,2026-02-01,1000.00,,2.00",  # no rate
            "A-5,Innovo Group Inc.,Ann Lee,2025-02-01,2026-02-01,1000.00,0.08,2.00",  # fine
            "A-5,Innovo Group Inc.,Ann Lee,2025-02-01,2026-02-01,2000.00,0.08,2.00",  # number taken
            "A-7,Innovo Group Inc.,Bob Nobody,2025-02-01,2026-02-01,1000.00,0.08,2.00",  # unknown holder
        ),
    )
    assert report.problems == [
        "row 2, column agreement_date: '2025-02-30' is not a date as YYYY-MM-DD",
        "row 3, column issuer: no issuer is named Nobody Corp",
        "row 4, column principal: principal -1000.00 must be above zero",
        "row 5, column rate: a value is required",
        "row 7, column principal: note A-5 already exists with principal 1000.00",
        "row 8, column holder: no holder is named Bob Nobody",
    ]
    assert not report.committed
    assert counts() == before


def test_a_refused_commit_keeps_none_of_the_rows(issuer, holder):
    before = counts()
    report = imports.run(
        "notes",
        csv(
            NOTES_HEADER,
            "B-1,Innovo Group Inc.,Ann Lee,2025-02-01,2026-02-01,1000.00,0.08,2.00",
            "B-2,Innovo Group Inc.,Ann Lee,2025-02-01,2026-02-01,1000.00,0.08,abc",
        ),
        commit=True,
    )
    assert report.problems == ["row 3, column conversion_price: 'abc' is not a plain decimal number (such as 1250.50)"]
    assert counts() == before


def test_extra_and_missing_columns_are_refused_by_name(issuer):
    report = imports.run("payments", csv("note,received_on,amount,memo", "X,2025-01-01,1.00,a"))
    assert report.problems == [
        "row 1, column memo: not a column of payments (the columns are note, received_on, amount, reference)",
        "row 1, column reference: missing (the required columns are note, received_on, amount, reference)",
    ]


def test_a_commit_creates_what_the_file_says_and_a_second_creates_nothing(issuer, holder, closes, staff):
    HolderFactory(name="Harbor Point Capital LLC", email="ops@harbor.example")
    data = csv(
        "number,issuer,holder,agreement_date,maturity_date,principal,rate,lockout_months,conversion_price",
        "C-1,Innovo Group Inc.,Ann Lee,2025-01-15,2026-01-15,250000.00,0.08,6,2.75",
        "C-2,Innovo Group Inc.,Harbor Point Capital LLC,2025-01-20,2027-01-20,100000.00,0.1,,",
    )
    report = imports.run("notes", data, commit=True, by=staff)
    assert report.problems == [] and report.committed
    assert report.summary() == "created 2 notes, 0 unchanged"
    c1, c2 = Note.objects.get(number="C-1"), Note.objects.get(number="C-2")
    assert (c1.holder.name, c1.agreement_date, c1.maturity_date) == ("Ann Lee", date(2025, 1, 15), date(2026, 1, 15))
    assert (c1.principal, c1.rate, c1.prepayment_lockout_months, c1.conversion_price) == (
        Decimal("250000.00"),
        Decimal("0.08"),
        6,
        Decimal("2.75"),
    )
    # Without a price: 110 % of the average of the five closes before the agreement date (2.20).
    assert c2.conversion_price == Decimal("2.42")
    assert c2.reference_closes.count() == 5
    # Posted as a note created in the admin: its funding is in the ledger.
    for note in (c1, c2):
        funding = LedgerEntry.objects.get(note=note, kind=LedgerEntry.Kind.FUNDING, account="principal")
        assert funding.amount == note.principal and funding.effective_on == note.agreement_date
    before = counts()
    again = imports.run("notes", data, commit=True, by=staff)
    assert again.problems == [] and again.summary() == "created 0 notes, 2 unchanged"
    assert counts() == before


def test_payments_wait_for_approval_and_repeat_lines_are_kept(make_note, staff):
    note = make_note(number="P-1")
    data = csv(
        "note,received_on,amount,reference",
        "P-1,2025-01-10,1000.00,wire 1",
        "P-1,2025-01-10,1000.00,wire 1",
        "P-1,2025-02-10,500.50,",
    )
    report = imports.run("payments", data, commit=True, by=staff)
    assert report.problems == [] and report.summary() == "created 3 payments, 0 unchanged"
    payments = list(Payment.objects.filter(note=note).order_by("pk"))
    assert [(p.received_on, p.amount, p.reference) for p in payments] == [
        (date(2025, 1, 10), Decimal("1000.00"), "wire 1"),
        (date(2025, 1, 10), Decimal("1000.00"), "wire 1"),
        (date(2025, 2, 10), Decimal("500.50"), ""),
    ]
    assert {(p.approval, p.recorded_by) for p in payments} == {(Approval.PENDING, staff)}
    assert imports.run("payments", data, commit=True, by=staff).summary() == "created 0 payments, 3 unchanged"
    assert Payment.objects.count() == 3


def test_payment_mistakes(make_note, staff):
    make_note(number="P-1")
    report = imports.run(
        "payments",
        csv(
            "note,received_on,amount,reference",
            "P-9,2025-01-10,1000.00,",
            "P-1,10/01/2025,1000.00,",
            "P-1,2025-01-10,-5,",
            "P-1,2025-01-10,1.5e3,",
            "P-1,2099-01-10,5.00,",
        ),
    )
    assert report.problems == [
        "row 2, column note: no note is numbered P-9",
        "row 3, column received_on: '10/01/2025' is not a date as YYYY-MM-DD",
        "row 4, column amount: amount -5 must be above zero",
        "row 5, column amount: '1.5e3' is not a plain decimal number (such as 1250.50)",
        "row 6, column received_on: received_on 2099-01-10 is in the future (today is 2025-03-03)",
    ]


def test_holders_and_closing_prices(issuer, staff):
    holders = csv(
        "name,kind,email,notice_address,telecopy",
        'Ann Lee,individual,ann@example.com,"1 Main St\nSpringfield",',
        "Harbor Point Capital LLC,entity,ops@harbor.example,,+1 617 555 0100",
        "Bad Kind,company,,,",
        "Bad Mail,individual,not-an-address,,",
    )
    report = imports.run("holders", holders, by=staff)
    assert report.problems == [
        "row 4, column kind: 'company': individual or entity",
        "row 5, column email: Enter a valid email address.",
    ]
    good = b"\n".join(holders.split(b"\n")[:4]) + b"\n"
    assert imports.run("holders", good, commit=True, by=staff).summary() == "created 2 holders, 0 unchanged"
    ann = Holder.objects.get(name="Ann Lee")
    assert (ann.kind, ann.email, ann.notice_address) == ("individual", "ann@example.com", "1 Main St\nSpringfield")
    assert Holder.objects.get(name="Harbor Point Capital LLC").kind == "entity"
    assert imports.run("holders", good, commit=True).summary() == "created 0 holders, 2 unchanged"

    prices = csv("issuer,date,close", "Innovo Group Inc.,2025-01-06,2.41", "Innovo Group Inc.,2025-01-07,2.38")
    assert imports.run("closing_prices", prices, commit=True).summary() == "created 2 closing prices, 0 unchanged"
    assert imports.run("closing_prices", prices, commit=True).summary() == "created 0 closing prices, 2 unchanged"
    changed = csv("issuer,date,close", "Innovo Group Inc.,2025-01-06,2.50")
    assert imports.run("closing_prices", changed).problems == [
        "row 2, column close: Innovo Group Inc. already has a closing price of 2.410000 on 2025-01-06"
    ]


def test_bounds(issuer):
    long_name = "x" * (imports.MAX_CELL + 1)
    report = imports.run("holders", csv("name,kind,email,notice_address,telecopy", f"{long_name},individual,,,"))
    assert report.problems == [f"row 2, column name: at most {imports.MAX_CELL} characters (it has 1001)"]
    assert imports.run("holders", b"\xff\xfe").problems == ["row 1: the file is not UTF-8 text (byte 0xff at offset 0)"]
    assert imports.run("holders", b"x" * (imports.MAX_BYTES + 1)).problems == ["row 1: the file is larger than 20 MB"]


def test_command_dry_run_and_commit(tmp_path, make_note, staff, capsys):
    make_note(number="P-1")
    path = tmp_path / "payments.csv"
    path.write_bytes(csv("note,received_on,amount,reference", "P-1,2025-01-10,100.00,a", "P-2,2025-01-10,1,b"))
    with pytest.raises(SystemExit) as exit:
        call_command("import_csv", "payments", str(path))
    assert exit.value.code == 2
    assert capsys.readouterr().out == "row 3, column note: no note is numbered P-2\n"
    path.write_bytes(csv("note,received_on,amount,reference", "P-1,2025-01-10,100.00,a"))
    call_command("import_csv", "payments", str(path))
    assert "would create 1 payments, 0 unchanged" in capsys.readouterr().out
    assert Payment.objects.count() == 0
    with pytest.raises(Exception, match="--user"):
        call_command("import_csv", "payments", str(path), "--commit")
    call_command("import_csv", "payments", str(path), "--commit", "--user", "servicer")
    assert capsys.readouterr().out == "created 1 payments, 0 unchanged\n"
    assert Payment.objects.get().recorded_by == staff


def test_a_blank_line_is_skipped_and_keeps_the_numbers_of_the_rows_after(make_note):
    make_note(number="P-1")
    data = csv("note,received_on,amount,reference", "P-1,2025-01-10,1.00,", "", "P-2,2025-01-10,1,")
    report = imports.run("payments", data)
    assert report.problems == ["row 4, column note: no note is numbered P-2"]
    assert [r.number for r in report.rows] == [2, 4]


def test_an_import_of_payments_reads_each_notes_approved_events_once(
    make_note, staff, approve, django_assert_num_queries
):
    from servicing import selectors, services

    note = make_note(number="P-1")
    with clock.pinned(date(2025, 3, 3)):
        approve(services.payment_record(note=note, received_on=date(2025, 1, 10), amount=Decimal("900.00"), by=staff))
    fresh = selectors.note_events(note)
    assert len(fresh) == 1  # the approved payment
    with selectors.events_kept():
        first = selectors.note_events(note)
        with django_assert_num_queries(0):
            again = selectors.note_events(note)
    assert first == fresh == again
    with CaptureQueriesContext(connection) as outside:  # outside it, read again
        selectors.note_events(note)
    assert len(outside) > 0
