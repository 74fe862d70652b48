from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from notes.models import Note
from servicing import clock
from servicing.models import Period, Reminder
from servicing.selectors import note_balances, notes_with_balances, pending_for_note


@login_required
def note_list(request):
    notes = notes_with_balances().order_by("number")
    # What the daily reminder job found this past week.
    reminders = Reminder.objects.filter(created_on__gte=clock.today() - timedelta(days=7)).select_related("note")
    return render(request, "notes/note_list.html", {"notes": notes, "reminders": reminders.order_by("due_on")[:30]})


@login_required
def note_detail(request, pk):
    note = get_object_or_404(Note.objects.select_related("issuer", "holder"), pk=pk)
    context = {
        "note": note,
        "balances": note_balances(note),
        "periods": Period.objects.filter(note=note).order_by("-start")[:24],
        "entries": note.entries.select_related("posted_by", "approved_by").order_by("-effective_on", "-pk")[:50],
        "pending": pending_for_note(note),
        "chain": note.chain_of_title() if note.parent_id or note.substitutes.exists() else [],
        "participations": note.participations.filter(approval="approved").select_related("participant"),
        "warrants": note.warrants.select_related("holder"),
        "flags": note.flags.filter(cleared_at__isnull=True),
        "documents": note.documents.order_by("-created_at", "-pk")[:20],
    }
    return render(request, "notes/note_detail.html", context)
