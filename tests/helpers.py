"""What many tests check the same way: a refusal at a field, the text of a PDF, and `simulate`'s
answer to a scenario."""

import json
import subprocess
import tempfile
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import call_command

from servicing.engine import RuleError

# ---------------------------------------------------------------------------------------------------
# Refused with this field


def said_at(messages: dict, field: str, words) -> str:
    """The messages at `field`, after checking that there are some and that they say each of `words`."""
    assert field in messages, f"refused at {sorted(messages, key=str)}, not at {field!r}: {messages}"
    said = " ".join(messages[field])
    missing = [w for w in words if w not in said]
    assert not missing, f"{field}: {said!r} does not say {missing}"
    return said


def messages_of(error: Exception) -> dict:
    """What a refusal says, by field: a service's ValidationError, or the engine's RuleError."""
    if isinstance(error, RuleError):
        return {error.field: [error.message]}
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {None: error.messages}  # refused without naming a field: no test's field matches


@contextmanager
def refused(field: str, *words: str, unchanged=None):
    """The block is refused at `field` with each of `words` in what it says: a ValidationError that
    names the field (a service, an approval), or a RuleError of that field (the engine). With
    `unchanged` (a function, e.g. `row_counts`), what it returns is the same after the refusal."""
    before = unchanged() if unchanged else None
    with pytest.raises((ValidationError, RuleError)) as caught:
        yield caught
    said_at(messages_of(caught.value), field, words)
    if unchanged:
        assert unchanged() == before, "a refusal changed something"


def refused_at(shown, field: str, *words: str) -> str:
    """The form `shown` (a bound form, or the page of a staff or admin form sent back with its errors)
    refuses `field` with each of `words`; returns what it says there."""
    form = shown
    if hasattr(shown, "status_code"):
        assert shown.status_code == 200, f"the form was not shown again: {shown.status_code}"
        context = shown.context
        form = context["adminform"].form if "adminform" in context else context["form"]
    return said_at(form.errors, field, words)


def row_counts() -> dict:
    """The number of rows of every model: what a refusal must leave as it found it."""
    return {m._meta.label: m._default_manager.count() for m in apps.get_models()}


# ---------------------------------------------------------------------------------------------------
# PDF text


def pdf_pages(pdf, *, layout: bool = True) -> list[str]:
    """Each page's text as pdftotext (poppler) reads it: laid out as printed (a table's row on one
    line), or with `layout=False` in reading order. `pdf` is the file's bytes, its path, or a Document."""
    if isinstance(pdf, bytes):
        with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
            f.write(pdf)
            f.flush()
            return pdf_pages(Path(f.name), layout=layout)
    path = pdf.pdf.path if hasattr(pdf, "pdf") else pdf
    options = ["-layout"] if layout else []
    out = subprocess.run(["pdftotext", *options, "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True)
    return out.stdout.decode().split("\f")[:-1]


def pdf_text(pdf, *, layout: bool = True) -> str:
    """The PDF's text with its whitespace, page breaks included, collapsed to single spaces."""
    return " ".join(" ".join(pdf_pages(pdf, layout=layout)).split())


# ---------------------------------------------------------------------------------------------------
# simulate

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
DELETE = object()


def scenario(name: str = "innovo-mixed-year", **changes) -> dict:
    """A worked scenario with `changes`: {"events__3__notice__sent": value}; DELETE removes the key,
    and an index one past the end of a list appends."""
    data = json.loads((SCENARIOS / f"{name}.json").read_text())
    for path, value in changes.items():
        *parents, last = [int(p) if p.isdigit() else p for p in path.split("__")]
        target = data
        for p in parents:
            target = target[p]
        if value is DELETE:
            del target[last]
        elif isinstance(target, list) and last == len(target):
            target.append(value)
        else:
            target[last] = value
    return data


def simulate(tmp_path, content, *args) -> tuple[int, str, str]:
    """Run the command in-process on `content` (bytes, text, or data written as JSON): its exit
    status, standard output and standard error."""
    path = tmp_path / "scenario.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    out, err = StringIO(), StringIO()
    code = 0
    try:
        call_command("simulate", str(path), *args, stdout=out, stderr=err)
    except SystemExit as e:
        code = e.code
    return code, out.getvalue(), err.getvalue()


def error_line(result: tuple[int, str, str], *words: str) -> str:
    """The command refused (simulate.md): status 2, nothing on standard output, and on standard error
    one `error: ` line, no traceback, that says each of `words`. Returns the line."""
    code, out, err = result
    assert "Traceback" not in err
    assert (code, out) == (2, ""), err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    missing = [w for w in words if w not in lines[0]]
    assert not missing, f"{lines[0]!r} does not say {missing}"
    return lines[0]
