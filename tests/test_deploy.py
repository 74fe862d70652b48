"""deploy/ as README.md's "Production" uses it: the systemd units name commands that exist, the nginx
site matches gunicorn and the upload limits, env.example names every setting, the scripts parse, and a
backup restores into an empty database whose ledger verify_ledger then passes."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import environ
import pytest
from django.conf import settings
from django.db import connection
from django.test import RequestFactory

from servicing import documents, imports
from servicing.client_ip import client_ip

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = ["servicing-web.service", "servicing-worker.service", "servicing-beat.service"]
SETTINGS_NAMES = sorted(set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', (ROOT / "config/settings.py").read_text())))


def unit(name: str) -> dict[str, str]:
    """A unit file's Key=Value lines (the last of each key)."""
    values = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


@pytest.mark.parametrize("name", UNITS)
def test_each_unit_runs_a_command_of_the_checkout_as_the_servicing_user(name):
    values = unit(name)
    assert values["User"] == "servicing"
    assert values["WorkingDirectory"] == "/srv/servicing"
    assert values["EnvironmentFile"] == "/etc/servicing/env"
    assert values["Restart"] == "always"
    command = shlex.split(values["ExecStart"])
    # The binary is the checkout's virtualenv's, which bin/setup makes: here, the running one's.
    binary = Path(command[0])
    assert binary.parent == Path("/srv/servicing/.venv/bin")
    assert (Path(sys.executable).parent / binary.name).exists(), binary.name


def test_web_serves_the_wsgi_application_on_the_address_the_proxy_uses():
    command = shlex.split(unit("servicing-web.service")["ExecStart"])
    assert Path(command[0]).name == "gunicorn"
    module, _, attribute = command[1].partition(":")
    assert module == "config.wsgi" and attribute in ("", "application")
    __import__(module)
    assert callable(sys.modules[module].application)
    bind = command[command.index("--bind") + 1]
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert re.search(rf"server {re.escape(bind)};", nginx), f"nginx's upstream is not {bind}"
    assert bind.startswith("127.0.0.1:"), "gunicorn listens on the machine only, behind the proxy"
    # The proxy waits for an answer at least as long as gunicorn lets a request run.
    timeout = int(command[command.index("--timeout") + 1])
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", nginx).group(1))
    assert read_timeout >= timeout


@pytest.mark.parametrize(("name", "verb"), [("servicing-worker.service", "worker"), ("servicing-beat.service", "beat")])
def test_worker_and_beat_run_the_config_celery_app(name, verb):
    command = shlex.split(unit(name)["ExecStart"])
    assert Path(command[0]).name == "celery"
    assert command[1:4] == ["-A", "config", verb]
    from config import celery

    assert celery.app.main == "servicing"


def test_the_worker_stops_warm_and_is_given_time_to():
    values = unit("servicing-worker.service")
    # SIGTERM to the main process only (a warm shutdown), then SIGKILL to what is left after the timeout.
    assert values["KillMode"] == "mixed"
    assert int(values["TimeoutStopSec"]) >= 60


def test_the_proxy_passes_uploads_as_large_as_the_site_accepts_and_says_https():
    nginx = (DEPLOY / "nginx.conf").read_text()
    limit = re.search(r"client_max_body_size (\d+)m;", nginx)
    assert int(limit.group(1)) * 2**20 > max(documents.EXHIBIT_MAX_BYTES, imports.MAX_BYTES)
    assert "proxy_set_header X-Forwarded-Proto https;" in nginx
    assert "proxy_set_header Host $host;" in nginx
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in nginx
    # Both servers (the redirect and the site) keep nginx's version to themselves.
    assert nginx.count("server {") == nginx.count("    server_tokens off;") == 2
    assert settings.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")


def test_env_example_and_the_readme_name_every_setting():
    example = (DEPLOY / "env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    configuration = readme[readme.index("\n## Configuration") : readme.index("\n## Production")]
    assert len(SETTINGS_NAMES) > 30
    for name in SETTINGS_NAMES:
        assert re.search(rf"^(# )?{name}=", example, re.MULTILINE), f"{name} is not in deploy/env.example"
        assert f"`{name}`" in configuration, f"{name} is not in README.md's Configuration table"


def test_env_example_reads_as_django_environ_reads_the_env_file(monkeypatch):
    """The same file is the systemd EnvironmentFile and, linked as .env, what manage.py reads."""
    read = {}
    monkeypatch.setattr(environ.Env, "ENVIRON", read)
    environ.Env.read_env(DEPLOY / "env.example")
    env = environ.Env()
    assert env.bool("DEBUG") is False
    assert env.str("SERVICER_ADDRESS", multiline=True) == "1 Main Street, Suite 200\nSpringfield, ST 00000"
    assert env.str("STATEMENT_FROM_EMAIL") == "Example Servicing <statements@example.com>"
    assert env.db("DATABASE_URL")["ENGINE"] == "django.db.backends.postgresql"
    assert env.list("CSRF_TRUSTED_ORIGINS") == ["https://servicing.example.com"]
    assert "servicing.example.com" in env.list("ALLOWED_HOSTS")


def systemd_reads(text: str) -> dict[str, str]:
    """An EnvironmentFile as systemd reads it (systemd.exec(5), src/basic/env-file.c), for the
    lines env.example uses: `#` comments; a value unquoted (a backslash takes the next character
    as it is, trailing blanks dropped), in single quotes (as it is) or in double quotes (a
    backslash escapes only a quote, backslash, backquote or dollar)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, _, raw = line.partition("=")
        value, i = "", 0
        raw = raw.lstrip()
        while i < len(raw):
            c = raw[i]
            if c == "'":
                end = raw.index("'", i + 1)
                value += raw[i + 1 : end]
                i = end + 1
            elif c == '"':
                i += 1
                while raw[i] != '"':
                    if raw[i] == "\\" and raw[i + 1] in '"\\`$':
                        i += 1
                    elif raw[i] == "\\":
                        value += "\\"
                        i += 1
                    value += raw[i]
                    i += 1
                i += 1
            elif c == "\\":
                value += raw[i + 1]
                i += 2
            else:
                value += c
                i += 1
        values[key.strip()] = value.rstrip()
    return values


def test_systemd_and_django_environ_read_the_env_file_alike(monkeypatch):
    # systemd drops an unquoted backslash (so SERVICER_ADDRESS's \\n is quoted) and keeps quoted text.
    assert systemd_reads("A=1 Main\\nX  \nB='1 Main\\nX'\nC=\"a \\\\ \\n\"") == {
        "A": "1 MainnX",
        "B": "1 Main\\nX",
        "C": "a \\ \\n",
    }
    text = (DEPLOY / "env.example").read_text()
    read = {}
    monkeypatch.setattr(environ.Env, "ENVIRON", read)
    environ.Env.read_env(DEPLOY / "env.example")
    systemd = systemd_reads(text)
    assert set(systemd) == set(read)
    assert {k: v for k, v in systemd.items() if read[k] != v} == {}


@pytest.mark.parametrize("script", ["deploy/backup", "deploy/restore", "bin/setup"])
def test_the_scripts_parse_and_stop_at_the_first_error(script):
    path = ROOT / script
    assert os.access(path, os.X_OK)
    assert "set -euo pipefail" in path.read_text()
    subprocess.run(["bash", "-n", str(path)], check=True)


def test_bin_setup_refuses_an_unknown_argument():
    done = subprocess.run([str(ROOT / "bin/setup"), "--prod"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "unknown argument --prod" in done.stderr


def test_behind_the_proxy_failed_logins_count_by_the_address_it_forwards(settings):
    factory = RequestFactory()
    via_proxy = factory.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_ip(via_proxy) == "203.0.113.9"  # the proxy's own entry, not what the client wrote
    direct = factory.get("/", REMOTE_ADDR="198.51.100.4", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_ip(direct) == "198.51.100.4"  # not from a trusted proxy: its header is not believed
    assert client_ip(factory.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="garbage")) == "127.0.0.1"
    assert settings.AXES_CLIENT_IP_CALLABLE == "servicing.client_ip.client_ip"


def test_a_long_forwarded_header_cannot_hide_the_address_the_proxy_appended():
    """The client writes most of X-Forwarded-For (nginx appends its address to it): an address of
    its choosing placed where a cut at the header's start would fall is not the one counted."""
    factory = RequestFactory()
    for length in (1000, 4000):
        chosen = "192.0.2.77"
        written = ("10.0.0.1, " * length)[: length - len(chosen) - 2] + ", " + chosen
        assert len(written) == length
        request = factory.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"{written}, 203.0.113.9")
        assert client_ip(request) == "203.0.113.9"
    ipv6 = factory.get("/", REMOTE_ADDR="::1", HTTP_X_FORWARDED_FOR="6.6.6.6, 2001:db8:ffff:ffff:ffff:ffff:ffff:1")
    assert client_ip(ipv6) == "2001:db8:ffff:ffff:ffff:ffff:ffff:1"


def test_behind_the_proxy_one_address_failing_does_not_lock_the_user_out_elsewhere(client, staff):
    """Five failures from one client (through the proxy, at 127.0.0.1) lock that client only."""
    from django.urls import reverse

    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("login"),
            {"username": "servicer", "password": "wrong"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
    right = {"username": "servicer", "password": "pw-servicer-1"}
    there = client.post(reverse("login"), right, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert there.status_code == 429
    here = client.post(reverse("login"), right, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.4")
    assert here.status_code == 302 and here.url == reverse("dashboard")


def _url(name: str) -> str:
    s = connection.settings_dict
    user = quote(s["USER"] or "", safe="")
    password = f":{quote(s['PASSWORD'], safe='')}" if s["PASSWORD"] else ""
    return f"postgres://{user}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_an_empty_database_and_its_ledger_verifies(tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the scripts back up PostgreSQL (pg_dump); DATABASE_URL is SQLite")
    for tool in ("pg_dump", "pg_restore", "psql"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (apt-get install postgresql-client)")
    from servicing.demo import load_demo

    load_demo()  # notes posted through yesterday, and their documents under MEDIA_ROOT
    media = Path(settings.MEDIA_ROOT)
    made = sorted(p.relative_to(media) for p in media.rglob("*") if p.is_file())
    assert made, "the demo made no document to back up"

    scratch = f"{connection.settings_dict['NAME']}_restore"[:63]
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
        cursor.execute(f'CREATE DATABASE "{scratch}"')
    base = {**os.environ, "PYTHON": sys.executable, "DEBUG": "true", "CELERY_BROKER_URL": ""}
    try:
        backup = subprocess.run(
            [str(DEPLOY / "backup"), str(tmp_path / "backups")],
            env=base | {"DATABASE_URL": _url(connection.settings_dict["NAME"]), "MEDIA_ROOT": str(media)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert backup.returncode == 0, backup.stderr
        folder = Path(backup.stdout.strip().splitlines()[-1])
        assert sorted(p.name for p in folder.iterdir()) == [
            "BACKUP_INFO",
            "SHA256SUMS",
            "database.dump",
            "media.tar.gz",
        ]

        restored = tmp_path / "restored-media"
        into = base | {"DATABASE_URL": _url(scratch), "MEDIA_ROOT": str(restored)}
        restore = subprocess.run(
            [str(DEPLOY / "restore"), str(folder)], env=into, capture_output=True, text=True, timeout=120
        )
        assert restore.returncode == 0, restore.stdout + restore.stderr
        assert "note(s) agree with their ledger" in restore.stdout
        assert sorted(p.relative_to(restored) for p in restored.rglob("*") if p.is_file()) == made
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM servicing_ledgerentry")
            entries = cursor.fetchone()[0]
        listed = subprocess.run(
            ["psql", "--no-psqlrc", "-tAc", "SELECT count(*) FROM servicing_ledgerentry", _url(scratch)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert int(listed.stdout) == entries > 0

        # Restored again, the database is no longer empty: refused, nothing touched.
        again = subprocess.run(
            [str(DEPLOY / "restore"), str(folder)],
            env=into | {"MEDIA_ROOT": str(tmp_path / "other-media")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 2
        assert "is not empty" in again.stderr

        # A backup whose note rows disagree with their ledger restores, and says so: exit 1.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE notes_note SET principal_outstanding = principal_outstanding + 1")
        differing = subprocess.run(
            [str(DEPLOY / "backup"), str(tmp_path / "backups")],
            env=base | {"DATABASE_URL": _url(connection.settings_dict["NAME"]), "MEDIA_ROOT": str(media)},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE "{scratch}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{scratch}"')
        verified = subprocess.run(
            [str(DEPLOY / "restore"), differing.stdout.strip().splitlines()[-1]],
            env=into | {"MEDIA_ROOT": str(tmp_path / "media-3")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert verified.returncode == 1, verified.stdout + verified.stderr
        assert "principal_outstanding: row" in verified.stdout
        assert "verify_ledger did not pass" in verified.stderr

        # A backup that fails half-way (here: no MEDIA_ROOT) leaves no folder behind.
        before = sorted((tmp_path / "backups").iterdir())
        failed = subprocess.run(
            [str(DEPLOY / "backup"), str(tmp_path / "backups")],
            env=base
            | {"DATABASE_URL": _url(connection.settings_dict["NAME"]), "MEDIA_ROOT": str(tmp_path / "no-such")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert failed.returncode != 0
        assert "backup: failed" in failed.stderr
        assert sorted((tmp_path / "backups").iterdir()) == before

        # A damaged backup is refused before anything is restored.
        with (folder / "media.tar.gz").open("ab") as f:
            f.write(b"damage")
        damaged = subprocess.run(
            [str(DEPLOY / "restore"), str(folder)], env=into, capture_output=True, text=True, timeout=60
        )
        assert damaged.returncode == 2
        assert "checksums do not match" in damaged.stderr
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


@pytest.mark.postgres
def test_a_backup_is_private_and_paths_with_spaces_and_dollars_are_only_paths(tmp_path):
    """Every backup holds the whole database: its folder and files are the servicing user's alone
    (umask 077), whatever the caller's umask; odd characters in paths run nothing."""
    for tool in ("pg_dump", "createdb", "dropdb"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (apt-get install postgresql-client)")
    name = "servicing_atk_backup_modes"
    server = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["dropdb", *server, "--if-exists", name], check=True)
    created = subprocess.run(["createdb", *server, name], capture_output=True, text=True)
    if created.returncode != 0:
        pytest.skip(f"no PostgreSQL at 127.0.0.1 to dump: {created.stderr.strip()}")
    try:
        media = tmp_path / "media $(touch INJECTED) x"
        (media / "documents").mkdir(parents=True)
        (media / "documents" / "a b.pdf").write_bytes(b"%PDF-1.4")
        root = tmp_path / "back ups; touch INJECTED"
        env = {
            **os.environ,
            "PYTHON": sys.executable,
            "DEBUG": "true",
            "CELERY_BROKER_URL": "",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}",
            "MEDIA_ROOT": str(media),
        }
        done = subprocess.run(
            ["bash", "-c", 'umask 022; exec "$0" "$1"', str(DEPLOY / "backup"), str(root)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        folder = Path(done.stdout.strip().splitlines()[-1])
        assert folder.parent == root
        assert folder.stat().st_mode & 0o777 == 0o700
        assert {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()} == {
            "BACKUP_INFO": 0o600,
            "SHA256SUMS": 0o600,
            "database.dump": 0o600,
            "media.tar.gz": 0o600,
        }
        assert not list(tmp_path.rglob("INJECTED")) and not (ROOT / "INJECTED").exists()
        assert f"media_root={media}" in (folder / "BACKUP_INFO").read_text()

        # Restored (into the same database, emptied: it had no tables), the documents are not
        # readable by other users, whatever the caller's umask. (The empty dump has no ledger to
        # verify: the restore ends with its error; the files are unpacked before.)
        restored = tmp_path / "restored media"
        subprocess.run(
            ["bash", "-c", 'umask 022; exec "$0" "$1"', str(DEPLOY / "restore"), str(folder)],
            env=env | {"MEDIA_ROOT": str(restored)},
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        unpacked = list(restored.rglob("*"))
        assert restored / "documents" / "a b.pdf" in unpacked
        assert all(p.stat().st_mode & 0o007 == 0 for p in [restored, *unpacked])
    finally:
        subprocess.run(["dropdb", *server, "--if-exists", name], check=False)
