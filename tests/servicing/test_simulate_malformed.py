"""`manage.py simulate` answers every malformed scenario with status 2 and one `error:` line naming
the field (simulate.md), never with a traceback, and refuses work beyond its bounds up front."""

import copy
import json
import logging
import re
import subprocess
import sys
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from servicing.simulate import MAX_BYTES
from tests.helpers import DELETE, error_line, scenario, simulate

ROOT = Path(__file__).resolve().parents[2]
NET = "servicing.simulate"  # the command's logger: a record there means a check is missing

pytestmark = pytest.mark.django_db


def net_records(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == NET and r.levelno >= logging.ERROR]


# A covenant breach (cured) and a misrepresentation (waived) after the worked events: every kind
# of field an event can have is in one valid scenario.
RICH = scenario(
    events__5={"type": "covenant_breach", "date": "2004-11-01", "cured": "2004-11-03"},
    events__6={"type": "misrepresentation", "date": "2004-11-10", "waived": "2004-11-20"},
)
LONG = "1" + "0" * 5000


BROKEN = [
    # the scenario and its parts of the wrong type
    (["not", "an", "object"], "scenario: a list must be a JSON object"),
    (scenario(note=DELETE), "note: required, as an object"),
    (scenario(note=[]), "note: a list must be an object"),
    (scenario(note="terms"), "note: 'terms' must be an object"),
    (scenario(issuer="Innovo"), "issuer: 'Innovo' must be an object"),
    (scenario(issuer={"name": ""}), "issuer.name: required, as a non-empty string"),
    (scenario(holder=[]), "holder: a list must be an object"),
    (scenario(holder={"name": 7}), "holder.name: 7 must be a string"),
    (scenario(holder={"name": "x" * 201}), "holder.name: at most 200 characters, 201 given"),
    (scenario(holder={"name": "A.\nHolder"}), "holder.name: 'A.\\nHolder' must be one line"),
    (scenario(holder={"name": "A.\x00Holder"}), "holder.name: 'A.\\x00Holder' must be one line"),
    (scenario(holder={"name": "A.\ud800"}), "holder.name: 'A.\\ud800' must be one line"),
    (scenario(holder={"name": "A. Holder", "email": ["a@example.com"]}), "holder.email: a list must be a string"),
    (scenario(holder={"name": "A. Holder", "email": "not an address"}), "holder.email: "),
    # figures
    (scenario(note__principal=1e30), "note.principal: 1e+30 must be a decimal number written as a string"),
    (scenario(note__principal=True), "note.principal: True must be a decimal number written as a string"),
    (scenario(note__principal=None), "note.principal: required, as a decimal number written as a string"),
    (scenario(note__principal={"amount": "1"}), "note.principal: an object must be a decimal number"),
    (scenario(note__principal="1e30"), "note.principal: '1e30' has more than 18 digits before the decimal point"),
    (scenario(note__principal="1" * 50), "note.principal: '" + "1" * 36 + "... is longer than 40 characters"),
    (scenario(note__principal="NaN"), "note.principal: 'NaN' is not a finite number"),
    (scenario(note__principal="-Infinity"), "note.principal: '-Infinity' is not a finite number"),
    (scenario(note__principal="sNaN"), "note.principal: 'sNaN' is not a finite number"),
    (scenario(note__principal="1.005"), "note.principal: '1.005' has more than 2 decimal places"),
    (scenario(note__principal="2000000000000.00"), "note.principal: principal 2000000000000.00 is more than"),
    (scenario(note__rate="0.00000000001"), "note.rate: '0.00000000001' has more than 10 decimal places"),
    (scenario(note__rate="5"), "note.rate: rate 5 plus spread"),
    (scenario(note__rate=["0.075"]), "note.rate: a list must be a decimal number"),
    (scenario(note__max_lawful_rate="99999"), "note.max_lawful_rate: '99999' has more than 3 digits before"),
    (scenario(note__default_rate_spread=0.03), "note.default_rate_spread: 0.03 must be a decimal number"),
    (scenario(note__conversion_premium="1e5"), "note.conversion_premium: '1e5' has more than 5 digits before"),
    (scenario(note__conversion_price="0.0000001"), "note.conversion_price: conversion price 1E-7 must be at least"),
    (
        scenario(note__reference_closes__0__close="9000000000", note__conversion_premium="200"),
        "note.reference_closes[0].close: 9000000000 times the conversion premium 200 is not below",
    ),
    (scenario(note__reference_closes__0__close=2.05), "note.reference_closes[0].close: 2.05 must be a decimal"),
    (scenario(note__reference_closes__0__close="-2.05"), "note.reference_closes[0].close: closing price -2.05"),
    (scenario(note__reference_closes={}), "note.reference_closes: an object must be a list"),
    (scenario(note__reference_closes=[1]), "note.reference_closes[0]: 1 must be an object"),
    (scenario(note__reference_closes=DELETE), "note.reference_closes: give the closing prices"),
    (
        scenario(note__reference_closes=[{"date": "2004-06-14", "close": "2.11"}] * 251),
        "note.reference_closes: 251 given, at most 250",
    ),
    # the other terms
    (scenario(note__calendar=5), "note.calendar: 5 must be a string"),
    (scenario(note__calendar={"code": "XFED"}), "note.calendar: an object must be a string"),
    (scenario(note__calendar="X" * 11), "note.calendar: at most 10 characters, 11 given"),
    (scenario(note__calendar="NOPE"), "note.calendar: unknown holiday calendar 'NOPE'"),
    (scenario(note__prepayment_lockout_months=1000), "note.prepayment_lockout_months: 1000 must be from 0 to 120"),
    (scenario(note__prepayment_lockout_months=-1), "note.prepayment_lockout_months: -1 must be from 0 to 120"),
    (scenario(note__prepayment_lockout_months="3"), "note.prepayment_lockout_months: '3' must be a whole number"),
    (scenario(note__prepayment_lockout_months=3.5), "note.prepayment_lockout_months: 3.5 must be a whole number"),
    (scenario(note__prepayment_lockout_months=True), "note.prepayment_lockout_months: True must be a whole number"),
    # dates
    (scenario(note__agreement_date="0001-01-01"), "note.agreement_date: 0001-01-01 is outside the dates a scenario"),
    (scenario(note__agreement_date="9999-12-31"), "note.agreement_date: 9999-12-31 is outside the dates a scenario"),
    (
        scenario("leap-year-accrual", note__agreement_date="1800-01-01"),
        "note.agreement_date: agreement date 1800-01-01 must be in the years 1900 to 2200",
    ),
    (scenario(note__maturity_date="9899-12-31"), "note.maturity_date: maturity date 9899-12-31 is more than 50 years"),
    (scenario(note__maturity_date=20050615), "note.maturity_date: 20050615 is not a date (YYYY-MM-DD)"),
    (scenario(note__maturity_date="2005-6-15"), "note.maturity_date: '2005-6-15' is not a date"),
    (scenario(note__maturity_date="2005-06-15T00:00"), "note.maturity_date: '2005-06-15T00:00' is not a date"),
    (scenario(note__maturity_date="٢٠٠٥-٠٦-١٥"), "note.maturity_date: '٢٠٠٥-٠٦-١٥' is not a date"),
    (scenario(note__maturity_date=DELETE), "note.maturity_date: required, as a date"),
    (scenario(as_of=DELETE), "as_of: required, as a date"),
    (scenario(as_of=2005), "as_of: 2005 is not a date"),
    (scenario(as_of="9999-12-31"), "as_of: 9999-12-31 is outside the dates a scenario can name"),
    (scenario(as_of="2100-01-01"), "as_of: as_of 2100-01-01 is outside the dates this note can have"),
    # events
    (scenario(events={}), "events: an object must be a list"),
    (scenario(events="payment"), "events: 'payment' must be a list"),
    (scenario(events__0="payment"), "events[0]: 'payment' must be an object"),
    (scenario(events__0=None), "events[0]: None must be an object"),
    (scenario(events__0__type=3), "events[0].type: 3 must be a string"),
    (scenario(events__0__type=DELETE), "events[0].type: required, as a non-empty string"),
    (scenario(events__0__type="x" * 1000), "events[0].type: at most 40 characters"),
    (scenario(events__0__amount=1643.84), "events[0].amount: 1643.84 must be a decimal number written as a string"),
    (scenario(events__0__amount="1e30"), "events[0].amount: '1e30' has more than 18 digits before"),
    (scenario(events__0__amount="-1.00"), "events[0].amount: amount -1.00 must be above zero"),
    (scenario(events__0__date="0001-01-01"), "events[0].date: 0001-01-01 is outside the dates a scenario"),
    (scenario(events__0__date="9899-12-31"), "events[0].date: "),
    (scenario(events__3__notice="certified_mail"), "events[3].notice: 'certified_mail' must be an object"),
    (scenario(events__3__notice__sent=20041004), "events[3].notice.sent: 20041004 is not a date"),
    (scenario(events__3__notice__sent="9999-12-31"), "events[3].notice.sent: 9999-12-31 is outside"),
    (scenario(events__3__notice__sent="1899-12-31"), "events[3].notice.sent: "),
    (scenario(events__3__notice__method=True), "events[3].notice.method: True must be a string"),
    (scenario(events__3__notice__method="x" * 1000), "events[3].notice.method: at most 40 characters"),
    (scenario(events__3__principal=200000), "events[3].principal: 200000 must be a decimal number"),
    (scenario(events__3__principal="ALL"), "events[3].principal: 'ALL' is not a decimal number"),
    (scenario(events__4__date=[]), "events[4].date: a list is not a date"),
    (
        scenario(events__5={"type": "covenant_breach", "date": "2004-11-01", "cured": 5}),
        "events[5].cured: 5 is not a date",
    ),
    (
        scenario(events__5={"type": "misrepresentation", "date": "2004-11-10", "waived": {"on": "2004-11-20"}}),
        "events[5].waived: an object is not a date",
    ),
    (
        scenario(events__5={"type": "insolvency", "date": "9999-12-31"}),
        "events[5].date: 9999-12-31 is outside the dates a scenario can name",
    ),
]


@pytest.mark.parametrize("data, words", BROKEN, ids=[words[:60] for _, words in BROKEN])
def test_it_refuses_a_broken_field_naming_it(tmp_path, caplog, data, words):
    error_line(simulate(tmp_path, data), words)
    assert net_records(caplog) == []


WHOLE_FILE = [
    (b"\xff\xfe{}", "not UTF-8 text (byte 0xff at offset 0)"),
    ('{"note": {"holder": "Caf\u00e9"}}'.encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 24)"),
    (b" " * (MAX_BYTES + 1), "larger than 1,048,576 bytes"),
    ("[" * 100_000, "nested more than 20 deep"),
    ("[" * 21 + "]" * 21, "nested more than 20 deep"),
    ('{"as_of": NaN}', "NaN is not a number"),
    ('{"as_of": Infinity}', "Infinity is not a number"),
    ('{"as_of": -Infinity}', "-Infinity is not a number"),
    ("{not json", "not JSON"),
    ("", "not JSON"),
]


@pytest.mark.parametrize("content, words", WHOLE_FILE, ids=[words for _, words in WHOLE_FILE])
def test_it_refuses_a_file_that_is_not_a_scenario(tmp_path, caplog, content, words):
    error_line(simulate(tmp_path, content), f"error: cannot read the scenario {tmp_path}/scenario.json: {words}")
    assert net_records(caplog) == []


def test_it_refuses_an_integer_too_long_for_python_naming_it(tmp_path):
    text = json.dumps(scenario()).replace('"500000.00"', LONG)
    error_line(simulate(tmp_path, text), "note.principal: a number of 5,001 digits must be a decimal number")


def test_it_refuses_a_missing_file(tmp_path):
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as e:
        call_command("simulate", str(tmp_path / "absent.json"), stdout=out, stderr=err)
    error_line((e.value.code, out.getvalue(), err.getvalue()), "No such file or directory")


@pytest.mark.parametrize(
    "content, words",
    [
        (b"\x80\x81", "not UTF-8 text"),
        (b"[" * (MAX_BYTES + 1), "larger than"),
        (b"[" * 100_000, "nested more than 20 deep"),
        (b'{"note": NaN}', "NaN is not a number"),
        (b"[\n" * 30 + b"]\n" * 30, "nested more than 20 deep"),
    ],
)
def test_the_command_line_prints_one_line_and_no_traceback(tmp_path, content, words):
    path = tmp_path / "scenario.json"
    path.write_bytes(content)
    done = subprocess.run(
        [sys.executable, "manage.py", "simulate", str(path)], cwd=ROOT, capture_output=True, timeout=120
    )
    error_line((done.returncode, done.stdout.decode(), done.stderr.decode()), words)


def test_a_scenario_on_standard_input_is_bounded_too(tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "simulate", "-"],
        cwd=ROOT,
        input=b" " * (MAX_BYTES + 10),
        capture_output=True,
        timeout=120,
    )
    error_line((done.returncode, done.stdout.decode(), done.stderr.decode()), "larger than 1,048,576 bytes")


def test_a_name_with_line_breaks_is_shown_on_one_line(tmp_path):
    path = tmp_path / "two\nlines.json"
    path.write_text("{not json")
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit):
        call_command("simulate", str(path), stdout=out, stderr=err)
    error_line((2, out.getvalue(), err.getvalue()), "two\\nlines.json: not JSON")


# Work bounded before it starts (the attacker's runs of more than 90 seconds).


def test_it_refuses_as_of_at_the_end_of_the_calendar(tmp_path):
    error_line(
        simulate(tmp_path, scenario(as_of="9999-12-31")),
        "as_of: 9999-12-31 is outside the dates a scenario can name, 0100-01-01 to 9899-12-31",
    )


def test_it_refuses_as_of_past_the_notes_window(tmp_path):
    error_line(
        simulate(tmp_path, scenario(as_of="2025-06-16")),
        "as_of: as_of 2025-06-16 is outside the dates this note can have: 2003-06-15 (a year before its "
        "agreement date) to 2025-06-15 (20 years after its maturity)",
    )


def test_it_refuses_twenty_thousand_events(tmp_path):
    events = [{"type": "payment", "date": "2004-07-01", "amount": "1"}] * 20_000
    text = json.dumps(scenario(events=events), separators=(",", ":"))
    assert len(text) <= MAX_BYTES
    error_line(simulate(tmp_path, text), "events: 20,000 given, at most 100")


def test_it_refuses_more_events_than_a_long_replay_allows(tmp_path):
    data = scenario("leap-year-accrual", note__maturity_date="2073-12-15", as_of="2024-03-31")
    data["events"] += [{"type": "payment", "date": "2024-03-01", "amount": "1.00"}]
    error_line(
        simulate(tmp_path, data),
        "events: 4 given; a note replayed over 50.0 years (from 2023-12-15 to 2073-12-15) may have at most 2",
    )


def test_an_event_far_ahead_counts_in_the_replay(tmp_path):
    data = scenario("leap-year-accrual")
    data["events"] += [{"type": "payment", "date": "2044-12-16", "amount": "1.00"}] * 9
    error_line(
        simulate(tmp_path, data),
        "events: 12 given; a note replayed over 21.0 years (from 2023-12-15 to 2044-12-16) may have at most 11",
    )


def test_a_conversion_into_more_shares_than_can_be_counted_is_refused_naming_the_event(tmp_path):
    # A trillion at 200 % a year for nine years, converted at a millionth: more shares than a
    # 64-bit count holds. The engine refuses it before the database would.
    data = {
        "note": {
            "agreement_date": "2004-06-15",
            "maturity_date": "2014-06-15",
            "principal": "1000000000000.00",
            "rate": "1",
            "default_rate_spread": "1",
            "conversion_price": "0.000001",
        },
        "events": [{"type": "conversion", "notice": {"sent": "2013-06-03", "method": "telecopy"}, "principal": "all"}],
        "as_of": "2013-06-30",
    }
    error_line(simulate(tmp_path, data), "error: events[0].principal: ")
    error_line(simulate(tmp_path, data), "would issue more than 1,000,000,000,000,000,000 shares")


# The net: a bug the checks miss is still one line, and its traceback goes to the log.


def test_an_unexpected_error_is_one_line_and_logged(tmp_path, caplog, monkeypatch):
    def broken(data):
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr("servicing.management.commands.simulate.simulate", broken)
    refusal = "error: the scenario could not be simulated (RuntimeError); var/simulate.log has"
    error_line(simulate(tmp_path, scenario()), refusal)
    [record] = [r for r in caplog.records if r.name == NET]
    assert record.levelno == logging.ERROR and record.exc_info[0] is RuntimeError


def test_the_rich_scenario_is_valid(tmp_path):
    code, out, err = simulate(tmp_path, RICH)
    assert (code, err) == (0, ""), err
    assert [d["kind"] for d in json.loads(out)["defaults"]].count("misrepresentation") == 1


# Property: whatever is broken, the answer is the JSON or one `error:` line.

BASES = [
    dict(RICH, holder={"name": "A. Holder", "email": "holder@example.com"}, issuer={"name": "Innovo Group Inc."}),
    scenario("late-payment-acceleration", events__4={"type": "insolvency", "date": "2004-10-20"}),
    scenario(
        "leap-year-accrual",
        note__calendar="XFED",
        note__prepayment_lockout_months=3,
        note__default_rate_spread="0.03",
        note__max_lawful_rate="0.12",
    ),
]


def paths(value, prefix=()):
    """Every place in `value`: the whole, and each key and index within, at any depth."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, (*prefix, i))


def _at(data, path):
    for p in path:
        data = data[p]
    return data


def nested(depth: int):
    value = "2004-07-01"
    for i in range(depth):
        value = [value] if i % 2 else {"date": value}
    return value


DATES = ["0001-01-01", "0100-01-01", "1899-12-31", "1900-01-01", "2004-06-14", "2004-06-15", "2004-10-04"]
DATES += ["2005-01-31", "2005-06-15", "2025-06-15", "2025-06-16", "2200-12-31", "9899-12-31", "9999-12-31"]
WORDS = ["", " ", "\n", "all", "ALL", "NaN", "-Infinity", "sNaN", "1e30", "1E-30", "-1", "0", "0.00", "-0"]
WORDS += ["9" * 18 + ".99", "0.0000000001", "1" * 50, "1." + "0" * 50 + "1", "2004-02-30", "2004-13-01"]
WORDS += ["XFED", "XNYS", "NOPE", "certified_mail", "telecopy", "pigeon", "payment", "conversion"]
WORDS += ["prepayment", "covenant_breach", "misrepresentation", "insolvency", "acceleration", "x" * 201]
WORDS += ["A.\nHolder\r\n", "\x00", "\u202e", "\U0001f600", "é" * 250]
EVENT_TYPES = ["payment", "conversion", "prepayment", "covenant_breach", "misrepresentation", "insolvency"]
EVENT_TYPES.append("acceleration")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.sampled_from(DATES + WORDS),
    st.dates().map(lambda d: d.isoformat()),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(min_value=-(10**40), max_value=10**40, places=12).map(str),
    st.text(max_size=300),
)
# Values of the right type and near the right size, so that a mutation also reaches the services
# and the engine.
plausible = st.one_of(
    st.dates(min_value=date(2003, 1, 1), max_value=date(2026, 12, 31)).map(date.isoformat),
    st.decimals(min_value=0, max_value=10**12, places=2).map(str),
    st.decimals(min_value=0, max_value=1, places=6).map(str),
    st.integers(min_value=0, max_value=120),
    st.sampled_from([*EVENT_TYPES, "certified_mail", "overnight_courier", "telecopy", "all"]),
)
junk = st.one_of(
    scalars,
    plausible,
    st.lists(scalars, max_size=4),
    st.dictionaries(st.sampled_from(["date", "amount", "type", "notice", "sent", "method", "name"]), scalars),
    st.integers(min_value=1, max_value=60).map(nested),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(EVENT_TYPES),
            "date": st.sampled_from(DATES),
            "amount": st.sampled_from(WORDS + ["1.00", "100000.00"]),
            "notice": st.fixed_dictionaries({"sent": st.sampled_from(DATES), "method": st.sampled_from(WORDS)}),
            "principal": st.sampled_from(WORDS + ["1.00", "all"]),
            "cured": st.sampled_from([*DATES, None]),
        }
    ),
)


@st.composite
def mutated(draw):
    data = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        # Mostly a leaf, sometimes a whole part (an event, the note, the scenario).
        everywhere = list(paths(data))
        leaves = [p for p in everywhere if not isinstance(_at(data, p), dict | list)]
        where = draw(st.sampled_from(leaves if leaves and draw(st.integers(0, 3)) else everywhere))
        if not where:
            return draw(junk)
        *parents, last = where
        target = data
        for p in parents:
            target = target[p]
        if isinstance(target, dict) and draw(st.booleans()) and draw(st.booleans()):
            del target[last]
        else:
            target[last] = draw(junk)
    return data


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=mutated())
def test_any_mutation_gives_the_json_or_one_error_line(tmp_path, caplog, data):
    caplog.clear()
    code, out, err = simulate(tmp_path, data)
    assert "Traceback" not in err
    if code == 0:
        assert err == ""
        assert set(json.loads(out)) >= {"periods", "payments", "balances"}
        event("simulated")
    else:
        # What was refused, for --hypothesis-show-statistics: the path, without indices.
        where = error_line((code, out, err)).split(": ")[1]
        event("the file" if where.startswith("cannot read") else re.sub(r"\[\d+\]", "[]", where))
    assert net_records(caplog) == [], err
