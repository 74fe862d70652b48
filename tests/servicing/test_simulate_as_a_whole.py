"""`simulate` records a scenario as a whole and on its own (simulate.md, "Input"): the order of the
events list means nothing but for events of one kind on one day, a refusal names the event that
breaks the rule wherever it is listed, and records already in the database never change the answer."""

import functools
import json
import re
import tempfile
from decimal import Decimal as D
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from holders.models import Holder
from notes.models import ClosingPrice, Issuer, Note
from servicing.models import LedgerEntry

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
WORKED = sorted(p.name[:-5] for p in SCENARIOS.glob("*.json") if ".expected" not in p.name)
VALID = [name for name in WORKED if (SCENARIOS / f"{name}.expected.json").exists()]
INDEX = re.compile(r"events\[(\d+)\]")

pytestmark = pytest.mark.django_db
shuffled = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def worked(name: str) -> dict:
    return json.loads((SCENARIOS / f"{name}.json").read_text())


def simulate(data: dict, *args) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = 0
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(data, f)
        f.flush()
        try:
            call_command("simulate", f.name, *args, stdout=out, stderr=err)
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


def answer(data: dict) -> dict:
    code, out, err = simulate(data)
    assert code == 0, err
    return json.loads(out)


@functools.cache
def answer_as_listed(name: str) -> dict:
    """The answer to a scenario of this module, as its events are listed (once: it never depends on
    what else is in the database)."""
    return answer(AS_LISTED[name])


def refusal(data: dict) -> str:
    code, out, err = simulate(data)
    assert (code, out) == (2, ""), out
    return err.strip()


@functools.cache
def refusal_as_listed() -> str:
    return refusal(CURED_FIRST)


def with_events(data: dict, events: list) -> dict:
    return data | {"events": events}


def refused_event(line: str, events: list) -> dict:
    """The event a refusal names by its place in `events`."""
    return events[int(INDEX.search(line).group(1))]


# On time through November 2004; a misrepresentation on 10 November; the holder's notice of
# acceleration by telecopy on the 15th, which that misrepresentation justifies (7(y)).
ON_TIME = worked("innovo-on-time-to-maturity")
MISREPRESENTATION = {"type": "misrepresentation", "date": "2004-11-10", "waived": None}
ACCELERATION = {"type": "acceleration", "notice": {"sent": "2004-11-15", "method": "telecopy"}}
JUSTIFIED = ON_TIME | {"as_of": "2004-12-31", "events": [*ON_TIME["events"][:5], MISREPRESENTATION, ACCELERATION]}

# The mixed year's September interest, due 1 September, is paid on the 10th: a notice of acceleration
# mailed on the 8th is deemed received on the 13th, when no default continues any more.
MIXED = worked("innovo-mixed-year")
MAILED = {"type": "acceleration", "notice": {"sent": "2004-09-08", "method": "certified_mail"}}
CURED_FIRST = with_events(MIXED, [*MIXED["events"], MAILED])

# Every kind of event: defaults that end (a cure, a waiver) and one that does not, after the mixed year.
EVERY_KIND = with_events(
    MIXED,
    [
        *MIXED["events"],
        {"type": "covenant_breach", "date": "2004-11-01", "cured": "2004-11-15"},
        {"type": "misrepresentation", "date": "2004-11-10", "waived": "2004-11-20"},
        {"type": "acceleration", "notice": {"sent": "2004-11-12", "method": "telecopy"}},
        {"type": "insolvency", "date": "2005-01-20"},
    ],
)

AS_LISTED = {name: worked(name) for name in VALID} | {"justified": JUSTIFIED, "every kind": EVERY_KIND}


@pytest.mark.parametrize("name", [*VALID, "every kind"])
@shuffled
@given(data=st.data())
def test_every_order_of_a_scenarios_events_gives_the_same_answer(name, data):
    scenario = AS_LISTED[name]
    order = data.draw(st.permutations(scenario["events"]))
    assert answer(with_events(scenario, order)) == answer_as_listed(name)


def test_a_notice_of_acceleration_listed_before_the_default_that_justifies_it_is_accepted():
    listed_first = with_events(JUSTIFIED, [ACCELERATION, *JUSTIFIED["events"][:-1]])
    result = answer(listed_first)
    assert result["accelerations"] == [{"date": "2004-11-15", "kind": "holder_notice"}]
    assert result == answer_as_listed("justified")


@shuffled
@given(order=st.permutations(JUSTIFIED["events"]))
def test_every_order_of_a_justified_acceleration_gives_the_same_answer(order):
    assert answer(with_events(JUSTIFIED, order)) == answer_as_listed("justified")


def test_a_notice_of_acceleration_after_the_waiver_is_refused_in_every_order():
    waived = MISREPRESENTATION | {"waived": "2004-11-12"}
    events = [ACCELERATION, *ON_TIME["events"][:5], waived]
    for order in (events, events[::-1], events[3:] + events[:3]):
        line = refusal(with_events(JUSTIFIED, order))
        assert refused_event(line, order) is ACCELERATION, line
        assert "no Event of Default continues" in line


@shuffled
@given(order=st.permutations(CURED_FIRST["events"]))
def test_a_refusal_names_the_event_that_breaks_the_rule_wherever_it_is_listed(order):
    # Listed first, the notice used to be accepted on a note with no payment yet, and the late
    # payment that cures the default refused in its stead.
    line = refusal(with_events(CURED_FIRST, order))
    assert refused_event(line, order) is MAILED, line
    assert INDEX.sub("events[i]", line) == INDEX.sub("events[i]", refusal_as_listed())
    assert line.startswith(f"error: events[{order.index(MAILED)}].notice.sent: acceleration effective 2004-09-13")


def test_a_notice_received_before_the_cure_is_accepted_in_any_order():
    sent_by_telecopy = {"type": "acceleration", "notice": {"sent": "2004-09-08", "method": "telecopy"}}
    events = [sent_by_telecopy, *MIXED["events"]]
    result = answer(with_events(MIXED, events))
    assert result["accelerations"] == [{"date": "2004-09-08", "kind": "holder_notice"}]
    assert answer(with_events(MIXED, events[::-1])) == result


def test_events_of_one_kind_on_one_day_take_effect_in_the_order_listed():
    notice = {"sent": "2004-10-04", "method": "certified_mail"}
    part = {"type": "conversion", "notice": notice, "principal": "200000.00"}
    rest = {"type": "conversion", "notice": notice, "principal": "all"}
    payments = MIXED["events"][:3]
    result = answer(with_events(MIXED, [part, *payments, rest]))
    assert [c["principal"] for c in result["conversions"]] == ["200000.00", "300000.00"]
    line = refusal(with_events(MIXED, [rest, *payments, part]))
    assert line.startswith("error: events[4].principal: conversion on 2004-10-09 of 200,000.00 refused")


# Isolation: a scenario's issuer, holder and closing prices are its own.


def own_closes(close: str) -> dict:
    closes = [c | {"close": close} for c in MIXED["note"]["reference_closes"]]
    return MIXED | {"note": MIXED["note"] | {"reference_closes": closes}}


def demo_records() -> dict:
    """What the demo stored that a scenario could change: its issuer, closes, holders and notes."""
    return {
        "issuers": list(Issuer.objects.order_by("pk").values()),
        "closes": list(ClosingPrice.objects.order_by("pk").values()),
        "holders": list(Holder.objects.order_by("pk").values()),
        "notes": list(Note.objects.order_by("pk").values()),
        "entries": LedgerEntry.objects.count(),
    }


def test_a_scenario_in_a_database_holding_the_demo_answers_as_in_an_empty_one():
    own = own_closes("1.00")
    priced = ON_TIME | {"note": {k: v for k, v in ON_TIME["note"].items() if k != "reference_closes"}}
    priced["note"]["conversion_price"] = "0.75"
    alone = [answer(s) for s in (own, priced, MIXED)]
    call_command("load_demo", "--no-login", stdout=StringIO())
    assert ClosingPrice.objects.filter(issuer__name="Innovo Group Inc.").exists()
    assert [answer(s) for s in (own, priced, MIXED)] == alone
    # 4(a): the premium of 1.10 times the average of its own five closes before the agreement date.
    assert D(alone[0]["conversion_price"]) == D("1.10") * D("1.00")
    assert D(alone[1]["conversion_price"]) == D("0.75")


def test_a_kept_scenario_leaves_the_demo_as_it_was_and_keeps_an_issuer_and_holder_of_its_own():
    call_command("load_demo", "--no-login", stdout=StringIO())
    demo = demo_records()
    first = Issuer.objects.get(name="Innovo Group Inc.")
    code, out, err = simulate(own_closes("1.00"), "--commit")
    assert code == 0, err
    kept = Note.objects.get(pk=int(re.search(r"note id (\d+)", err).group(1)))
    now = demo_records()
    for key in ("issuers", "closes", "holders", "notes"):
        ids = {r["id"] for r in demo[key]}
        assert [r for r in now[key] if r["id"] in ids] == demo[key]
        assert len(now[key]) > len(demo[key])
    assert LedgerEntry.objects.exclude(note=kept).count() == demo["entries"]
    assert kept.issuer != first and kept.issuer.name == "Innovo Group Inc. (scenario 2)"
    assert sorted(c.close for c in kept.reference_closes.all()) == [D("1.00")] * 5
    assert set(first.closing_prices.values_list("close", flat=True)) >= {D("2.05"), D("2.11")}
    assert kept.holder.pk not in {h["id"] for h in demo["holders"]}
    assert json.loads(out)["conversion_price"] == "1.100000"


def test_each_kept_scenario_has_its_own_issuer_even_with_a_name_at_the_longest():
    name = "I" * Issuer._meta.get_field("name").max_length
    data = own_closes("1.00") | {"issuer": {"name": name}}
    for _ in range(3):
        code, _, err = simulate(data, "--commit")
        assert code == 0, err
    names = list(Issuer.objects.order_by("pk").values_list("name", flat=True))
    assert names == [name, f"{name[:-13]} (scenario 2)", f"{name[:-13]} (scenario 3)"]
    assert all(len(n) <= len(name) for n in names)
    assert Note.objects.values("issuer").distinct().count() == 3
