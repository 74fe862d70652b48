from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404

from servicing.models import Document


@login_required
@permission_required("servicing.view_document", raise_exception=True)
def document_preview(request, pk):
    """The HTML the PDF was printed from, as it was printed."""
    document = get_object_or_404(Document, pk=pk)
    return HttpResponse(document.html)


@login_required
@permission_required("servicing.view_document", raise_exception=True)
def document_pdf(request, pk):
    document = get_object_or_404(Document, pk=pk)
    name = f"{document.pdf.name.rsplit('/', 1)[-1]}"
    return FileResponse(document.pdf.open("rb"), as_attachment=True, filename=name, content_type="application/pdf")
