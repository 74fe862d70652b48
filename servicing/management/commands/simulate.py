import json
import logging
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import override_settings

from servicing.simulate import MAX_BYTES, ScenarioError, load, simulate

log = logging.getLogger("servicing.simulate")
MAX_MESSAGE_CHARS = 1000


class Command(BaseCommand):
    help = "Replay a scenario through the services and the close job; print what was posted (rolled back)."

    def add_arguments(self, parser):
        parser.add_argument("scenario", help="path of the scenario JSON file, or - for standard input")
        parser.add_argument("--commit", action="store_true", help="keep what the scenario created")

    def handle(self, scenario, commit, **options):
        # simulate.md: whatever the file holds, the answer is the JSON or one `error:` line and
        # status 2. The last `except` is the net under the checks of servicing.simulate: what it
        # catches is a bug, so its traceback is logged (servicing.simulate, ERROR) for whoever
        # fixes it, and the person who ran the command gets the one line.
        try:
            try:
                data = load(self._read(scenario))
            except (OSError, ScenarioError) as e:
                raise ScenarioError(f"cannot read the scenario {scenario}: {_reason(e)}") from None
            self._ensure_migrated()
            with transaction.atomic():
                note, out = simulate(data)
                if not commit:
                    transaction.set_rollback(True)
        except ScenarioError as e:
            self._fail(str(e))
        except Exception as e:
            log.error("simulate %s failed", scenario, exc_info=True)
            self._fail(f"the scenario could not be simulated ({type(e).__name__}); var/simulate.log has the details")
        self.stdout.write(json.dumps(out, indent=2))
        if commit:
            self.stderr.write(f"note id {note.pk} ({note.number})")

    def _ensure_migrated(self) -> None:
        """The embedded SQLite database is set up on first use, as bin/setup would; any other
        database is the operator's to migrate, and a scenario is refused until it is."""
        executor = MigrationExecutor(connection)
        if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
            return
        if connection.vendor != "sqlite":
            self._fail("the database is not migrated: run `manage.py migrate` first")
        if MigrationRecorder(connection).applied_migrations():
            call_command("migrate", verbosity=0, interactive=False)
            return
        # A new database: its tables made from the models, as Django's test runner does, and every
        # migration recorded as applied (replaying them all takes longer than a scenario may; on a
        # database with no rows their data steps have nothing to do).
        with override_settings(MIGRATION_MODULES=_NoMigrations()):
            call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)
        recorder = MigrationRecorder(connection)
        for app, name in executor.loader.graph.nodes:
            recorder.record_applied(app, name)

    def _read(self, scenario: str) -> bytes:
        """At most one byte more than a scenario may have, so that a larger one is refused unread."""
        if scenario == "-":
            # Bytes from a real standard input; text from a replaced one (call_command in tests).
            raw = getattr(sys.stdin, "buffer", sys.stdin).read(MAX_BYTES + 1)
            return raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
        with open(scenario, "rb") as f:
            return f.read(MAX_BYTES + 1)

    def _fail(self, message: str):
        self.stderr.write(f"error: {_one_line(message)}")
        sys.exit(2)


def _reason(e: Exception) -> str:
    if isinstance(e, OSError):
        return e.strerror or type(e).__name__
    return str(e)


def _one_line(message: str) -> str:
    """The message as one printable line: a control character (a line break, a terminal escape)
    from the scenario or the file's name is shown escaped, and a long message is cut."""
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in message)
    return text if len(text) <= MAX_MESSAGE_CHARS else f"{text[: MAX_MESSAGE_CHARS - 3]}..."


class _NoMigrations(dict):
    """MIGRATION_MODULES for no app's migrations: every app's tables come from its models."""

    def __contains__(self, app):
        return True

    def __getitem__(self, app):
        return None
