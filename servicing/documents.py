"""Documents: templates under templates/documents/ filled in from the records and printed to PDF by
WeasyPrint. Each PDF is stored with its HTML source, its SHA-256 and the records it speaks of, and
never altered: producing it again makes a new version.
"""

import dataclasses
import functools
import hashlib
import logging
import mimetypes
import re
import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils.text import slugify

from holders.models import Holder
from notes.models import CorporateAction, Issuer, Note, SupplementalAgreement
from servicing import clock, engine, selectors
from servicing.engine import keys
from servicing.engine.calendar import ONE_DAY
from servicing.models import (
    AccelerationNotice,
    Conversion,
    DefaultPeriod,
    Document,
    DocumentExhibit,
    LedgerEntry,
    NoteExhibit,
    Prepayment,
)
from servicing.month_ends import replay_through
from servicing.selectors import conversion_price_display, ledger_sums, note_events, note_terms
from servicing.services import fit, refuse
from servicing.statements import month_start, statement_for
from servicing.words import dollars_words, long_date, number_words, percent_words

Kind = Document.Kind
logger = logging.getLogger(__name__)

# The file name's slug, short enough that "documents/YYYY/MM/<slug>-v<version>.pdf", with the
# "_xxxxxxx" the storage adds when a name is taken, stays inside the FileField's 100 characters.
SLUG_LENGTH = 60
# The documents' stylesheet: base.html includes it, and the printer parses it once (_printer).
PRINT_CSS = "documents/print.css"
_printers = threading.local()


def static_roots() -> list[Path]:
    """The folders a document may take files from: the staticfiles finders' folders and STATIC_ROOT."""
    roots = [Path(settings.STATIC_ROOT)] if settings.STATIC_ROOT else []
    for finder in get_finders():
        roots += [Path(storage.location) for storage in getattr(finder, "storages", {}).values()]
    return [root.resolve() for root in roots]


def static_file_for(url: str) -> Path | None:
    """The project's static file a `file:` URL names, or None for any other URL. The path is
    resolved (symbolic links, `..`) before it is compared, so no URL climbs out of the folders."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    try:
        path = Path(url2pathname(parts.path)).resolve()
    except (OSError, ValueError):  # a NUL byte, a loop of links
        return None
    if path.is_file() and any(path.is_relative_to(root) for root in static_roots()):
        return path
    return None


@functools.cache
def _url_fetcher():
    # Imported when first needed: any part of weasyprint loads all of it, Pango included.
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticFilesFetcher(URLFetcher):
        """Gives WeasyPrint the project's static files and nothing else. Record text that slips a URL
        into a document must not make the server fetch it (an internal address, file:///etc/passwd);
        WeasyPrint skips a resource it cannot fetch and prints the rest."""

        def fetch(self, url, headers=None):
            path = static_file_for(url)
            if path is None:
                logger.warning("document refused to fetch %r", url)  # repr: a URL may hold newlines
                raise ValueError(f"documents include only the project's static files, not {url!r}")
            mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(path.as_uri(), body=path.open("rb"), headers={"Content-Type": mime_type})

    return StaticFilesFetcher()


def _printer() -> tuple:
    """The fonts and the documents' stylesheet, loaded and parsed once per thread (WeasyPrint would
    otherwise do both for every PDF; a font configuration is not shared between threads): the
    font configuration, the stylesheet as base.html includes it, and the stylesheet parsed."""
    if not hasattr(_printers, "printer"):
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        fonts = FontConfiguration()
        css = render_to_string(PRINT_CSS)
        _printers.printer = (
            fonts,
            f"<style>\n{css}</style>",
            CSS(string=css, font_config=fonts, url_fetcher=_url_fetcher()),
        )
    return _printers.printer


# Archival PDF (issue 12, section 7): PDF/A-3u, with the structure tagged for screen readers and
# text extraction. WeasyPrint embeds the fonts (DejaVu) and adds the sRGB output intent PDF/A needs.
ARCHIVAL = {"pdf_variant": "pdf/a-3u", "pdf_tags": True}


def pdf_from_html(html: str, *, title: str = "", author: str = "", tagged: bool = True) -> bytes:
    """The HTML printed as an archival PDF (ARCHIVAL; untagged when not `tagged`) whose metadata
    name `title` and `author` (when given; otherwise the HTML's <title> and no author)."""
    from weasyprint import HTML  # imported when first needed: it loads Pango

    fonts, style, parsed = _printer()
    # The stored HTML keeps the stylesheet, so that it is a whole record that prints the same on its
    # own; the printer is given the stylesheet parsed already instead. (Given so, it is a "user"
    # stylesheet, below the document's own rules in the cascade; the documents have none but
    # style attributes, which win over a stylesheet either way.)
    stylesheets = []
    if style in html:
        html, stylesheets = html.replace(style, "", 1), [parsed]
    page = HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=_url_fetcher())
    options = ARCHIVAL | ({} if tagged else {"pdf_tags": False})
    printed = page.render(font_config=fonts, stylesheets=stylesheets, **options)
    if title:
        printed.metadata.title = title
    if author:
        printed.metadata.authors = [author]
    return printed.write_pdf(**options)


def cut(text: str, length: int) -> str:
    """`text` on one line, cut to `length` characters with an ellipsis when longer."""
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


# Who speaks in each kind of document (its PDF's author): the holder gives the notices of
# conversion and of default; the servicer sends the statements; the company the rest.
HOLDER_WRITES = {Kind.CONVERSION_NOTICE, Kind.DEFAULT_NOTICE}


def document_author(kind: str, *, note: Note | None = None, holder: Holder | None = None) -> str:
    if kind == Kind.STATEMENT:
        return getattr(settings, "SERVICER_NAME", "")
    if kind in HOLDER_WRITES:
        return (holder or note.holder).name
    return note.issuer.name


@transaction.atomic
def document_create(
    *, kind: str, subject: str, title: str, template: str, context: dict, by=None, job="", exhibits=(), **links
):
    """Render `template`, print it, and store it as the next version of `subject`; `exhibits`
    (NoteExhibit) are joined after its last page, each behind a cover page."""
    html = render_to_string(template, context)
    title = cut(title, Document._meta.get_field("title").max_length)
    pdf = pdf_from_html(
        html, title=title, author=document_author(kind, note=links.get("note"), holder=links.get("holder"))
    )
    if exhibits:
        pdf = exhibits_joined(pdf, exhibits, context)
    latest = Document.objects.filter(subject=subject).aggregate(v=Max("version"))["v"] or 0
    document = Document(
        kind=kind,
        subject=subject,
        version=latest + 1,
        title=title,
        html=html,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
        created_by=by,
        job=job,
        **links,
    )
    slug = slugify(document.title)[:SLUG_LENGTH].strip("-") or kind
    document.pdf.save(f"{slug}-v{document.version}.pdf", ContentFile(pdf), save=False)
    try:
        document.save()
        DocumentExhibit.objects.bulk_create(DocumentExhibit(document=document, exhibit=e) for e in exhibits)
    except BaseException:
        # A row that fails (a version taken meanwhile, a value too long) leaves no PDF behind that
        # no row speaks of.
        document.pdf.delete(save=False)
        raise
    return document


# ---------------------------------------------------------------------------------------------------
# Exhibits (issue 12, section 8): PDFs staff attach to a note, carried by its agreement.

EXHIBIT_MAX_BYTES = 20 * 1024 * 1024
EXHIBIT_MAX_PAGES = 300
EXHIBIT_LABEL = re.compile(r"[A-Z0-9]{1,3}(-[A-Z0-9]{1,3})?")
# The PDF/A identification in a file's XMP, as attributes or as elements.
PDFAID = re.compile(rb"pdfaid:(part|conformance)\s*(?:=\s*[\"']([^\"']*)[\"']|>\s*([^<]*?)\s*<)")
PDFAID_DESCRIPTION = re.compile(rb"<rdf:Description[^>]*pdfaid:[^>]*/>")


def _pdfa_level(reader) -> str:
    """The PDF/A part and level a file declares in its XMP ("3U", "1B"), or ""."""
    metadata = reader.trailer["/Root"].get("/Metadata")
    if metadata is None:
        return ""
    found = {
        m[1]: (m[2] or m[3]).decode("ascii", "replace").strip()
        for m in PDFAID.finditer(metadata.get_object().get_data())
    }
    return (found.get(b"part", "") + found.get(b"conformance", "")).upper()[:4] if found.get(b"part") else ""


def exhibit_read(content: bytes) -> tuple[int, str]:
    """The pages of an exhibit's PDF and the PDF/A level it declares; refused at `pdf` unless it is
    a PDF, unencrypted, within EXHIBIT_MAX_BYTES and EXHIBIT_MAX_PAGES, whose pages can be joined."""
    from pypdf import PdfReader, PdfWriter

    if len(content) > EXHIBIT_MAX_BYTES:
        raise refuse("pdf", f"is larger than {EXHIBIT_MAX_BYTES // 2**20} MB, the most an exhibit may be")
    if not content.startswith(b"%PDF-"):
        raise refuse("pdf", "is not a PDF (a PDF file begins with %PDF-): attach the exhibit as a PDF")
    try:
        reader = PdfReader(BytesIO(content))
        if reader.is_encrypted:
            raise refuse("pdf", "is encrypted: attach a copy without a password or restrictions")
        pages = len(reader.pages)
        if not 1 <= pages <= EXHIBIT_MAX_PAGES:
            raise refuse("pdf", f"has {pages} pages; an exhibit has 1 to {EXHIBIT_MAX_PAGES}")
        writer = PdfWriter()  # joined once now, so that the agreement can always join it
        for page in reader.pages:
            writer.add_page(page)
        writer.write(BytesIO())
        level = _pdfa_level(reader)
    except ValidationError:
        raise
    except Exception as e:  # pypdf's errors, and what a damaged file raises inside it
        logger.info("exhibit refused: %r", e)
        raise refuse("pdf", "is damaged or not a PDF that can be read (pypdf could not read its pages)") from e
    return pages, level


@transaction.atomic
def exhibit_attach(*, note: Note, label: str, title: str, content: bytes, by=None, job="") -> NoteExhibit:
    """Attach `content` (a PDF) to `note` as Exhibit `label`. The file is stored under its SHA-256,
    so a dry run (the admin's form) and the attachment write the same file."""
    label = label.strip().upper()
    title = title.strip()
    if not EXHIBIT_LABEL.fullmatch(label):
        raise refuse("label", 'is a letter or number as the agreement names the exhibit ("A", "B", "1", "A-1")')
    if not title:
        raise refuse("title", "is required: the exhibit's title as its cover page prints it")
    taken = refuse("label", f"{note} has an Exhibit {label} already: delete it first to attach another")
    if NoteExhibit.objects.filter(note=note, label=label).exists():
        raise taken
    pages, level = exhibit_read(content)
    exhibit = NoteExhibit(
        note=note,
        label=label,
        title=title,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        pages=pages,
        pdfa=level,
        uploaded_by=by,
        job=job,
    )
    fit(exhibit)
    name = f"exhibits/{exhibit.sha256}.pdf"
    if not exhibit.pdf.storage.exists(name):
        name = exhibit.pdf.storage.save(name, ContentFile(content))
    exhibit.pdf.name = name
    try:
        with transaction.atomic():
            exhibit.save()
    except IntegrityError:  # the same label attached by another request since the check above
        raise taken from None
    return exhibit


def _keeps_pdfa_3u(level: str) -> bool:
    """Pages of a file of this PDF/A level keep a PDF/A-3u file one: PDF/A at level U or A (text
    mapped to Unicode, as U requires), or PDF/A-4 (which requires it of every level). Level B does
    not promise the Unicode mapping."""
    return level.endswith(("U", "A")) or level.startswith("4")


def exhibits_joined(pdf: bytes, exhibits, context: dict) -> bytes:
    """`pdf` with each exhibit's pages after it, each behind a cover page ("EXHIBIT A", its title).
    The joined file keeps the document's tags and metadata; it still declares PDF/A-3u only when
    every exhibit declares a PDF/A that keeps it so (_keeps_pdfa_3u): pages from another PDF are
    copied as they are, and one that is not (a font not embedded, text not mapped to Unicode)
    would make the claim untrue."""
    from pypdf import PdfReader, PdfWriter

    cover_html = render_to_string("documents/exhibit_cover.html", context | {"exhibits": exhibits})
    covers = PdfReader(BytesIO(pdf_from_html(cover_html, tagged=False)))
    writer = PdfWriter(clone_from=BytesIO(pdf))
    for cover, exhibit in zip(covers.pages, exhibits, strict=True):
        writer.add_page(cover)
        with exhibit.pdf.open("rb") as f:
            content = f.read()
        if hashlib.sha256(content).hexdigest() != exhibit.sha256:
            raise refuse("exhibits", f"the file of {exhibit} is not the one attached (its SHA-256 differs)")
        for page in PdfReader(BytesIO(content)).pages:
            _page_inert(page)  # before it is copied: what it loses is then not copied either
            writer.add_page(page)
    if not all(_keeps_pdfa_3u(e.pdfa) for e in exhibits):
        metadata = writer.root_object["/Metadata"].get_object()
        metadata.set_data(PDFAID_DESCRIPTION.sub(b"", metadata.get_data()))
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _page_inert(page) -> None:
    """An exhibit's page copied into the agreement, without what would act or mislead there: its
    key into its own file's structure tree (in the agreement's tree the same key names the
    agreement's paragraphs), and actions that run when the page opens or a link is clicked (a link
    keeps only a plain web or e-mail address, _plain_link), and annotations that carry a file or
    play media (CARRYING): the agreement would otherwise hand on a file no one reviewed."""
    from pypdf.generic import ArrayObject, NameObject

    for key in ("/StructParents", "/AA"):
        page.pop(NameObject(key), None)
    kept = ArrayObject()
    for reference in page.get("/Annots") or []:
        annotation = reference.get_object()
        if annotation.get("/Subtype") in CARRYING:
            continue
        annotation.pop(NameObject("/AA"), None)
        action = annotation.get("/A")
        if action is not None and not _plain_link(action.get_object()):
            annotation.pop(NameObject("/A"), None)
        kept.append(reference)
    if "/Annots" in page:
        page[NameObject("/Annots")] = kept


# Annotations an exhibit's page loses: each embeds a file, a sound, a movie or a 3D model.
CARRYING = {"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"}


# The links an exhibit's page keeps: to a web page or an e-mail address.
LINK_SCHEMES = ("http://", "https://", "mailto:")


def _plain_link(action) -> bool:
    """A link that only opens an address: a URI action to the web or an e-mail address, with no
    further action chained after it (/Next runs whatever it names, a script too, once clicked)."""
    uri = str(action.get("/URI", "")).strip().lower()
    return action.get("/S") == "/URI" and "/Next" not in action and uri.startswith(LINK_SCHEMES)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class Party:
    """A party as a document names it and as it signs: an individual signs in their own name; an
    entity signs "By: / Name: / Title:" through its signatory."""

    name: str
    is_entity: bool
    description: str  # "an individual", "a Delaware limited liability company", "a Delaware corporation"
    address_lines: list[str]
    signatory_name: str = ""
    signatory_title: str = ""


def _required(missing: list[str], who: str, facts: dict[str, str]) -> None:
    missing += [f"{who}'s {what}" for what, value in facts.items() if not value.strip()]


def _a(words: str) -> str:
    return f"{'an' if words[:1].lower() in 'aeiou' else 'a'} {words}"


def party_of_holder(
    holder: Holder, missing: list[str], *, who: str = "holder", described: bool = True, signs: bool = True
) -> Party:
    """The holder (or an assignee) as a party; each fact a document would print blank is added to
    `missing` instead. Every document prints the holder's notice address; one that names the
    holder "a Delaware limited liability company" needs the entity's type and state (`described`),
    and one the holder signs needs the entity's signatory (`signs`)."""
    facts = {"notice address": holder.notice_address}
    entity = holder.kind == Holder.Kind.ENTITY
    if entity and described:
        facts |= {"entity type": holder.entity_type, "state of organization": holder.organized_in}
    if entity and signs:
        facts |= {"signatory name": holder.signatory_name, "signatory title": holder.signatory_title}
    _required(missing, f"{who} {holder.name}", facts)
    return Party(
        name=holder.name,
        is_entity=entity,
        description=_a(f"{holder.organized_in} {holder.entity_type}") if entity else "an individual",
        address_lines=_lines(holder.notice_address),
        signatory_name=holder.signatory_name,
        signatory_title=holder.signatory_title,
    )


def party_of_issuer(issuer: Issuer, missing: list[str], *, described: bool = True, signs: bool = True) -> Party:
    """The Company, a corporation (the agreement's own words), signing through its officer. Every
    document prints its notice address; "a Delaware corporation" needs the state (`described`),
    and one the company signs needs its officer's name and title (`signs`)."""
    return _corporation(
        f"issuer {issuer.name}",
        issuer.name,
        issuer.jurisdiction,
        issuer.notice_address,
        issuer.signatory_name,
        issuer.signatory_title,
        missing,
        described=described,
        signs=signs,
    )


def party_of_successor(action: CorporateAction, missing: list[str]) -> Party:
    """The successor or purchasing corporation of a merger or sale, which executes the supplemental
    agreement in the Company's place (section 5)."""
    return _corporation(
        f"successor {action.successor}",
        action.successor,
        action.successor_jurisdiction,
        action.successor_notice_address,
        action.successor_signatory_name,
        action.successor_signatory_title,
        missing,
    )


def _corporation(
    who: str,
    name: str,
    state: str,
    address: str,
    signatory_name: str,
    signatory_title: str,
    missing: list[str],
    *,
    described: bool = True,
    signs: bool = True,
) -> Party:
    """A corporation as a party ("a Delaware corporation"), signing through its officer; the facts a
    document prints of it that are blank go to `missing` (`who` names it there)."""
    facts = {"notice address": address}
    if described:
        facts["state of incorporation"] = state
    if signs:
        facts |= {"signatory name": signatory_name, "signatory title": signatory_title}
    _required(missing, who, facts)
    return Party(
        name=name,
        is_entity=True,
        description=f"a {state} corporation",
        address_lines=_lines(address),
        signatory_name=signatory_name,
        signatory_title=signatory_title,
    )


def refuse_missing(document: str, missing: list[str]) -> None:
    """Refuse a document whose facts are not all on record, naming every one that is missing: a
    blank in a legal document is never filled with a dash or a default."""
    if missing:
        raise refuse("document", f"the {document} cannot be produced until these are recorded: {'; '.join(missing)}")


def _parties(
    note: Note,
    document: str,
    *,
    described: bool = True,
    company_signs: bool = True,
    holder_signs: bool = True,
    missing: list[str] | None = None,
) -> dict:
    """The parties of `note` as `document` names them; refused, naming every one, when a fact it
    prints is missing (with those already in `missing`, a third party's). No date: each document
    is dated as of the day it speaks of, and says so itself."""
    missing = [] if missing is None else missing
    company = party_of_issuer(note.issuer, missing, described=described, signs=company_signs)
    holder = party_of_holder(note.holder, missing, described=described, signs=holder_signs)
    refuse_missing(document, missing)
    return {
        "note": note,
        "issuer": note.issuer,
        "holder": note.holder,
        "company": company,
        "holder_party": holder,
        "issuer_address": company.address_lines,
        "holder_address_lines": holder.address_lines,
    }


# The exhibits the agreement's text says are attached: section 4(c), the Registration Rights Agreement.
AGREEMENT_EXHIBITS = {"A": "the Registration Rights Agreement (section 4(c))"}


def agreement_exhibits(note: Note) -> list[NoteExhibit]:
    """The note's exhibits in the agreement's order (A, B, … Z, AA); refused, naming what is missing,
    without each exhibit the agreement's text says is attached hereto."""
    exhibits = sorted(note.exhibits.all(), key=lambda e: (len(e.label), e.label))
    missing = [
        f"Exhibit {label}, {what}"
        for label, what in AGREEMENT_EXHIBITS.items()
        if label not in {e.label for e in exhibits}
    ]
    if missing:
        raise refuse(
            "exhibits",
            f"the agreement says {' and '.join(missing)} is attached hereto; attach it to {note} first",
        )
    return exhibits


def agreement_produce(*, note: Note, by=None, job="") -> Document:
    """The Convertible Note Agreement with every blank filled in from the note, dated its date, and
    its exhibits after the signature page."""
    # One refusal names every fact and exhibit missing, not the first found.
    refusals: dict[str, list[str]] = {}
    try:
        parties = _parties(note, "Convertible Note Agreement")
    except ValidationError as e:
        refusals |= e.message_dict
    try:
        exhibits = agreement_exhibits(note)
    except ValidationError as e:
        refusals |= e.message_dict
    if refusals:
        raise ValidationError(refusals)
    first_bill = engine.accrual.next_due_date(note.agreement_date, note.calendar)
    title = f"Convertible Note Agreement {note.number}"
    context = parties | {
        "title": title,
        "agreement_date": long_date(note.agreement_date),
        "maturity": long_date(note.maturity_date),
        "principal_words": dollars_words(note.principal),
        "rate_words": percent_words(note.rate),
        "spread_words": percent_words(note.default_rate_spread),
        "premium_words": percent_words(note.conversion_premium),
        "lockout_words": number_words(note.prepayment_lockout_months),
        "first_interest_date": long_date(first_bill),
    }
    return document_create(
        kind=Kind.AGREEMENT,
        subject=f"agreement:{note.pk}",
        title=title,
        template="documents/agreement.html",
        context=context,
        exhibits=exhibits,
        note=note,
        holder=note.holder,
        by=by,
        job=job,
    )


def conversion_notice_produce(*, conversion: Conversion, by=None, job="") -> Document:
    """The holder's notice of conversion (4(b)), filled in for the holder to sign, dated the day it
    is sent."""
    note = conversion.note
    sent_on = long_date(conversion.notice.sent_on)
    title = f"Notice of conversion {note.number}, dated {sent_on}"
    # Addressed to the Company and signed by the holder: the company's officer signs nothing here.
    context = _parties(note, "notice of conversion", described=False, company_signs=False) | {
        "title": title,
        "conversion": conversion,
        "notice": conversion.notice,
        "sent_on": sent_on,
        "deemed_received_on": long_date(conversion.notice.deemed_received_on),
        "agreement_date": long_date(note.agreement_date),
        "principal": conversion.principal_requested,
    }
    return document_create(
        kind=Kind.CONVERSION_NOTICE,
        subject=f"conversion-notice:{conversion.pk}",
        title=title,
        template="documents/conversion_notice.html",
        context=context,
        note=note,
        holder=note.holder,
        conversion=conversion,
        by=by,
        job=job,
    )


def conversion_confirmation_produce(*, conversion: Conversion, by=None, job="") -> Document:
    """The company's confirmation of a conversion carried out, with its calculation (4(a), 4(b)),
    dated as of the Conversion Date: its figures are those of that day."""
    note = conversion.note
    if conversion.status != Conversion.Status.CONVERTED:
        raise refuse("conversion", f"this conversion is {conversion.get_status_display().lower()}, not converted")
    closes = list(note.reference_closes.order_by("date"))
    conversion_date = long_date(conversion.conversion_date)
    title = f"Confirmation of conversion {note.number}, as of {conversion_date}"
    context = _parties(note, "confirmation of conversion", described=False, holder_signs=False) | {
        "title": title,
        "conversion": conversion,
        "closes": closes,
        "closes_words": number_words(len(closes)),
        # Shown to the conversion price's six places; the price itself is figured from it unrounded.
        "average": engine.conversion.price_display(engine.conversion.reference_average([c.close for c in closes]))
        if closes
        else None,
        "price": conversion_price_display(note),
        "agreement_date": long_date(note.agreement_date),
        "conversion_date": conversion_date,
        "principal_left": ledger_sums(
            LedgerEntry.objects.filter(note=note, effective_on__lte=conversion.conversion_date)
        )["principal"],
    }
    return document_create(
        kind=Kind.CONVERSION_CONFIRMATION,
        subject=f"conversion-confirmation:{conversion.pk}",
        title=title,
        template="documents/conversion_confirmation.html",
        context=context,
        note=note,
        holder=note.holder,
        conversion=conversion,
        by=by,
        job=job,
    )


def _as_known_on(events: list[engine.Event], day: date) -> list[engine.Event]:
    """The events as they stood at the end of `day`: those that had taken effect, and a cure or a
    waiver only if it had come by then."""
    known = []
    for e in events:
        if engine.events.effective_on(e) > day:
            continue
        if isinstance(e, engine.CovenantBreach) and e.cured_on and e.cured_on > day:
            e = dataclasses.replace(e, cured_on=None)
        if isinstance(e, engine.Misrepresentation) and e.waived_on and e.waived_on > day:
            e = dataclasses.replace(e, waived_on=None)
        known.append(e)
    return known


def prepayment_quote(prepayment: Prepayment) -> engine.PrepaymentDone | None:
    """What the prepayment pays on its date, as the notice states it: from the payments, notices
    and defaults in effect on the day the notice is sent, with nothing paid after it."""
    note = prepayment.note
    others = [e for e in note_events(note) if not (isinstance(e, engine.Prepayment) and e.ref == str(prepayment.pk))]
    events = [*_as_known_on(others, prepayment.notice.sent_on), selectors.prepayment_event(prepayment)]
    result = engine.run(note_terms(note), events, prepayment.prepayment_date, strict=False)
    return next((p for p in result.prepayments if p.ref == str(prepayment.pk)), None)


def prepayment_notice_produce(*, prepayment: Prepayment, by=None, job="") -> Document:
    """The company's written notice of prepayment (section 3), with the holder's conversion window,
    dated the day it is sent, its amounts calculated as of that day."""
    note = prepayment.note
    sent_on = long_date(prepayment.notice.sent_on)
    title = f"Notice of prepayment {note.number}, dated {sent_on}"
    context = _parties(note, "notice of prepayment", described=False, holder_signs=False) | {
        "title": title,
        "prepayment": prepayment,
        "notice": prepayment.notice,
        "sent_on": sent_on,
        "quote": prepayment_quote(prepayment),
        "agreement_date": long_date(note.agreement_date),
        "window_start": long_date(prepayment.notice.deemed_received_on),
        "window_end": long_date(prepayment.window_end),
        "prepayment_date": long_date(prepayment.prepayment_date),
    }
    return document_create(
        kind=Kind.PREPAYMENT_NOTICE,
        subject=f"prepayment-notice:{prepayment.pk}",
        title=title,
        template="documents/prepayment_notice.html",
        context=context,
        note=note,
        holder=note.holder,
        prepayment=prepayment,
        by=by,
        job=job,
    )


@dataclass(frozen=True)
class MissedPayment:
    """A payment of principal or interest unpaid at the end of its due date (7(a)(i))."""

    what: str
    due_on: date
    unpaid: Decimal


# The heading of each kind of default, and the subsection of 7(a) that makes it an Event of Default.
DEFAULT_HEADINGS = {
    "payment": "Non-payment of principal or interest (Section 7(a)(i))",
    "covenant": "Breach of covenant (Section 7(a)(ii))",
    "insolvency": "Insolvency (Section 7(a)(iii))",
    "misrepresentation": "Misrepresentation (Section 7(a)(iv))",
}


def _missed_payments(state: engine.State, day: date) -> list[MissedPayment]:
    """What is unpaid at the end of `day` after its due date (engine.defaults, the same test as the
    balances' past due): each period's interest and default interest, and principal due."""
    missed = []
    for item in sorted(engine.defaults.past_due_items(state, day + ONE_DAY), key=lambda i: (i.due_date, i.key)):
        what = "Default interest" if item.account == "default_interest" else "Interest"
        # A period is billed the day after it ends (engine.accrual.bill), and never runs past a month end.
        start, end = keys.period_start(item.key), item.billed_on - ONE_DAY
        period = long_date(end) if start == end else f"{start:%B} {start.day} to {end.day}, {end.year}"
        missed.append(MissedPayment(f"{what}, {period}", item.due_date, item.unpaid))
    if engine.defaults.principal_past_due(state, day + ONE_DAY):
        accelerated = state.acceleration is not None and state.principal_due_on == state.acceleration.date
        why = "on acceleration" if accelerated else "at maturity"
        missed.append(MissedPayment(f"Principal, due {why}", state.principal_due_on, state.principal))
    return missed


def _default_ended(d: selectors.DefaultOnDay) -> str:
    what = {"payment": "the payment default", "covenant": "the covenant breach"}.get(d.kind, f"the {d.kind}")
    return f"{what} from {long_date(d.began_on)} was {d.how_ended} on {long_date(d.ended_on)}"


def _notice_date(
    note: Note, terms: engine.Terms, acceleration_notice: AccelerationNotice | None, as_of: date | None
) -> date:
    """The day the notice speaks as of: an acceleration notice's own date, else the day chosen (not
    in the future, not before the agreement), else today."""
    if acceleration_notice is not None:
        sent_on = acceleration_notice.notice.sent_on
        if acceleration_notice.note_id != note.pk:
            raise refuse("acceleration_notice", f"this notice of acceleration is for another note than {note}")
        if as_of is not None and as_of != sent_on:
            raise refuse("as_of", f"a notice of acceleration is dated the day it is sent, {long_date(sent_on)}")
        return sent_on
    day = as_of or clock.today()
    if day > clock.today():
        raise refuse("as_of", f"the notice date {day} is in the future (today is {clock.today()})")
    if day < note.agreement_date:
        raise refuse("as_of", f"the notice date {day} is before the agreement date {note.agreement_date}")
    last_day = terms.last_day
    if day > last_day:
        raise refuse("as_of", f"the notice date {day} is past {last_day}, the last day this note is replayed to")
    return day


def default_notice_produce(
    *,
    note: Note,
    acceleration_notice: AccelerationNotice | None = None,
    as_of: date | None = None,
    by=None,
    job="",
) -> Document:
    """The holder's notice of default (section 7) as of one day, and with `acceleration_notice` its
    declaration of acceleration (7(y)). Dated the acceleration notice's sending, else `as_of`, else
    today; refused unless an Event of Default continues on that day. Its figures are the note's
    replayed through the end of that day, so nothing later is in them."""
    terms = note_terms(note)
    day = _notice_date(note, terms, acceleration_notice, as_of)
    parties = _parties(note, "notice of default")
    events = note_events(note)
    if acceleration_notice is None:
        result = replay_through(note, terms, events, day)
    else:
        # A declaration speaks of the Events of Default it rests on and of what is owed before it
        # takes effect (7(y)): replayed without its own acceleration (from the note's first day, as a
        # kept month-end state may hold it), whatever it makes due is what it declares, not a default.
        ref = str(acceleration_notice.pk)
        events = [e for e in events if not (isinstance(e, engine.AccelerationNotice) and e.ref == ref)]
        result = engine.run(terms, events, day, strict=False)
    found = selectors.defaults_on(note, terms, result, day)
    continuing = [d for d in found if d.began_on is not None and d.ended_on is None]
    if not continuing:
        reasons = [_default_ended(d) for d in found if d.ended_on is not None] or ["none has occurred"]
        reasons += [
            f"the covenant breach of {long_date(d.occurred_on)} becomes one if it continues through "
            f"{long_date(d.cure_deadline)} (Section 7(a)(ii))"
            for d in found
            if d.began_on is None
        ]
        raise refuse("as_of", f"no Event of Default continues on {long_date(day)}: {'; '.join(reasons)}")
    state = result.state
    acceleration = state.acceleration
    if acceleration_notice is not None:
        if acceleration_notice.status in (AccelerationNotice.Status.NO_EFFECT, AccelerationNotice.Status.REFUSED):
            why = acceleration_notice.refusal or acceleration_notice.get_status_display().lower()
            raise refuse("acceleration_notice", f"this notice of acceleration has no effect: {why}")
        if acceleration is not None:
            raise refuse(
                "acceleration_notice",
                f"the note was already accelerated on {long_date(acceleration.date)}; this notice has no effect",
            )
    declares = acceleration_notice is not None
    automatic = acceleration is not None and acceleration.kind == "automatic"
    heading = "Notice of Default and Acceleration" if declares or automatic else "Notice of Default"
    earlier_notice = None
    if acceleration is not None and acceleration.kind == "holder_notice" and not declares:
        earlier_notice = AccelerationNotice.objects.select_related("notice").filter(pk=acceleration.ref).first()
    balances = result.balances
    context = parties | {
        "heading": heading,
        # The <title>, the footer and the Document's title are one text.
        "title": f"{heading} · {note.number} · {long_date(day)}",
        "notice_date": long_date(day),
        "agreement_date": long_date(note.agreement_date),
        "continuing": [(d, DEFAULT_HEADINGS[d.kind]) for d in continuing],
        "pending": [d for d in found if d.began_on is None],
        "history": [(DefaultPeriod.Kind(d.kind).label, d) for d in found if d.ended_on is not None],
        "missed": _missed_payments(state, day),
        "balances": balances,
        "accrued_from": long_date(state.period_start) if state.period_start <= day else "",
        "acceleration": acceleration,
        "acceleration_notice": acceleration_notice,
        "earlier_notice": earlier_notice,
        "automatic": automatic,
        "spread_words": percent_words(note.default_rate_spread),
        "default_rate": terms.default_rate,
        "uncapped_rate": note.rate + note.default_rate_spread,
        "capped": terms.default_rate < note.rate + note.default_rate_spread,
    }
    subject = f"acceleration-notice:{acceleration_notice.pk}" if declares else f"default-notice:{note.pk}:{day}"
    return document_create(
        kind=Kind.DEFAULT_NOTICE,
        subject=subject,
        title=context["title"],
        template="documents/default_notice.html",
        context=context,
        note=note,
        holder=note.holder,
        acceleration_notice=acceleration_notice,
        by=by,
        job=job,
    )


def _supplemental_context(agreement: SupplementalAgreement, note: Note) -> dict:
    """The supplemental agreement's parties and figures, as of its effective date; refused, naming
    every missing fact, when the signer's (the successor's, or the company's) or the holder's are
    not on record."""
    action = agreement.action
    missing: list[str] = []
    successor = party_of_successor(action, missing) if action.successor.strip() else None
    context = _parties(
        note, f"supplemental agreement for note {note.number}", company_signs=successor is None, missing=missing
    )
    # The illustration's principal is the one on the effective date, or, while the note's books are
    # not yet closed through that day, on the last day they are (and the document says which).
    principal_on = min(agreement.effective_on, note.closed_through or agreement.effective_on)
    principal = ledger_sums(LedgerEntry.objects.filter(note=note, effective_on__lte=principal_on))["principal"]
    shares = engine.conversion.shares_for(principal, note.conversion_price)
    effective = long_date(agreement.effective_on)
    return context | {
        "title": f"Supplemental agreement {note.number}, as of {effective}",
        "agreement": agreement,
        "action": action,
        "successor": successor,
        "signer": successor or context["company"],
        "securities": [(s, engine.conversion.successor_units(shares, s.per_share)) for s in action.securities.all()],
        "principal_on": long_date(principal_on),
        "principal_on_effective": principal,
        "shares_for_principal": shares,
        "effective": effective,
        "agreement_date": long_date(note.agreement_date),
    }


def supplemental_agreement_produce(
    *, agreement: SupplementalAgreement, note: Note, by=None, job="", context: dict | None = None
) -> Document:
    """The supplemental agreement of section 5 for one note: what it converts into from its
    effective date, executed by the successor (or the Company) and acknowledged by the holder.
    `context`: the one `_supplemental_context` gave already (supplemental_agreements_produce)."""
    context = context or _supplemental_context(agreement, note)
    return document_create(
        kind=Kind.SUPPLEMENTAL_AGREEMENT,
        subject=f"supplemental:{agreement.pk}:{note.pk}",
        title=context["title"],
        template="documents/supplemental_agreement.html",
        context=context,
        note=note,
        holder=note.holder,
        supplemental_agreement=agreement,
        by=by,
        job=job,
    )


def supplemental_agreements_produce(*, agreement: SupplementalAgreement, by=None, job="") -> list[Document]:
    """The supplemental agreement of each of its notes, or none: every note's facts are checked
    before the first is printed, so that a refusal names them all and leaves nothing half done."""
    notes = list(agreement.notes.select_related("issuer", "holder").order_by("pk"))
    if not notes:
        raise refuse("notes", f"{agreement} applies to no note")
    reasons, contexts = [], []
    for note in notes:
        try:
            contexts.append(_supplemental_context(agreement, note))
        except ValidationError as e:
            reasons += e.messages
    if reasons:
        raise ValidationError({"document": reasons})
    return [
        supplemental_agreement_produce(agreement=agreement, note=note, by=by, job=job, context=context)
        for note, context in zip(notes, contexts, strict=True)
    ]


def statement_produce(*, holder: Holder, month: date, statement=None, by=None, job="") -> Document:
    """The holder's monthly statement (product.md, "Statements"), every figure as of the end of its
    statement date (servicing.statements)."""
    month = month_start(month)
    statement = statement or statement_for(holder, month)
    if not statement.notes:
        raise refuse("holder", f"{holder} has nothing to report for {month:%B %Y}: no statement is made")
    return document_create(
        kind=Kind.STATEMENT,
        subject=f"statement:{holder.pk}:{month:%Y-%m}",
        title=f"Statement {month:%Y-%m} {holder.name}",
        template="documents/statement.html",
        context={"statement": statement, "holder": holder, "month": month},
        holder=holder,
        month=month,
        by=by,
        job=job,
    )
