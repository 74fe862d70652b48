"""The replay's state at each month end, kept when posting replays a note past it, so that a month's
figures (a statement) take a replay of that month instead of the note's whole life.

A kept state is as good as the note's own `engine_state`: posting replays a note in full whenever an
event is recorded, approved or reversed on or before a day already posted, and a full replay
replaces the note's month-end states with its own.
"""

from datetime import date

from notes.models import Note
from servicing import engine
from servicing.models import MonthEndState


def month_ends_store(replays: list[tuple[Note, engine.Result, bool]]) -> None:
    """Keep the month-end states of posting's replays (note, result of `run(..., month_ends=True)`,
    whether it was a full replay): a full replay's replace all the note's."""
    full = [note.pk for note, _, is_full in replays if is_full]
    if full:
        MonthEndState.objects.filter(note__in=full).delete()
    MonthEndState.objects.bulk_create(
        (
            MonthEndState(note=note, day=day, state=state)
            for note, result, _ in replays
            for day, state in result.month_ends.items()
        ),
        batch_size=2000,
    )


def replay_through(note: Note, terms: engine.Terms, events: list[engine.Event], day: date) -> engine.Result:
    """The note replayed (not strictly) through `day`, from the latest month-end state kept on or
    before it, or from its first day when none is kept (or it was written by another engine)."""
    kept = MonthEndState.objects.filter(note=note, day__lte=day).order_by("-day").values_list("state", flat=True)
    state = next((engine.State.from_json(s) for s in kept[:1]), None)
    return engine.run(terms, events, day, state, strict=False)
