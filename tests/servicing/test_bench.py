import re
import subprocess
import sys

from django.conf import settings

FIGURES = ["close_month_ratio", "close_first_ratio", "statement_ratio", "pages_ms_max"]


def bench(*args: str) -> subprocess.CompletedProcess:
    """`manage.py bench` in a process of its own, on the configured database's server (as CI runs it)."""
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "bench", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def test_it_prints_the_table_and_ends_with_the_four_figures():
    done = bench("--notes", "10", "--years", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert re.match(r"what +median +against +ratio$", next(line for line in lines if line.startswith("what")))
    for page in ["/notes/?sort=-principal_outstanding", "/holders/", "(/)", "?page=2"]:
        assert any(line.startswith("page:") and page in line and "queries" in line for line in lines), page
    assert any(line.startswith("statements delivered on two processes") for line in lines)
    names = [line.split("=")[0] for line in lines[-4:]]
    assert names == FIGURES
    for line in lines[-4:]:
        assert float(line.split("=", 1)[1]) > 0, line


def test_it_runs_only_the_chosen_parts_and_prints_only_their_figures():
    done = bench("--notes", "5", "--years", "1", "--only", "close_first", "--only", "pages")
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert [line.split("=")[0] for line in lines[-2:]] == ["close_first_ratio", "pages_ms_max"]
    assert not any(line.startswith(("close_month_ratio", "statement_ratio", "statements delivered")) for line in lines)


def test_it_refuses_an_unknown_part():
    done = bench("--only", "close_month,speed")
    assert done.returncode != 0
    assert "unknown speed" in done.stderr
