"""Record text is printed as text: it never becomes CSS or HTML in a document, WeasyPrint fetches
nothing but the project's static files, and a long name still makes a document that fits its row."""

import subprocess
import threading
import urllib.request
from datetime import date
from decimal import Decimal as D
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import IntegrityError
from django.utils.text import slugify

from holders.models import Holder
from notes.models import CorporateAction, Issuer, Note, SuccessorSecurity, SupplementalAgreement
from servicing import clock, documents, lifecycle, services
from servicing.models import Conversion, DefaultEvent, Document, NoteExhibit, Notice, Payment, Prepayment
from tests.factories import DefaultEventFactory, PaymentFactory, exhibit_attached
from tests.helpers import pdf_pages

pytestmark = pytest.mark.django_db

PASSWD_LINE = "root:x:0:0"
APRIL = date(2024, 4, 1)


@pytest.fixture
def listener():
    """A loopback HTTP server that records every request it receives and answers each with CSS
    that would hide the page."""
    requests = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { display: none }")

        do_POST = do_HEAD = do_GET

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(host=f"127.0.0.1:{server.server_port}", requests=requests)
    server.shutdown()
    server.server_close()
    thread.join()


def attacks(host: str) -> list[str]:
    """Text that fetches a URL, hides the figures or includes a local file if it reaches a document
    as CSS or HTML instead of as text."""
    return [
        f"\n;content:url(http://{host});",  # ends the CSS string the footer once was, by a newline
        f'x"}}\n}}}}body{{display:none}}*{{background:url(http://{host}/css)}}',
        f"<img src=http://{host}/img>",
        f'<style>@import "http://{host}/style";</style>',
        f"<link rel=stylesheet href=http://{host}/link>",
        "<link rel=attachment href=file:///etc/passwd>",
        "<img src=file:///etc/passwd> url(file:///etc/passwd)",
    ]


def payload(host: str, length: int) -> str:
    """As many attacks as fit in a field of `length` characters."""
    text = ""
    for attack in attacks(host):
        if len(text) + len(attack) > length:
            break
        text += attack
    assert text, f"no attack fits in {length} characters"
    return text


def squeezed(text: str) -> str:
    return "".join(text.split())


def squeezed_pages(pdf, layout=False) -> list[str]:
    """Each page's text, whitespace removed so that text wrapped across lines matches: in reading
    order, or with `layout` line by line as printed (a table's row on one line)."""
    return [squeezed(page) for page in pdf_pages(pdf, layout=layout)]


def embedded_files(path) -> str:
    return subprocess.run(["pdfdetach", "-list", str(path)], check=True, capture_output=True).stdout.decode()


def assert_printed_as_text(document: Document, listener, *, shown: list[str], figures: list[str], footer: str):
    """The document asked the listener for nothing, shows each record text in `shown` as text, still
    shows its figures and its footer on every page, and neither shows nor attaches /etc/passwd."""
    assert listener.requests == []
    pages = squeezed_pages(document)
    text = "".join(pages)
    rows = "".join(squeezed_pages(document, layout=True))
    for figure in figures:
        assert squeezed(figure) in rows, figure
    for field in shown:
        assert any(attack in field for attack in attacks(listener.host)), f"no payload in {field!r}"
        for attack in attacks(listener.host):
            if attack in field:
                assert squeezed(attack) in text, attack
    # The document's own pages, before the exhibits an agreement carries (each behind a cover page).
    own = pages[: len(pages) - sum(exhibit.pages + 1 for exhibit in document.exhibits.all())]
    for number, page in enumerate(own, 1):
        assert squeezed(footer) in page, f"no footer on page {number}"
        assert f"Page{number}of{len(own)}" in page
    assert PASSWD_LINE not in text
    assert embedded_files(document.pdf.path).startswith("0 embedded files")


def fill(model, pk, host: str, *fields: str, **values):
    """Each of `fields` set to the payload that fits it, saved past every service's checks: the
    documents must print safely whatever the records hold."""
    for field in fields:
        values[field] = payload(host, model._meta.get_field(field).max_length or 10_000)
    model.objects.filter(pk=pk).update(**values)


@pytest.fixture
def hostile(listener, make_note, issuer, holder, staff, approve, approver):
    """Three notes of Ann Lee's after a merger of the issuer on April 1, 2024: the first paid on time
    and 10,000.00 of it converted on April 15; the second paid on time, with a prepayment noticed
    for April 22; the third insolvent since March 4. Every free-text field that reaches a document
    holds the payload."""
    host = listener.host
    note, prepaid, defaulted = make_note(), make_note(), make_note()
    bills = ((date(2024, 2, 1), D("2200.00")), (date(2024, 3, 1), D("2900.00")), (APRIL, D("3100.00")))
    for day, amount in bills:
        for paid in (note, prepaid):
            PaymentFactory(note=paid, received_on=day, amount=amount, approved_by=approver)
    DefaultEventFactory(note=defaulted, kind="insolvency", occurred_on=date(2024, 3, 4), approved_by=approver)
    action = approve(
        lifecycle.corporate_action_record(
            issuer=issuer,
            kind="merger",
            effective_on=APRIL,
            successor="Acquirer Holdings Inc.",
            securities=[("Acquirer common stock", D("0.5"))],
            by=staff,
        )
    )
    successor = ("successor_jurisdiction", "successor_notice_address", "successor_signatory_name")
    fill(CorporateAction, action.pk, host, "successor", "description", *successor, "successor_signatory_title")
    for security in action.securities.all():
        fill(SuccessorSecurity, security.pk, host, "name")  # before the conversion copies it
    with clock.pinned(date(2024, 4, 20)):
        conversion = approve(
            services.conversion_record(
                note=note, notice_sent=date(2024, 4, 15), method="telecopy", principal=D("10000.00"), by=staff
            )
        )
    with clock.pinned(date(2024, 4, 12)):
        prepayment = approve(
            services.prepayment_record(
                note=prepaid,
                notice_sent=date(2024, 4, 11),
                method="overnight_courier",
                prepayment_date=date(2024, 4, 22),
                principal=D("65000.00"),
                by=staff,
            )
        )
    for digit, numbered in enumerate((note, prepaid, defaulted), 1):  # numbers are unique
        Note.objects.filter(pk=numbered.pk).update(number=f"{digit}{payload(host, 39)}")
    fill(Payment, Payment.objects.filter(note=note, received_on=APRIL).get().pk, host, "reference")
    fill(Holder, holder.pk, host, "name", "notice_address", "telecopy", email=f"x@example.com\n{payload(host, 200)}")
    fill(Issuer, issuer.pk, host, "name", "jurisdiction", "notice_address", "signatory_name", "signatory_title")
    for notice in Notice.objects.filter(note__in=[note, prepaid, defaulted]):
        fill(Notice, notice.pk, host, "description")
    fill(DefaultEvent, DefaultEvent.objects.get(note=defaulted).pk, host, "description")
    return SimpleNamespace(
        note=Note.objects.get(pk=note.pk),
        prepayment=Prepayment.objects.get(pk=prepayment.pk),
        defaulted=Note.objects.get(pk=defaulted.pk),
        holder=Holder.objects.get(pk=holder.pk),
        issuer=Issuer.objects.get(pk=issuer.pk),
        conversion=Conversion.objects.get(pk=conversion.pk),
        action=CorporateAction.objects.get(pk=action.pk),
        reference=Payment.objects.get(note=note, received_on=APRIL).reference,
    )


def test_the_payload_is_in_every_field_it_is_meant_to_be_in(hostile, listener):
    host = listener.host
    assert "\n" in hostile.note.number and f"http://{host}" in hostile.note.number
    assert hostile.holder.name == payload(host, 200)
    assert hostile.issuer.notice_address == "".join(attacks(host))
    assert hostile.conversion.deliveries[0]["security"] == payload(host, 200)
    assert hostile.conversion.notice.description == "".join(attacks(host))


def test_the_agreement_prints_record_text_as_text(hostile, listener):
    exhibit = exhibit_attached(hostile.note)
    fill(NoteExhibit, exhibit.pk, listener.host, "title")  # printed on its cover page
    document = documents.agreement_produce(note=hostile.note)
    issuer, holder = hostile.issuer, hostile.holder
    assert_printed_as_text(
        document,
        listener,
        shown=[hostile.note.number, holder.name, holder.notice_address, issuer.name, issuer.jurisdiction]
        + [issuer.notice_address, issuer.signatory_name, issuer.signatory_title]
        + [NoteExhibit.objects.get(pk=exhibit.pk).title],
        figures=["$365,000.00 (Three Hundred Sixty-Five Thousand and 00/100 Dollars)", "IN WITNESS WHEREOF"],
        footer="Convertible Note Agreement 1\n;content:url(",
    )


def test_the_agreement_prints_an_entity_holders_particulars_as_text(hostile, listener):
    entity = ("entity_type", "organized_in", "signatory_name", "signatory_title")
    fill(Holder, hostile.holder.pk, listener.host, *entity, kind=Holder.Kind.ENTITY)
    holder = Holder.objects.get(pk=hostile.holder.pk)
    exhibit_attached(hostile.note)
    document = documents.agreement_produce(note=hostile.note)
    assert_printed_as_text(
        document,
        listener,
        shown=[holder.name, holder.entity_type, holder.organized_in, holder.signatory_name, holder.signatory_title],
        figures=["IN WITNESS WHEREOF"],
        footer="Convertible Note Agreement 1\n;content:url(",
    )


def test_the_statement_prints_record_text_as_text(hostile, listener):
    # March's statement, dated April 1: it lists the April 1 payment (with its reference) and, the
    # merger being effective that day, the successor securities a conversion now gives.
    document = documents.statement_produce(holder=hostile.holder, month=date(2024, 3, 1))
    holder = hostile.holder
    successor = hostile.action.securities.get().name
    assert_printed_as_text(
        document,
        listener,
        shown=[holder.name, holder.notice_address, hostile.note.number, hostile.issuer.name, hostile.reference]
        + [successor],
        # The first note's principal at the end of March 1 and of April 1, and its April 1 payment.
        figures=["At Mar 1, 2024 $365,000.00", "At Apr 1, 2024 $365,000.00", "$3,100.00"],
        footer="Statement for March 2024 · ",
    )


def test_the_conversion_notice_and_confirmation_print_record_text_as_text(hostile, listener):
    issuer, holder, conversion = hostile.issuer, hostile.holder, hostile.conversion
    notice = documents.conversion_notice_produce(conversion=conversion)
    assert_printed_as_text(
        notice,
        listener,
        shown=[holder.name, holder.notice_address, issuer.name, issuer.notice_address, hostile.note.number],
        figures=["$10,000.00 of the principal amount"],
        footer="Notice of conversion 1\n;content:url(",
    )
    confirmation = documents.conversion_confirmation_produce(conversion=conversion)
    # 10,000.00 and the interest of April 1–14 (1,400.00) at 2.00 a share: 5,700 shares, delivered as
    # 2,850 of the successor's.
    assert_printed_as_text(
        confirmation,
        listener,
        shown=[holder.name, holder.notice_address, issuer.name, issuer.notice_address, issuer.signatory_title]
        + [conversion.deliveries[0]["security"]],
        figures=["Amount converted $11,400.00", "5,700 shares", "2,850"],
        footer="Confirmation of conversion 1\n;content:url(",
    )


def test_the_prepayment_and_default_notices_print_record_text_as_text(hostile, listener):
    issuer, holder = hostile.issuer, hostile.holder
    prepayment = documents.prepayment_notice_produce(prepayment=hostile.prepayment)
    assert_printed_as_text(
        prepayment,
        listener,
        shown=[holder.name, holder.notice_address, issuer.name, issuer.notice_address, issuer.signatory_name],
        figures=["Principal prepaid $65,000.00"],
        footer="Notice of prepayment 2\n;content:url(",
    )
    default = documents.default_notice_produce(note=hostile.defaulted)
    assert_printed_as_text(
        default,
        listener,
        shown=[holder.name, holder.notice_address, issuer.name, issuer.notice_address, hostile.defaulted.number]
        + [DefaultEvent.objects.get(note=hostile.defaulted).description],
        figures=[
            "Principal outstanding $365,000.00",
            "became automatically and immediately due and payable on March 4, 2024",
        ],
        footer="Notice of Default and Acceleration · 3",
    )


def test_the_supplemental_agreement_prints_record_text_as_text(hostile, listener):
    agreement = SupplementalAgreement.objects.get()
    document = documents.supplemental_agreement_produce(agreement=agreement, note=hostile.note)
    action = hostile.action
    assert_printed_as_text(
        document,
        listener,
        shown=[action.successor, action.description, action.securities.get().name, hostile.holder.name]
        + [hostile.issuer.name, action.successor_jurisdiction, action.successor_notice_address]
        + [action.successor_signatory_name, action.successor_signatory_title],
        # 365,000.00 on the merger's date (the conversion of April 15 came after it) at 2.00 a share.
        figures=["The principal outstanding on April 1, 2024, $365,000.00, converts into 182,500 shares"],
        footer="Supplemental agreement 1\n;content:url(",
    )


@pytest.fixture
def static_dirs(settings, tmp_path):
    """A static folder of the finders' and a STATIC_ROOT of the test's own, with a stylesheet in
    each, and a link inside the static folder that points out of it."""
    found, collected = tmp_path / "static", tmp_path / "collected"
    found.mkdir()
    collected.mkdir()
    (found / "document.css").write_text('p.styled::after { content: " STYLED BY A STATIC FILE" }')
    (collected / "collected.css").write_text('p.styled::before { content: "COLLECTED " }')
    (found / "passwd.css").symlink_to("/etc/passwd")
    settings.STATICFILES_DIRS = [found]
    settings.STATIC_ROOT = collected
    return SimpleNamespace(found=found, collected=collected)


def test_the_fetcher_serves_static_files_and_refuses_and_logs_every_other_url(listener, static_dirs, caplog):
    fetcher = documents._url_fetcher()
    app_file = Path(settings.BASE_DIR, "servicing/static/servicing/site.css")
    for path in (app_file, static_dirs.found / "document.css", static_dirs.collected / "collected.css"):
        response = fetcher.fetch(path.as_uri())
        assert (response.read(), response.content_type) == (path.read_bytes(), "text/css")
        response.close()
    refused = [
        f"http://{listener.host}/x.css",
        f"https://{listener.host}/x.css",
        f"ftp://{listener.host}/x.css",
        "file:///etc/passwd",
        app_file.as_uri() + "/../../../../../../../../etc/passwd",
        (static_dirs.found / "passwd.css").as_uri(),
        (static_dirs.found / "missing.css").as_uri(),
        static_dirs.found.as_uri(),  # a folder, not a file
        f"file://{listener.host}{app_file}",
        "file:///etc/passwd%00.css",
        "data:text/css,body{display:none}",
        "servicing/static/servicing/site.css",  # not a URL: WeasyPrint resolves relative ones first
    ]
    for url in refused:
        with pytest.raises(ValueError, match="only the project's static files"):
            fetcher.fetch(url)
        assert f"document refused to fetch {url!r}" in caplog.messages
    assert listener.requests == []


def test_a_document_with_references_in_its_html_prints_without_any_but_static_files(
    listener, static_dirs, caplog, tmp_path
):
    """Should record text ever reach the HTML unescaped, WeasyPrint still fetches nothing else."""
    host = listener.host
    urllib.request.urlopen(f"http://{host}/control").close()  # the listener does record requests
    html = f"""<!doctype html><html><head>
    <link rel="stylesheet" href="{(static_dirs.found / "document.css").as_uri()}">
    <link rel="stylesheet" href="{(static_dirs.collected / "collected.css").as_uri()}">
    <link rel="stylesheet" href="http://{host}/link.css">
    <link rel="attachment" href="file:///etc/passwd">
    <style>@import "http://{host}/import.css"; @import "file:///etc/passwd";
      p {{ background: url(http://{host}/background.png) }}</style>
    </head><body>
    <p class="styled">Principal 365,000.00</p>
    <img src="http://{host}/img.png"><img src="file:///etc/passwd"><img src="../../../../etc/passwd">
    <object data="file:///etc/passwd"></object><embed src="http://{host}/embed">
    <iframe src="http://{host}/iframe"></iframe>
    </body></html>"""
    path = tmp_path / "document.pdf"
    path.write_bytes(documents.pdf_from_html(html))
    assert listener.requests == ["/control"]
    text = "".join(squeezed_pages(path))
    assert squeezed("COLLECTED Principal 365,000.00 STYLED BY A STATIC FILE") in text
    assert PASSWD_LINE not in text
    assert embedded_files(path).startswith("0 embedded files")
    refusals = [m for m in caplog.messages if m.startswith("document refused to fetch")]
    for url in (f"http://{host}/link.css", f"http://{host}/import.css", f"http://{host}/img.png", "file:///etc/passwd"):
        assert f"document refused to fetch {url!r}" in refusals


@pytest.mark.parametrize("length", [200, 300])
def test_a_long_holder_name_still_makes_a_statement_whose_title_and_file_name_fit(make_note, holder, length):
    note = make_note()
    name = ("Bartholomew Featherstonehaugh Cholmondeley " * 10)[:length]
    # The column holds 200 characters: a longer name is given the statement without being stored.
    Holder.objects.filter(pk=holder.pk).update(name=name[:200])
    holder.refresh_from_db()
    holder.name = name
    document = documents.statement_produce(holder=holder, month=date(2024, 2, 1))
    document.refresh_from_db()
    title_length = Document._meta.get_field("title").max_length
    assert len(document.title) == title_length and document.title.endswith("…")
    assert document.title.startswith("Statement 2024-02 Bartholomew Featherstonehaugh Cholmondeley")
    assert len(document.pdf.name) <= Document._meta.get_field("pdf").max_length
    assert Path(document.pdf.name).name == f"{slugify(document.title)[:60].strip('-')}-v1.pdf"
    text = "".join(squeezed_pages(document))
    rows = "".join(squeezed_pages(document, layout=True))
    assert squeezed(f"At Mar 1, 2024 ${note.principal:,.2f}") in rows
    assert squeezed("Statement for February 2024 · Bartholomew") in text  # the footer, cut to fit its line
    assert squeezed(name[:200]) in text  # the name in full below the letterhead, wrapped


def test_a_document_whose_row_is_refused_leaves_no_pdf_behind(make_note, holder, monkeypatch):
    make_note()

    def refused(self, *args, **kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(Document, "save", refused)
    with pytest.raises(IntegrityError):
        documents.statement_produce(holder=holder, month=date(2024, 2, 1))
    assert [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()] == []
