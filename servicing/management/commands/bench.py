import os

from django.core.management.base import BaseCommand, CommandError

from servicing.bench import WORKLOADS, bench


class Command(BaseCommand):
    help = (
        "Time the close, a statement, the staff pages and the statement workers beside their floors, in a "
        "scratch database made on the configured server (dropped at the end); the last lines are the figures."
    )

    def add_arguments(self, parser):
        parser.add_argument("--notes", type=int, default=10_000)
        parser.add_argument("--years", type=int, default=5, help="years of ledger behind the pages")
        parser.add_argument(
            "--only", action="append", default=[], help=f"one or more of {', '.join(WORKLOADS)} (repeat or use commas)"
        )

    def handle(self, notes, years, only, **options):
        chosen = {name.strip() for names in only for name in names.split(",") if name.strip()} or set(WORKLOADS)
        if unknown := chosen - set(WORKLOADS):
            raise CommandError(f"--only: unknown {', '.join(sorted(unknown))}; choose from {', '.join(WORKLOADS)}")
        if notes < 1 or years < 1:
            raise CommandError("--notes and --years must be at least 1")
        say = self.stdout.write
        running = ", ".join(name for name in WORKLOADS if name in chosen)
        say(f"load at start {load()}; {notes:,} notes, {years} years; running {running}")
        figures = bench(notes=notes, years=years, only=chosen, say=say)
        say(f"load at end {load()}")
        for name, value in figures.items():
            say(f"{name}={value:.2f}" if name.endswith("ratio") else f"{name}={value:.1f}")


def load() -> str:
    return " ".join(f"{figure:.2f}" for figure in os.getloadavg())
