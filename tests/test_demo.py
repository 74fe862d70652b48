from datetime import date
from io import StringIO

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from notes.models import Note
from servicing.models import DefaultPeriod, Document, Payment, Prepayment, Reminder

pytestmark = pytest.mark.django_db(transaction=True)


@time_machine.travel("2026-11-27 09:00 -0500", tick=False)
def test_the_demo_has_something_due_something_past_due_and_an_open_window():
    out = StringIO()
    call_command("load_demo", stdout=out)
    numbers = ["DEMO-CURRENT", "DEMO-CURRENT/1", "DEMO-INNOVO", "DEMO-LATE"]
    assert sorted(Note.objects.values_list("number", flat=True)) == numbers
    login = out.getvalue().strip().splitlines()[-1]
    username, password = login.split(" as ")[1].split(" / ")
    request = RequestFactory().post("/login/")  # django-axes throttles by the request's address
    assert authenticate(request, username=username, password=password).is_staff
    today = date(2026, 11, 27)
    late = Note.objects.get(number="DEMO-LATE")
    assert DefaultPeriod.objects.filter(note=late, kind="payment", end__isnull=True).exists()
    window = Prepayment.objects.get(note=late)
    assert window.notice.deemed_received_on <= today <= window.window_end
    current = Note.objects.get(number="DEMO-CURRENT")
    assert not DefaultPeriod.objects.filter(note=current).exists()
    assert current.accrued_interest > 0  # interest coming due on the first business day of December
    substitute = Note.objects.get(number="DEMO-CURRENT/1")
    assert (substitute.parent, substitute.principal) == (current, 62500)
    assert Payment.objects.get(note=late, approval="pending").amount == 750  # for the staff login to approve
    assert Reminder.objects.filter(kind="past_due", note=late).exists()  # on the landing page
    assert Document.objects.filter(kind="agreement", note__number="DEMO-INNOVO").exists()
    call_command("load_demo", "--no-login", stdout=StringIO())
    assert Note.objects.count() == 4
