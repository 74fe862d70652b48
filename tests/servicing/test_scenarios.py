"""The worked scenarios (copied from ../shared/scenarios), replayed through `manage.py simulate`."""

import json
from decimal import Decimal, InvalidOperation
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

HERE = Path(__file__).resolve().parent.parent / "scenarios"
NAMES = sorted(p.name[:-5] for p in HERE.glob("*.json") if ".expected" not in p.name)


def same(expected, actual) -> bool:
    if isinstance(expected, str) and isinstance(actual, str):
        try:
            return Decimal(expected) == Decimal(actual)
        except InvalidOperation:
            return expected == actual
    return expected == actual


def differences(expected, actual, path=""):
    if isinstance(expected, dict):
        return [d for k, v in expected.items() for d in differences(v, actual.get(k, "<missing>"), f"{path}.{k}")]
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items expected, {len(actual)} given"]
        return [
            d for i, (e, a) in enumerate(zip(expected, actual, strict=True)) for d in differences(e, a, f"{path}[{i}]")
        ]
    return [] if same(expected, actual) else [f"{path}: expected {expected!r}, got {actual!r}"]


def test_there_are_scenarios():
    assert len(NAMES) >= 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", NAMES)
def test_the_scenario_replays_figure_by_figure(name):
    out, err = StringIO(), StringIO()
    expected_error = HERE / f"{name}.expected-error.txt"
    if expected_error.exists():
        with pytest.raises(SystemExit) as e:
            call_command("simulate", str(HERE / f"{name}.json"), stdout=out, stderr=err)
        assert e.value.code == 2
        assert out.getvalue() == ""
        wanted = expected_error.read_text().strip().removeprefix("error: ")
        assert err.getvalue().startswith("error: ")
        assert wanted in err.getvalue()
        return
    call_command("simulate", str(HERE / f"{name}.json"), stdout=out, stderr=err)
    expected = json.loads((HERE / f"{name}.expected.json").read_text())
    assert differences(expected, json.loads(out.getvalue())) == []
