"""Exhibits (issue 12, section 8): PDFs staff attach to a note, which its agreement carries after the
signature page; section 4(c) says Exhibit A is attached hereto, so the agreement waits for it."""

import hashlib
import io
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader, PdfWriter

from servicing import documents
from servicing.models import Document, NoteExhibit
from tests.conftest import once
from tests.factories import UserFactory, exhibit_attached, exhibit_pdf
from tests.helpers import pdf_pages, refused, refused_at, row_counts

pytestmark = pytest.mark.django_db


def files_under(folder: str) -> list[Path]:
    return [p for p in (Path(settings.MEDIA_ROOT) / folder).rglob("*") if p.is_file()]


def flat(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------------
# The agreement carries them


def test_the_agreement_carries_its_exhibits_after_the_signature_page_each_behind_a_cover(agreement_note):
    exhibit_attached(
        agreement_note, label="B", title="Side letter", content=exhibit_pdf(pages=1, heading="SIDE LETTER")
    )
    document = documents.agreement_produce(note=agreement_note)
    pages = [flat(p) for p in pdf_pages(document)]
    own = int(pages[0].rsplit("Page 1 of ", 1)[1].split()[0])
    assert len(PdfReader(document.pdf.path).pages) == own + 1 + 2 + 1 + 1 == len(pages)
    assert pages[own - 1].startswith("IN WITNESS WHEREOF")  # the signature page, then the exhibits
    assert pages[own].startswith("EXHIBIT A Registration Rights Agreement to the Convertible Note Agreement")
    assert "dated June 15, 2004 between Innovo Group Inc. and Ann Lee" in pages[own]
    assert "Page" not in pages[own]  # a cover is not one of the agreement's numbered pages
    assert pages[own + 1 : own + 3] == [
        "REGISTRATION RIGHTS AGREEMENT page 1 of 2",
        "REGISTRATION RIGHTS AGREEMENT page 2 of 2",
    ]
    assert pages[own + 3].startswith("EXHIBIT B Side letter")
    assert pages[own + 4] == "SIDE LETTER page 1 of 1"
    section_4c = "a copy of which is attached hereto and incorporated herein by reference as Exhibit A"
    assert section_4c in " ".join(pages[:own])
    with open(document.pdf.path, "rb") as f:
        joined = f.read()
    assert (document.sha256, document.size) == (hashlib.sha256(joined).hexdigest(), len(joined))
    assert [e.label for e in document.exhibits.order_by("label")] == ["A", "B"]


def scripted_pdf() -> bytes:
    """A two-page PDF whose first page runs a script when opened and whose link runs one too, and
    whose first page has a key into the file's structure tree (key 0, as the agreement's first page)."""
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, NumberObject, TextStringObject

    writer = PdfWriter(clone_from=io.BytesIO(exhibit_pdf()))
    script = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )
    link = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(100), FloatObject(100)]),
            NameObject("/A"): script,
        }
    )
    page = writer.pages[0]
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): script})
    page[NameObject("/StructParents")] = NumberObject(0)
    page[NameObject("/Annots")] = ArrayObject([writer._add_object(link)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_an_exhibits_pages_come_without_scripts_or_their_own_structure_keys(bare_agreement_note):
    scripted = scripted_pdf()
    assert b"alert" in scripted and b"/AA" in scripted and b"/StructParents 0" in scripted
    exhibit_attached(bare_agreement_note, content=scripted)
    document = documents.agreement_produce(note=bare_agreement_note)
    reader = PdfReader(document.pdf.path)
    own = len(reader.pages) - 3
    assert all("/StructParents" in page for page in reader.pages[:own])  # the agreement's, tagged
    for page in reader.pages[own:]:
        assert "/AA" not in page and "/StructParents" not in page
        for annotation in page.get("/Annots") or []:
            assert "/A" not in annotation.get_object() and "/AA" not in annotation.get_object()
    assert (
        b"alert" not in Path(document.pdf.path).read_bytes()
        and b"JavaScript" not in Path(document.pdf.path).read_bytes()
    )


def test_the_admin_shows_the_exhibits_a_document_carries(client, agreement_note):
    document = documents.agreement_produce(note=agreement_note)
    client.force_login(UserFactory(username="chief", roles=["admin"], is_staff=True))
    page = client.get(reverse("admin:servicing_document_change", args=[document.pk])).content.decode()
    assert f"Exhibit A to {agreement_note.number}: Registration Rights Agreement" in page


def test_it_refuses_the_agreement_until_exhibit_a_is_attached(bare_agreement_note):
    with refused("exhibits", "Exhibit A", "Registration Rights Agreement", "attached hereto", unchanged=row_counts):
        documents.agreement_produce(note=bare_agreement_note)
    exhibit_attached(bare_agreement_note, label="B", title="Side letter")
    with refused("exhibits", "Exhibit A", unchanged=row_counts):
        documents.agreement_produce(note=bare_agreement_note)
    assert files_under("documents") == []
    exhibit_attached(bare_agreement_note, label="A")
    assert documents.agreement_produce(note=bare_agreement_note).exhibits.count() == 2


def test_a_carried_exhibit_is_kept_and_never_altered(agreement_note):
    documents.agreement_produce(note=agreement_note)
    exhibit = agreement_note.exhibits.get()
    exhibit.title = "Another title"
    with pytest.raises(ValueError, match="never altered"):
        exhibit.save()
    with pytest.raises(Exception, match="protected"):
        NoteExhibit.objects.get(pk=exhibit.pk).delete()


# ---------------------------------------------------------------------------------------------------
# What is attached


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(exhibit_pdf(pages=1)))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"Registration Rights Agreement, as text", ("is not a PDF", "%PDF-")),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", ("damaged", "could not read")),
        ("encrypted", ("encrypted", "without a password")),
        (b"%PDF-" + b"0" * (20 * 2**20), ("larger than 20 MB",)),
    ],
    ids=["text", "damaged", "encrypted", "too large"],
)
def test_it_refuses_a_file_that_is_not_a_readable_pdf_and_stores_nothing(bare_agreement_note, staff, content, words):
    content = encrypted_pdf() if content == "encrypted" else content
    with refused("pdf", *words, unchanged=row_counts):
        documents.exhibit_attach(
            note=bare_agreement_note, label="A", title="Registration Rights Agreement", content=content, by=staff
        )
    assert files_under("exhibits") == []


def test_it_refuses_an_exhibit_of_too_many_pages(bare_agreement_note, monkeypatch):
    monkeypatch.setattr(documents, "EXHIBIT_MAX_PAGES", 2)
    with refused("pdf", "has 3 pages", "1 to 2", unchanged=row_counts):
        exhibit_attached(bare_agreement_note, content=exhibit_pdf(pages=3))


def test_a_label_taken_by_another_request_since_the_check_is_refused_at_the_label(bare_agreement_note):
    exhibit_attached(bare_agreement_note, label="A")
    # As if another request attached Exhibit A between this one's check and its save.
    with (
        mock.patch("django.db.models.query.QuerySet.exists", return_value=False),
        refused("label", "has an Exhibit A already", unchanged=row_counts),
    ):
        exhibit_attached(bare_agreement_note, label="A")


def test_a_label_is_unique_to_its_note_and_named_as_the_agreement_names_it(bare_agreement_note, innovo, staff):
    first = exhibit_attached(bare_agreement_note, label=" a ")
    assert (first.label, first.pages, first.pdfa, first.size) == ("A", 2, "3U", first.pdf.size)
    with refused("label", "has an Exhibit A already", unchanged=row_counts):
        exhibit_attached(bare_agreement_note, label="A")
    with refused("label", "a letter or number", unchanged=row_counts):
        exhibit_attached(bare_agreement_note, label="Exhibit A")
    with refused("title", "required", unchanged=row_counts):
        exhibit_attached(bare_agreement_note, label="B", title="  ")
    with refused("title", "one line", unchanged=row_counts):
        exhibit_attached(bare_agreement_note, label="B", title="Side\nletter")
    from tests.factories import NoteFactory

    other = NoteFactory(issuer=innovo, holder=bare_agreement_note.holder, by=staff)
    assert exhibit_attached(other, label="A").pdf.name == first.pdf.name  # the same file, kept once


# ---------------------------------------------------------------------------------------------------
# The note's page and the admin


def upload(content: bytes, name: str = "rra.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, "application/pdf")


def test_an_admin_attaches_an_exhibit_from_the_note_page(client, bare_agreement_note):
    url = reverse("servicing:exhibit_attach", args=[bare_agreement_note.pk])
    client.force_login(UserFactory(username="chief", roles=["admin"]))
    assert 'enctype="multipart/form-data"' in client.get(url).content.decode()
    data = once({"label": "A", "title": "Registration Rights Agreement", "pdf": upload(exhibit_pdf())})
    response = client.post(url, data)
    assert response.status_code == 302
    exhibit = bare_agreement_note.exhibits.get()
    assert (exhibit.label, exhibit.title, exhibit.uploaded_by.username) == (
        "A",
        "Registration Rights Agreement",
        "chief",
    )
    page = client.get(bare_agreement_note.get_absolute_url()).content.decode()
    assert "Registration Rights Agreement" in page and reverse("servicing:exhibit_pdf", args=[exhibit.pk]) in page
    pdf = client.get(reverse("servicing:exhibit_pdf", args=[exhibit.pk]))
    assert hashlib.sha256(b"".join(pdf.streaming_content)).hexdigest() == exhibit.sha256


def test_the_note_page_refuses_a_file_that_is_not_a_pdf_at_its_field(client, bare_agreement_note):
    url = reverse("servicing:exhibit_attach", args=[bare_agreement_note.pk])
    client.force_login(UserFactory(username="chief", roles=["admin"]))
    before = row_counts()
    data = once({"label": "A", "title": "Registration Rights Agreement", "pdf": upload(b"not a pdf", "rra.docx")})
    refused_at(client.post(url, data), "pdf", "is not a PDF")
    assert row_counts() == before and files_under("exhibits") == []


@pytest.mark.parametrize("role", ["viewer", "servicer", "approver"])
def test_only_a_role_that_produces_documents_attaches_an_exhibit(client, bare_agreement_note, role):
    url = reverse("servicing:exhibit_attach", args=[bare_agreement_note.pk])
    client.force_login(UserFactory(username=f"a-{role}", roles=[role]))
    data = once({"label": "A", "title": "Registration Rights Agreement", "pdf": upload(exhibit_pdf())})
    assert client.post(url, data).status_code == 403
    assert client.get(url).status_code == 403
    assert not NoteExhibit.objects.exists() and files_under("exhibits") == []
    assert "Attach an exhibit" not in client.get(bare_agreement_note.get_absolute_url()).content.decode()


def test_the_admin_attaches_an_exhibit_and_refuses_a_file_that_is_not_a_pdf(client, bare_agreement_note):
    client.force_login(UserFactory(username="chief", roles=["admin"], is_staff=True))
    add = reverse("admin:servicing_noteexhibit_add")
    base = {"note": bare_agreement_note.pk, "label": "A", "title": "Registration Rights Agreement"}
    before = row_counts()
    refused_at(client.post(add, once(base | {"pdf": upload(b"GIF89a")})), "pdf", "is not a PDF")
    assert row_counts() == before and files_under("exhibits") == []
    response = client.post(add, once(base | {"pdf": upload(exhibit_pdf())}))
    assert response.status_code == 302, response.content.decode()[:2000]
    exhibit = NoteExhibit.objects.get()
    assert (exhibit.note, exhibit.pages, exhibit.uploaded_by.username) == (bare_agreement_note, 2, "chief")
    assert len(files_under("exhibits")) == 1
    # Carried by an agreement, it can no longer be deleted; before, it could.
    delete = reverse("admin:servicing_noteexhibit_delete", args=[exhibit.pk])
    assert client.get(delete).status_code == 200
    documents.agreement_produce(note=bare_agreement_note)
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert NoteExhibit.objects.filter(pk=exhibit.pk).exists() and Document.objects.count() == 1


def linked_pdf() -> bytes:
    """A one-page PDF with three links: one to a web page that runs a script after it (/Next), one
    to a javascript: address, and one plain link to a web page."""
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, TextStringObject

    def link(action):
        box = ArrayObject([FloatObject(0), FloatObject(0), FloatObject(100), FloatObject(100)])
        return DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): box,
                NameObject("/A"): DictionaryObject(action),
            }
        )

    uri, script = NameObject("/URI"), NameObject("/S")
    chained = {
        script: uri,
        uri: TextStringObject("https://example.com/chained"),
        NameObject("/Next"): DictionaryObject(
            {script: NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("NEXTSCRIPT")}
        ),
    }
    javascript = {script: uri, uri: TextStringObject("javascript:URISCRIPT")}
    plain = {script: uri, uri: TextStringObject("https://example.com/plain")}
    writer = PdfWriter(clone_from=io.BytesIO(exhibit_pdf(pages=1)))
    writer.pages[0][NameObject("/Annots")] = ArrayObject(
        [writer._add_object(link(action)) for action in (chained, javascript, plain)]
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_an_exhibits_links_keep_only_a_plain_web_address_without_a_script_chained_after_it(bare_agreement_note):
    linked = linked_pdf()
    assert b"NEXTSCRIPT" in linked and b"URISCRIPT" in linked  # the address escaped: "javascript\\072"
    exhibit_attached(bare_agreement_note, content=linked)
    document = documents.agreement_produce(note=bare_agreement_note)
    joined = Path(document.pdf.path).read_bytes()
    assert b"SCRIPT" not in joined and b"/Next" not in joined
    annotations = [a.get_object() for a in PdfReader(document.pdf.path).pages[-1]["/Annots"]]
    assert [str(a["/A"]["/URI"]) for a in annotations if "/A" in a] == ["https://example.com/plain"]


def test_a_file_larger_than_the_largest_exhibit_is_never_kept_whole_and_is_refused_as_too_large(
    rf, client, bare_agreement_note
):
    huge = b"%PDF-" + b"0" * (documents.EXHIBIT_MAX_BYTES + 5 * 2**20)
    request = rf.post("/", {"pdf": upload(huge)})
    assert request.FILES["pdf"].size == documents.EXHIBIT_MAX_BYTES + 1  # the rest never written anywhere
    url = reverse("servicing:exhibit_attach", args=[bare_agreement_note.pk])
    client.force_login(UserFactory(username="chief", roles=["admin"]))
    before = row_counts()
    data = once({"label": "A", "title": "Registration Rights Agreement", "pdf": upload(huge)})
    refused_at(client.post(url, data), "pdf", "larger than 20 MB")
    assert row_counts() == before and files_under("exhibits") == []


def attaching_pdf() -> bytes:
    """A one-page PDF whose page carries a file in a file attachment annotation."""
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        TextStringObject,
    )

    writer = PdfWriter(clone_from=io.BytesIO(exhibit_pdf(pages=1)))
    stream = DecodedStreamObject()
    stream.set_data(b"MZ UNREVIEWED-FILE")
    stream[NameObject("/Type")] = NameObject("/EmbeddedFile")
    spec = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Filespec"),
            NameObject("/F"): TextStringObject("setup.exe"),
            NameObject("/EF"): DictionaryObject({NameObject("/F"): writer._add_object(stream)}),
        }
    )
    annotation = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/FileAttachment"),
            NameObject("/Rect"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(20), FloatObject(20)]),
            NameObject("/FS"): spec,
        }
    )
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_an_exhibits_pages_come_without_the_files_their_annotations_carry(bare_agreement_note):
    import subprocess

    carrying = attaching_pdf()
    assert b"UNREVIEWED-FILE" in carrying
    exhibit_attached(bare_agreement_note, content=carrying)
    document = documents.agreement_produce(note=bare_agreement_note)
    assert b"UNREVIEWED-FILE" not in Path(document.pdf.path).read_bytes()
    listed = subprocess.run(["pdfdetach", "-list", document.pdf.path], check=True, capture_output=True).stdout
    assert listed.decode().startswith("0 embedded files")
    assert pdf_pages(document)[-1].split() == ["REGISTRATION", "RIGHTS", "AGREEMENT", "page", "1", "of", "1"]
