"""At a phone's width (390 px) no page scrolls sideways and no amount is cut: wide tables scroll
inside their card, amounts stay on one line (issue 13, item 7)."""

import pytest

from notes.models import Note
from servicing.demo import load_demo

pytestmark = pytest.mark.django_db(transaction=True)

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def test_at_390_px_no_page_scrolls_sideways_and_no_balance_is_cut(page, live_server, login, shoot, staff):
    load_demo()  # past-due and defaulted notes with payments, periods and pending items
    late = Note.objects.get(number="DEMO-LATE")
    innovo = Note.objects.get(number="DEMO-INNOVO")
    login("servicer")
    pages = {
        "dashboard": "/",
        "notes": "/notes/",
        "note-late": late.get_absolute_url(),
        "note-innovo": innovo.get_absolute_url(),
        "note-late-ledger": f"/notes/{late.pk}/ledger/",
        "holders": "/holders/",
        "holder": late.holder.get_absolute_url(),
        "approvals": "/approvals/",
        "reminders": "/reminders/",
        "jobs": "/jobs/",
        "statements": "/statements/",
        "record-payment": f"/notes/{late.pk}/record/payment/",
    }
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 844})
        for name, url in pages.items():
            assert page.goto(live_server.url + url).status == 200, url
            shoot(f"phone-{name}-{width}")
            assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{url} scrolls sideways at {width} px"

    page.goto(live_server.url + late.get_absolute_url())
    amounts = page.locator("#balances td.num")
    assert amounts.count() > 0
    for i in range(amounts.count()):
        cell = amounts.nth(i)
        text = cell.inner_text()
        assert "." in text and len(text.split(".")[-1]) == 2, text  # two decimals shown
        assert cell.evaluate("e => e.scrollWidth <= e.clientWidth"), f"balance {text} is cut"
        box = cell.bounding_box()
        assert box["x"] + box["width"] <= 390, f"balance {text} runs past the screen"

    page.goto(live_server.url + "/")
    one_line = "e => e.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(e).fontSize)"
    for value in page.locator(".card-metric .value").all():
        assert value.evaluate(one_line), f"dashboard figure {value.inner_text()} breaks across lines"
        assert value.evaluate("e => e.scrollWidth <= e.clientWidth"), f"{value.inner_text()} is cut"
