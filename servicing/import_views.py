"""*Operations → Import*: upload a CSV file, see its dry run row by row, then import it.

Each step (the check, the import) is done by a Celery task (servicing.tasks.import_step_task) whose
progress the page polls (servicing/static/servicing/imports.js); the file is kept in its ImportRun
between the steps. Each kind needs the add permission of the records it creates.
"""

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from servicing import imports
from servicing.models import ImportRun
from servicing.tasks import import_step_task
from servicing.web import require

ROWS_A_PAGE = 100
RUNNING = (ImportRun.Status.CHECKING, ImportRun.Status.IMPORTING)


def _kinds(user) -> list[imports.Kind]:
    return [k for k in imports.KINDS.values() if user.has_perm(k.permission)]


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label="What the file holds")
    file = forms.FileField(label="CSV file (UTF-8, with a header row)")

    def __init__(self, *args, kinds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k.name, k.noun.capitalize()) for k in kinds]

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > imports.MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {imports.MAX_BYTES // (1024 * 1024)} MB.")
        return f


def import_upload(request):
    kinds = _kinds(request.user)
    if not kinds:
        raise PermissionDenied("importing needs the permission to add holders, closing prices, notes or payments")
    form = UploadForm(request.POST or None, request.FILES or None, kinds=kinds)
    if request.method == "POST" and form.is_valid():
        kind = imports.KINDS[form.cleaned_data["kind"]]
        require(request.user, kind.permission)
        f = form.cleaned_data["file"]
        name = "".join(c if c.isprintable() else "?" for c in (f.name or "upload.csv"))[:200]
        upload = ImportRun.objects.create(
            kind=kind.name, filename=name, content=f.read(imports.MAX_BYTES + 1), created_by=request.user
        )
        return redirect("servicing:import_run", pk=upload.pk)
    runs = ImportRun.objects.filter(kind__in=[k.name for k in kinds]).select_related("created_by").defer("content")
    context = {"form": form, "kinds": kinds, "runs": runs[:20], "section": "operations"}
    return render(request, "servicing/import.html", context)


def import_template(request, kind):
    if kind not in imports.KINDS:
        raise PermissionDenied("no such kind of import")
    require(request.user, imports.KINDS[kind].permission)
    response = HttpResponse(imports.template(kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}.csv"'
    return response


def _run(request, pk) -> ImportRun:
    upload = get_object_or_404(ImportRun.objects.defer("content"), pk=pk)
    require(request.user, imports.KINDS[upload.kind].permission)
    return upload


def import_run(request, pk):
    upload = _run(request, pk)
    kind = imports.KINDS[upload.kind]
    report = upload.report or {}
    rows = report.get("rows", [])
    if request.GET.get("problems"):
        rows = [r for r in rows if r[3]]
    page = Paginator(rows, ROWS_A_PAGE).get_page(request.GET.get("page"))
    done, total = imports.progress_of(upload)
    context = {
        "upload": upload,
        "kind": kind,
        "report": report,
        "page": page,
        "extra": "&problems=1" if request.GET.get("problems") else "",
        "running": upload.status in RUNNING,
        "percent": _percent(done, total, upload.status in RUNNING),
        "done": done,
        "total": total,
        "can_import": upload.status == ImportRun.Status.CHECKED
        and not report.get("problems")
        and report.get("created", 0) > 0,
        "section": "operations",
    }
    return render(request, "servicing/import_run.html", context)


def _percent(done: int, total: int, running: bool) -> int:
    if not total:
        return 0 if running else 100
    return min(100, done * 100 // total)


def import_step(request, pk, step):
    upload = _run(request, pk)  # the permission first: a viewer is refused whatever the method
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if step not in ("check", "import"):
        raise PermissionDenied("no such step")
    commit = step == "import"
    allowed = [ImportRun.Status.CHECKED] if commit else [ImportRun.Status.UPLOADED, ImportRun.Status.CHECKED]
    status = ImportRun.Status.IMPORTING if commit else ImportRun.Status.CHECKING
    # One step at a time: the step is claimed by the change of status.
    if ImportRun.objects.filter(pk=upload.pk, status__in=allowed).update(status=status, done=0):
        cache.set(imports.progress_key(upload.pk), [0, upload.rows], 3600)  # not the last step's end
        import_step_task.delay(upload.pk, commit, request.user.pk)
    else:
        messages.warning(request, f"This file is {upload.get_status_display().lower()}: nothing was started.")
    return redirect("servicing:import_run", pk=upload.pk)


def import_progress(request, pk):
    upload = _run(request, pk)
    done, total = imports.progress_of(upload)
    percent = _percent(done, total, upload.status in RUNNING)
    return JsonResponse({"status": upload.status, "done": done, "total": total, "percent": percent})
