"""Operations → Import in a real browser: 10,000 payments, spread over ten notes, checked and then
imported through the staff page with the progress bar shown (the tasks run eagerly, in the live
server's request, while the page polls the progress in another)."""

import time
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from servicing import clock
from servicing.models import Payment

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path("/tmp/shots-csv")
PAYMENTS = 10_000
NOTES = 10


def follow(page, step: str, expected: str) -> tuple[list[int], float]:
    """The values the progress bar showed while the step ran, until the page says `expected`, and how
    long it took (seconds)."""
    seen, start = [], time.perf_counter()
    result = page.locator("#import-result")
    while not (result.is_visible() and expected in result.inner_text()):
        value = page.locator("#import-progress").get_attribute("value")
        if value is not None and page.locator("#import-status").is_visible():
            seen.append(int(value))
        time.sleep(0.2)
        assert time.perf_counter() - start < 900, f"{step} not done in 15 minutes"
    return seen, time.perf_counter() - start


def test_ten_thousand_payments_import_with_progress(page, live_server, login, make_note, staff):
    SHOTS.mkdir(exist_ok=True)
    today = clock.today()
    start = today - timedelta(days=200)
    notes = [make_note(number=f"IMP-{i}", agreement_date=start) for i in range(NOTES)]
    lines = ["note,received_on,amount,reference"]
    for i in range(PAYMENTS):
        day = start + timedelta(days=1 + i % 190)
        lines.append(f"{notes[i % NOTES].number},{day.isoformat()},1.00,imp {i}")
    data = ("\n".join(lines) + "\n").encode()

    login(staff.username)
    page.goto(f"{live_server.url}/import/")
    page.screenshot(path=SHOTS / "import-wide.png", full_page=True)
    page.select_option("select[name=kind]", "payments")
    page.set_input_files("input[name=file]", {"name": "payments.csv", "mimeType": "text/csv", "buffer": data})
    page.click("button[type=submit]:has-text('Upload and check')")

    checked, check_seconds = follow(page, "the dry run", "would create")
    expect(page.locator("#import-result")).to_have_text("The dry run would create 10,000 payments, 0 unchanged.")
    assert Payment.objects.count() == 0
    page.screenshot(path=SHOTS / "import-checked-wide.png")

    page.click("button:has-text('Import')")
    imported, import_seconds = follow(page, "the import", "Created")
    expect(page.locator("#import-result")).to_contain_text("Created 10,000 payments, 0 unchanged.")
    expect(page.locator("#import-progress")).to_have_attribute("value", "100")
    expect(page.locator("#import-progress-count")).to_have_text("10,000 of 10,000 rows (100 %)")
    assert Payment.objects.filter(approval="pending", recorded_by=staff).count() == PAYMENTS
    page.screenshot(path=SHOTS / "import-done-wide.png")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=SHOTS / "import-done-390.png", full_page=False)
    # The bar moved while the steps ran (values strictly between 0 and 100 were shown).
    print(f"\ndry run {check_seconds:.1f} s, import {import_seconds:.1f} s; bar values seen {checked} / {imported}")
    assert any(0 < v < 100 for v in checked + imported), (checked, imported)


def test_a_file_with_mistakes_shows_each_at_its_row(page, live_server, login, make_note, staff, shoot):
    make_note(number="IMP-1", agreement_date=clock.today() - timedelta(days=100))
    data = (
        "note,received_on,amount,reference\n"
        "IMP-1,2026-02-30,10.00,wire\n"
        "IMP-9,2026-01-10,10.00,wire\n"
        f"IMP-1,{clock.today() - timedelta(days=5)},-3,wire\n"
        f"IMP-1,{clock.today() - timedelta(days=5)},12.50,wire 7\n"
    ).encode()
    login(staff.username)
    page.goto(f"{live_server.url}/import/")
    page.select_option("select[name=kind]", "payments")
    page.set_input_files("input[name=file]", {"name": "mistakes.csv", "mimeType": "text/csv", "buffer": data})
    page.click("button[type=submit]:has-text('Upload and check')")
    expect(page.locator("#import-result")).to_have_text(
        "3 problems: nothing can be imported until the file is corrected and uploaded again."
    )
    problems = page.locator("td.text-danger")
    expect(problems).to_have_text(
        [
            "row 2, column received_on: '2026-02-30' is not a date as YYYY-MM-DD",
            "row 3, column note: no note is numbered IMP-9",
            "row 4, column amount: amount -3 must be above zero",
            "",
        ]
    )
    expect(page.locator("button:has-text('Import')")).to_have_count(0)
    shoot("import-problems")
    page.screenshot(path=SHOTS / "import-problems-wide.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=SHOTS / "import-problems-390.png", full_page=True)
    assert Payment.objects.count() == 0
