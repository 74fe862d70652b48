"""Assignment of part of the note (8(j)): the assigned principal leaves the note on its date."""

from __future__ import annotations

from datetime import date

from servicing.engine import keys
from servicing.engine.events import Assignment
from servicing.engine.money import written
from servicing.engine.results import Journal
from servicing.engine.state import State


def assign(s: State, j: Journal, d: date, e: Assignment) -> None:
    if s.principal_due_on is not None:
        j.refuse(
            "assignment",
            e.ref,
            "effective_on",
            f"assignment on {d} refused: the principal fell due on {s.principal_due_on} and is no longer a "
            "loan that runs to maturity",
        )
    elif e.principal > s.principal:
        j.refuse(
            "assignment",
            e.ref,
            "principal",
            f"assignment on {d} of {written(e.principal)} refused: principal outstanding is {written(s.principal)}",
        )
    else:
        s.principal -= e.principal
        j.post(d, "assignment", "principal", keys.assignment(e.ref), -e.principal)
