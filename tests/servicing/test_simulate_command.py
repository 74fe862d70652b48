import json

import pytest

from notes.models import Note
from servicing.models import LedgerEntry
from tests.helpers import SCENARIOS, error_line, scenario, simulate

pytestmark = pytest.mark.django_db(transaction=True)
SCENARIO = SCENARIOS / "innovo-mixed-year.json"


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"as_of": "2005-02-30"}, "as_of: '2005-02-30' is not a date"),
        ({"note__principal": 500000}, "note.principal: 500000 must be a decimal number written as a string"),
        ({"note__principal": "-1.00"}, "note.principal: principal -1.00 must be above zero"),
        ({"note__rate": "abc"}, "note.rate: 'abc' is not a decimal number"),
        ({"events__0__amount": "0.00"}, "events[0].amount: amount 0.00 must be above zero"),
        ({"events__0__type": "gift"}, "events[0].type: 'gift' is not one of"),
        (
            {"events__3__notice": {"sent": "2004-10-04", "method": "pigeon"}},
            "events[3].notice.method: unknown notice method",
        ),
        ({"events__3__principal": "600000.00"}, "events[3].principal: conversion on 2004-10-09 of 600,000.00 refused"),
        ({"note__reference_closes": []}, "note.reference_closes: 5 closing prices before 2004-06-15 are needed"),
        ({"as_of": "2004-01-01"}, "as_of: 2004-01-01 is before the agreement date"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_field_and_keeps_nothing(tmp_path, changes, words):
    error_line(simulate(tmp_path, scenario(**changes)), words)
    assert Note.objects.count() == 0 and LedgerEntry.objects.count() == 0


def test_malformed_json_is_refused(tmp_path):
    error_line(simulate(tmp_path, "{not json"), "error: cannot read the scenario")


def test_events_after_as_of_are_checked_but_change_nothing(tmp_path):
    data = scenario(as_of="2004-09-30")
    code, out, _ = simulate(tmp_path, data)
    assert code == 0
    result = json.loads(out)
    assert result["conversions"] == [] and result["prepayments"] == []
    assert [p["date"] for p in result["payments"]] == ["2004-07-01", "2004-08-02", "2004-09-10"]
    assert result["balances"]["principal"] == "500000.00"
    bad = scenario(as_of="2004-09-30", events__4__date="2004-12-06")  # inside the holder's window
    error_line(simulate(tmp_path, bad), "conversion window")


def test_it_rolls_back_unless_told_to_commit(tmp_path):
    code, _, _ = simulate(tmp_path, scenario())
    assert code == 0 and Note.objects.count() == 0
    code, out, err = simulate(tmp_path, scenario(), "--commit")
    note = Note.objects.get()
    assert f"note id {note.pk}" in err
    assert note.closed_through.isoformat() == "2005-01-31"
    assert json.loads(out)["balances"]["payoff_amount"] == "202438.50"


def test_on_a_new_embedded_database_simulate_sets_it_up_and_answers(tmp_path):
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "manage.py", "simulate", str(SCENARIO)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    expected = json.loads(SCENARIO.with_name("innovo-mixed-year.expected.json").read_text())
    balances = json.loads(result.stdout)["balances"]
    assert {k: balances[k] for k in expected["balances"]} == expected["balances"]

    # Set up from the models with every migration recorded: migrate has nothing left to do, and the
    # models need no new migration.
    def manage(*command):
        run = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        return run.stdout

    assert "No planned migration operations" in manage("migrate", "--plan")
    assert "No changes detected" in manage("makemigrations", "--check", "--dry-run")
