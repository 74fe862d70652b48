import json
import sys

from django.core.management.base import BaseCommand
from django.db import transaction

from servicing.simulate import ScenarioError, simulate


class Command(BaseCommand):
    help = "Replay a scenario through the services and the close job; print what was posted (rolled back)."

    def add_arguments(self, parser):
        parser.add_argument("scenario", help="path of the scenario JSON file, or - for standard input")
        parser.add_argument("--commit", action="store_true", help="keep what the scenario created")

    def handle(self, scenario, commit, **options):
        try:
            with sys.stdin if scenario == "-" else open(scenario) as f:
                data = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            self._fail(f"cannot read the scenario {scenario}: {e}")
        try:
            with transaction.atomic():
                note, out = simulate(data)
                if not commit:
                    transaction.set_rollback(True)
        except ScenarioError as e:
            self._fail(str(e))
        self.stdout.write(json.dumps(out, indent=2))
        if commit:
            self.stderr.write(f"note id {note.pk} ({note.number})")

    def _fail(self, message: str):
        self.stderr.write(f"error: {message}")
        sys.exit(2)
