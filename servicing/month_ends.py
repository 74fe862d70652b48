"""The replay's state at the last month end posting replayed through (`MonthEndState`, one per note),
so that the month's statement takes a replay of a day instead of the note's whole life.

A kept state is as good as the note's own `engine_state`: posting replays a note in full whenever an
event is recorded, approved or reversed on or before a day already posted, and a full replay
rewrites the note's month-end state with its own.
"""

from datetime import date

from notes.models import Note
from servicing import engine
from servicing.models import MonthEndState


def replay_through(note: Note, terms: engine.Terms, events: list[engine.Event], day: date) -> engine.Result:
    """The note replayed (not strictly) through `day`, from the month-end state kept if it is not
    after `day`, else from its first day (an older month's statement; a state of another engine)."""
    kept = MonthEndState.objects.filter(note=note, day__lte=day).values_list("state", flat=True).first()
    state = engine.State.from_json(kept) if kept else None
    return engine.run(terms, events, day, state, strict=False)
