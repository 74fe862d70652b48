"""Fill the balances the note rows now keep (notes 0007) from the ledger and the stored state.
The next close keeps them from then on."""

from collections import defaultdict
from decimal import Decimal

from django.db import migrations

ACCOUNTS = {
    "principal": "principal_outstanding",
    "interest": "interest_due",
    "default_interest": "default_interest_due",
    "costs": "costs_due",
    "unapplied": "unapplied",
}


def fill(apps, schema_editor):
    from servicing.engine import defaults
    from servicing.engine.calendar import ONE_DAY
    from servicing.engine.state import State

    Note = apps.get_model("notes", "Note")
    LedgerEntry = apps.get_model("servicing", "LedgerEntry")
    sums = defaultdict(lambda: defaultdict(Decimal))
    for note_id, account, amount in LedgerEntry.objects.values_list("note_id", "account", "amount").iterator():
        sums[note_id][account] += amount
    for note in Note.objects.exclude(closed_through=None).iterator():
        for account, column in ACCOUNTS.items():
            setattr(note, column, sums[note.pk][account])
        state = State.from_json(note.engine_state) if note.engine_state else None
        if state is not None:
            note.next_due_on, note.next_due_amount = defaults.next_due(state, note.closed_through + ONE_DAY)
        note.save(update_fields=[*ACCOUNTS.values(), "next_due_on", "next_due_amount"])


class Migration(migrations.Migration):
    dependencies = [("servicing", "0005_exact_decimals"), ("notes", "0007_note_balances")]
    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
