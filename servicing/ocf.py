"""Open Cap Format 1.2.0: an issuer's book as an OCF package, and a package read back.

The package is a manifest (`OCFManifestFile`) naming a stakeholders file, a stock classes file (the
issuer's common stock, which notes convert into and warrants buy) and a transactions file:

- each note a convertible issuance (`TX_CONVERTIBLE_ISSUANCE`, type NOTE): the principal as the
  investment amount, the holder's election to convert at will (section 4(a)) through a
  `CONVERTIBLE_NOTE_CONVERSION` mechanism with the rate, Actual/365, simple interest accruing daily
  and paid in cash. OCF 1.2.0 has no field for a fixed conversion price or a maturity date: they are
  in the trigger's description and, with the other terms OCF has no field for, in the issuance's
  `comments` as `name=JSON value` lines, which `import_ocf` reads back;
- each approved assignment a convertible transfer to the substitute notes, each conversion a
  convertible conversion into a stock issuance of the shares; what is left of a note after a partial
  transfer or conversion is, as OCF wants, a new convertible (the "balance" security);
- each warrant a warrant issuance, each approved warrant assignment a warrant transfer, each
  approved exercise a warrant exercise into a stock issuance.

Ids are derived from the records' natural keys (a note's number, a holder's name and e-mail), never
from database keys, so two exports of the same book, or of the book re-imported, give the same ids.

`import_package` reads a package into a database that does not have its issuer: the issuer, every
stakeholder as a holder, every note issued by the issuer (not those resulting from a transfer) through
`note_create`, every warrant through `warrant_issue`, and each transfer recorded pending approval,
like any other assignment. Conversions and exercises are not imported: their shares depend on the
payments and notices, which OCF does not carry.
"""

import hashlib
import io
import json
import re
import uuid
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from holders.models import Holder
from holders.services import holder_create
from notes.models import Approval, Assignment, Issuer, Note, Warrant, WarrantAssignment
from servicing import clock, lifecycle, services
from servicing.models import Conversion

OCF_VERSION = "1.2.0"
# The namespace of the uuid5 ids (of issuers and holders); fixed once, never to change.
NAMESPACE = uuid.UUID("6f0c3f52-8f3e-5c55-9d7c-5a1f0b8e2a41")
MANIFEST = "manifest.ocf.json"
STAKEHOLDERS = "stakeholders.ocf.json"
STOCK_CLASSES = "stock_classes.ocf.json"
TRANSACTIONS = "transactions.ocf.json"
USD = "USD"
JOB = "import_ocf"
MAX_BYTES = 64 * 2**20  # a package file read back: far more than a book of ten thousand notes writes
STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA", "colorado": "CO",
    "connecticut": "CT", "delaware": "DE", "district of columbia": "DC", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA", "kansas": "KS",
    "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD", "massachusetts": "MA",
    "michigan": "MI", "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT",
    "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM",
    "new york": "NY", "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK",
    "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC", "south dakota": "SD",
    "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
}  # fmt: skip
# The last line of a US notice address: "Stamford, CT 06902".
US_CITY_LINE = re.compile(r"^(?P<city>[^,\n]+), (?P<state>[A-Z]{2}) (?P<zip>\d{5}(?:-\d{4})?)$")
PHONE = re.compile(r"^\+\d{1,3}\s\d{2,3}\s\d{2,3}\s\d{4}(\s(ext.|extension)\s\d+)?$")
NOTE_TERMS = (
    "maturity_date",
    "conversion_price",
    "conversion_premium",
    "default_rate_spread",
    "max_lawful_rate",
    "prepayment_lockout_months",
    "calendar",
)
# kind and e-mail are in the stakeholder's own fields; the notice address is also kept whole here.
HOLDER_FACTS = ("notice_address", "telecopy", "entity_type", "organized_in", "signatory_name", "signatory_title")
ISSUER_FACTS = ("jurisdiction", "notice_address", "signatory_name", "signatory_title")


class PackageError(Exception):
    """A package that cannot be read, or read into this database."""


# Writing ------------------------------------------------------------------------------------------


def numeric(value) -> str:
    """A number as OCF's Numeric string: digits, at most 10 decimal places, no exponent."""
    value = Decimal(value)
    if value.as_tuple().exponent < -10:
        value = value.quantize(Decimal("1E-10"))
    return format(value.normalize(), "f")


def money(value: Decimal) -> dict:
    """An amount of money as stored, to the cent ("250000.00")."""
    value = Decimal(value)
    return {"amount": format(value, "f") if value.as_tuple().exponent >= -2 else numeric(value), "currency": USD}


def price(value: Decimal) -> dict:
    return {"amount": numeric(value), "currency": USD}


def comment(name: str, value) -> str:
    """A fact OCF has no field for, as a `name=JSON value` line `import_ocf` reads back."""
    if isinstance(value, Decimal):
        value = format(value.normalize(), "f")  # exact: every digit, no trailing zeros
    elif isinstance(value, date):
        value = value.isoformat()
    return f"{name}={json.dumps(value, ensure_ascii=False)}"


def facts(obj, names) -> list[str]:
    return [comment(n, getattr(obj, n)) for n in names if getattr(obj, n) not in (None, "")]


def issuer_id(issuer: Issuer) -> str:
    return f"issuer-{uuid.uuid5(NAMESPACE, 'issuer:' + issuer.name)}"


def common_id(issuer: Issuer) -> str:
    return f"stock-class-{uuid.uuid5(NAMESPACE, 'common:' + issuer.name)}"


def note_security(note: Note) -> str:
    return f"note-{note.number}"


def warrant_security(warrant: Warrant) -> str:
    return f"warrant-{warrant.number}"


def us_address(text: str) -> dict | None:
    """A notice address whose last line is "City, ST 12345" as an OCF address; None for another."""
    lines = [line.strip() for line in text.strip().splitlines()]
    match = US_CITY_LINE.match(lines[-1]) if lines else None
    if not match:
        return None
    address = {"address_type": "CONTACT", "country": "US", "city": match["city"]}
    address |= {"country_subdivision": match["state"], "postal_code": match["zip"]}
    if lines[:-1]:
        address["street_suite"] = "\n".join(lines[:-1])
    return address


def _stakeholder_ids(holders: list[Holder]) -> dict[int, str]:
    ids, seen = {}, {}
    for holder in sorted(holders, key=lambda h: (h.name, h.email, h.pk)):
        key = "holder:" + holder.name + "\n" + holder.email
        base = f"holder-{uuid.uuid5(NAMESPACE, key)}"
        seen[base] = seen.get(base, 0) + 1
        ids[holder.pk] = base if seen[base] == 1 else f"{base}-{seen[base]}"
    return ids


def stakeholder(holder: Holder, ident: str) -> dict:
    obj = {
        "object_type": "STAKEHOLDER",
        "id": ident,
        "name": {"legal_name": holder.name},
        "stakeholder_type": "INSTITUTION" if holder.kind == Holder.Kind.ENTITY else "INDIVIDUAL",
        "current_relationship": "INVESTOR",
    }
    contact = {}
    if holder.email:
        kind = "BUSINESS" if holder.kind == Holder.Kind.ENTITY else "PERSONAL"
        contact["emails"] = [{"email_type": kind, "email_address": holder.email}]
    if holder.telecopy and PHONE.match(holder.telecopy):
        contact["phone_numbers"] = [{"phone_type": "OTHER", "phone_number": holder.telecopy}]
    if contact:
        obj["contact_info"] = contact
    address = us_address(holder.notice_address)
    if address:
        obj["addresses"] = [address]
    obj["comments"] = facts(holder, HOLDER_FACTS)
    return obj


def issuer_object(issuer: Issuer, formed_by: date) -> dict:
    obj = {
        "object_type": "ISSUER",
        "id": issuer_id(issuer),
        "legal_name": issuer.name,
        # Not on record: the date of the issuer's first note or warrant (it was formed by then).
        "formation_date": formed_by.isoformat(),
        "country_of_formation": "US",  # jurisdiction is a US state (the agreement's "state of incorporation")
    }
    state = STATES.get(issuer.jurisdiction.strip().lower())
    if state:
        obj["country_subdivision_of_formation"] = state
    address = us_address(issuer.notice_address)
    if address:
        obj["address"] = address
    obj["comments"] = [
        "formation_date is not on record: the date of the issuer's first note or warrant stands in for it",
        *facts(issuer, ISSUER_FACTS),
    ]
    return obj


def common_stock(issuer: Issuer) -> dict:
    return {
        "object_type": "STOCK_CLASS",
        "id": common_id(issuer),
        "name": "Common Stock",
        "class_type": "COMMON",
        "default_id_prefix": "CS-",
        "initial_shares_authorized": "NOT APPLICABLE",  # not on record
        "votes_per_share": "1",
        "seniority": "1",
        "comments": [
            "the issuer's common stock, into which the notes convert and for which the warrants are exercised"
        ],
    }


class _Book:
    """The transactions of one issuer, in the order they are built."""

    def __init__(self, issuer: Issuer, holder_ids: dict[int, str]):
        self.issuer = issuer
        self.common = common_id(issuer)
        self.holder_ids = holder_ids
        self.items: list[dict] = []
        self.then: list[dict] = []  # what the next object added made, to follow it

    def add(self, obj: dict) -> None:
        self.items.append(obj)
        self.items += self.then
        self.then = []

    def note_issuance(self, note: Note, security: str, day: date, amount: Decimal, custom_id: str, extra=()) -> str:
        trigger = f"{security}-conversion"
        self.add(
            {
                "object_type": "TX_CONVERTIBLE_ISSUANCE",
                "id": f"{security}-issuance",
                "security_id": security,
                "date": day.isoformat(),
                "custom_id": custom_id,
                "stakeholder_id": self.holder_ids[note.holder_id],
                "security_law_exemptions": [],
                "convertible_type": "NOTE",
                "investment_amount": money(amount),
                "seniority": 1,
                "conversion_triggers": [
                    {
                        "type": "ELECTIVE_AT_WILL",
                        "trigger_id": trigger,
                        "nickname": "Optional conversion (section 4)",
                        "trigger_description": (
                            "At the holder's option, at any time, all or part of the outstanding principal and all"
                            " unpaid and accrued interest convert into common stock at the fixed conversion price"
                            f" of {numeric(note.conversion_price)} USD per share, fractional shares rounded up;"
                            f" the note matures on {note.maturity_date.isoformat()}."
                        ),
                        "conversion_right": {
                            "type": "CONVERTIBLE_CONVERSION_RIGHT",
                            "conversion_mechanism": {
                                "type": "CONVERTIBLE_NOTE_CONVERSION",
                                "interest_rates": [
                                    {"rate": numeric(note.rate), "accrual_start_date": note.first_day.isoformat()}
                                ],
                                "day_count_convention": "ACTUAL_365",
                                "interest_payout": "CASH",
                                "interest_accrual_period": "DAILY",
                                "compounding_type": "SIMPLE",
                            },
                            "converts_to_stock_class_id": self.common,
                        },
                    }
                ],
                "comments": [*facts(note, NOTE_TERMS), *extra],
            }
        )
        return trigger

    def stock_issuance(self, ident: str, day: date, holder_id: int, shares: int, per_share: Decimal, custom_id: str):
        """The shares a conversion or an exercise issued, listed after it (`then`)."""
        security = f"{ident}-stock"
        self.then.append(
            {
                "object_type": "TX_STOCK_ISSUANCE",
                "id": f"{security}-issuance",
                "security_id": security,
                "date": day.isoformat(),
                "custom_id": custom_id,
                "stakeholder_id": self.holder_ids[holder_id],
                "security_law_exemptions": [],
                "stock_class_id": self.common,
                "share_price": price(per_share),
                "quantity": str(shares),
                "stock_legend_ids": [],
            }
        )
        return security

    def note(self, note: Note) -> None:
        """A note's issuance (unless it is a transfer's result, issued there) and what happened to it."""
        security = note_security(note)
        extra = [comment("parent", note.parent.number)] if note.parent_id else []
        if note.accrues_from:
            extra.append(comment("accrues_from", note.accrues_from))
        trigger = self.note_issuance(note, security, note.first_day, note.principal, note.number, extra)
        events = [(a.effective_on, 0, a.pk, a) for a in _approved_assignments(note)]
        events += [(c.conversion_date, 1, c.pk, c) for c in _conversions(note)]
        left = note.principal
        for k, (day, _, _, event) in enumerate(sorted(events, key=lambda e: e[:3]), start=1):
            moved = event.principal
            left -= moved
            balance = f"{note_security(note)}-balance-{k}" if left > 0 else None
            if isinstance(event, Assignment):
                results = [note_security(p.substitute) for p in event.parts.all() if p.substitute_id]
                obj = {
                    "object_type": "TX_CONVERTIBLE_TRANSFER",
                    "id": f"{note_security(note)}-transfer-{k}",
                    "security_id": security,
                    "date": day.isoformat(),
                    "amount": money(moved),
                    "resulting_security_ids": results,
                }
                if event.description:
                    obj["comments"] = [event.description]
            else:
                ident = f"{note_security(note)}-conversion-{k}"
                results = []
                if event.shares:
                    results = [
                        self.stock_issuance(
                            ident, day, note.holder_id, event.shares, note.conversion_price,
                            f"{note.number} conversion {day.isoformat()}",
                        )
                    ]  # fmt: skip
                obj = {
                    "object_type": "TX_CONVERTIBLE_CONVERSION",
                    "id": ident,
                    "security_id": security,
                    "date": day.isoformat(),
                    "reason_text": "The holder's election to convert (section 4)",
                    "trigger_id": trigger,
                    "quantity_converted": numeric(event.principal),
                    "resulting_security_ids": results,
                    "comments": [
                        comment("principal", event.principal),
                        comment("interest", event.interest),
                        comment("default_interest", event.default_interest),
                        comment("amount", event.amount),
                        comment("shares", event.shares),
                        *([comment("deliveries", event.deliveries)] if event.deliveries else []),
                    ],
                }
            if balance:
                obj["balance_security_id"] = balance
            self.add(obj)
            if isinstance(event, Assignment):
                for part in event.parts.all():
                    if part.substitute_id:
                        self.note(part.substitute)
            if balance:
                trigger = self.note_issuance(
                    note, balance, day, left, f"{note.number} (balance)", [comment("balance_of", note.number)]
                )
                security = balance

    def warrant(self, warrant: Warrant) -> None:
        security = warrant_security(warrant)
        trigger = self._warrant_issuance(warrant, security, warrant.issued_on, warrant.shares, warrant.number)
        events = [(a.effective_on, 0, a.pk, a) for a in warrant.assignments.filter(approval=Approval.APPROVED)]
        events += [(e.exercised_on, 1, e.pk, e) for e in warrant.exercises.filter(approval=Approval.APPROVED)]
        left = warrant.shares
        for k, (day, _, _, event) in enumerate(sorted(events, key=lambda e: e[:3]), start=1):
            left -= event.shares
            balance = f"{warrant_security(warrant)}-balance-{k}" if left > 0 else None
            if isinstance(event, WarrantAssignment):
                obj = {
                    "object_type": "TX_WARRANT_TRANSFER",
                    "id": f"{warrant_security(warrant)}-transfer-{k}",
                    "security_id": security,
                    "date": day.isoformat(),
                    "quantity": str(event.shares),
                    "resulting_security_ids": [warrant_security(event.substitute)] if event.substitute_id else [],
                }
                if balance:
                    obj["balance_security_id"] = balance
                self.add(obj)
                if event.substitute_id:
                    self.warrant(event.substitute)
            else:
                ident = f"{warrant_security(warrant)}-exercise-{k}"
                stock = self.stock_issuance(
                    ident, day, warrant.holder_id, event.shares, warrant.exercise_price,
                    f"{warrant.number} exercise {day.isoformat()}",
                )  # fmt: skip
                self.add(
                    {
                        "object_type": "TX_WARRANT_EXERCISE",
                        "id": ident,
                        "security_id": security,
                        "date": day.isoformat(),
                        "trigger_id": trigger,
                        "consideration_text": f"{format(event.price_paid, 'f')} USD paid",
                        "resulting_security_ids": [stock],
                        "comments": [comment("shares", event.shares), comment("price_paid", event.price_paid)],
                    }
                )
            if balance:
                trigger = self._warrant_issuance(
                    warrant, balance, day, left, f"{warrant.number} (balance)", [comment("balance_of", warrant.number)]
                )
                security = balance

    def _warrant_issuance(self, warrant: Warrant, security: str, day: date, shares: int, custom_id: str, extra=()):
        trigger = f"{security}-exercise"
        obj = {
            "object_type": "TX_WARRANT_ISSUANCE",
            "id": f"{security}-issuance",
            "security_id": security,
            "date": day.isoformat(),
            "custom_id": custom_id,
            "stakeholder_id": self.holder_ids[warrant.holder_id],
            "security_law_exemptions": [],
            "quantity": str(shares),
            "exercise_price": price(warrant.exercise_price),
            "purchase_price": money(Decimal("0.00")),
            "warrant_expiration_date": warrant.expires_on.isoformat(),
            "exercise_triggers": [
                {
                    "type": "ELECTIVE_IN_RANGE",
                    "trigger_id": trigger,
                    "start_date": day.isoformat(),
                    "end_date": warrant.expires_on.isoformat(),
                    "conversion_right": {
                        "type": "WARRANT_CONVERSION_RIGHT",
                        "conversion_mechanism": {
                            "type": "FIXED_AMOUNT_CONVERSION",
                            "converts_to_quantity": str(shares),
                        },
                        "converts_to_stock_class_id": self.common,
                    },
                }
            ],
            "comments": list(extra),
        }
        if warrant.note_id:
            obj["consideration_text"] = f"Delivered with note {warrant.note.number} (section 6)"
            obj["comments"].insert(0, comment("note", warrant.note.number))
        if warrant.parent_id:
            obj["comments"].insert(0, comment("parent", warrant.parent.number))
        self.add(obj)
        return trigger


def _approved_assignments(note: Note):
    return note.assignments.filter(approval=Approval.APPROVED).prefetch_related("parts__substitute")


def _conversions(note: Note):
    return note.conversions.filter(approval=Approval.APPROVED, status=Conversion.Status.CONVERTED).select_related(
        "notice"
    )


def holders_of(issuer: Issuer) -> list[Holder]:
    """The issuer's stakeholders: the holders of its notes and warrants, assignees included."""
    return list(
        Holder.objects.filter(Q(notes__issuer=issuer) | Q(warrants__issuer=issuer)).distinct().order_by("name", "pk")
    )


def _file(file_type: str, items: list) -> dict:
    return {"file_type": file_type, "items": items}


def dumps(obj) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()


def package(issuer: Issuer) -> dict[str, bytes]:
    """The OCF package of `issuer`: file name → content, the manifest first."""
    holders = holders_of(issuer)
    ids = _stakeholder_ids(holders)
    book = _Book(issuer, ids)
    for note in issuer.notes.filter(parent__isnull=True).select_related("holder").order_by("agreement_date", "number"):
        book.note(note)
    for warrant in issuer.warrants.filter(parent__isnull=True).select_related("note").order_by("issued_on", "number"):
        book.warrant(warrant)
    # Stable order: by date, then as built (an issuance before what happens to it on the same day).
    items = [obj for _, obj in sorted(enumerate(book.items), key=lambda e: (e[1]["date"], e[0]))]
    files = {
        STAKEHOLDERS: dumps(_file("OCF_STAKEHOLDERS_FILE", [stakeholder(h, ids[h.pk]) for h in holders])),
        STOCK_CLASSES: dumps(_file("OCF_STOCK_CLASSES_FILE", [common_stock(issuer)])),
        TRANSACTIONS: dumps(_file("OCF_TRANSACTIONS_FILE", items)),
    }
    firsts = [date.fromisoformat(i["date"]) for i in items] or [clock.today()]

    def named(name):
        return [{"filepath": name, "md5": hashlib.md5(files[name]).hexdigest()}]  # noqa: S324 (OCF's checksum)

    manifest = {
        "ocf_version": OCF_VERSION,
        "file_type": "OCF_MANIFEST_FILE",
        "issuer": issuer_object(issuer, min(firsts)),
        "as_of": clock.today().isoformat(),
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "comments": [
            "Exported by the note servicing back office. Payments, interest billed and paid, defaults,"
            " prepayments, participations, corporate actions, closing prices and documents are not in OCF."
        ],
        "stock_plans_files": [],
        "stock_legend_templates_files": [],
        "stock_classes_files": named(STOCK_CLASSES),
        "vesting_terms_files": [],
        "valuations_files": [],
        "transactions_files": named(TRANSACTIONS),
        "stakeholders_files": named(STAKEHOLDERS),
    }
    return {MANIFEST: dumps(manifest), **files}


def write_package(issuer: Issuer, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in package(issuer).items():
        path = directory / name
        path.write_bytes(content)
        written.append(path)
    return written


def zip_package(issuers) -> bytes:
    """The packages of `issuers` in one zip: the files at its root for one issuer, a folder each for more."""
    issuers = list(issuers)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for issuer in issuers:
            folder = "" if len(issuers) == 1 else f"{slug(issuer.name)}/"
            for name, content in package(issuer).items():
                archive.writestr(folder + name, content)
    return buffer.getvalue()


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "issuer"


# Reading ------------------------------------------------------------------------------------------


def read_package(directory: Path) -> dict:
    """The manifest and its files, each file checked against the manifest's checksum."""
    try:
        if (directory / MANIFEST).stat().st_size > MAX_BYTES:
            raise PackageError(f"{MANIFEST}: larger than {MAX_BYTES // 2**20} MiB")
        manifest = json.loads((directory / MANIFEST).read_bytes())
    except FileNotFoundError:
        raise PackageError(f"{directory / MANIFEST} not found: a package starts from its manifest") from None
    except ValueError as e:
        raise PackageError(f"{MANIFEST}: not JSON ({e})") from None
    if manifest.get("file_type") != "OCF_MANIFEST_FILE" or manifest.get("ocf_version") != OCF_VERSION:
        raise PackageError(f"{MANIFEST}: not an OCF {OCF_VERSION} manifest")
    read = {"manifest": manifest}
    for key in ("stakeholders_files", "stock_classes_files", "transactions_files"):
        items = []
        for entry in manifest.get(key, []):
            path = (directory / entry["filepath"]).resolve()
            if directory.resolve() not in path.parents:
                raise PackageError(f"{entry['filepath']}: outside the package's folder")
            try:
                if path.stat().st_size > MAX_BYTES:
                    raise PackageError(f"{entry['filepath']}: larger than {MAX_BYTES // 2**20} MiB")
                content = path.read_bytes()
            except FileNotFoundError:
                raise PackageError(f"{entry['filepath']}: named by the manifest but not found") from None
            if hashlib.md5(content).hexdigest() != entry["md5"].lower():  # noqa: S324
                raise PackageError(f"{entry['filepath']}: its MD5 is not the manifest's")
            items += json.loads(content)["items"]
        read[key] = items
    return read


def _facts(obj: dict) -> dict:
    found = {}
    for line in obj.get("comments", []):
        name, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[a-z_]+", name):
            try:
                found[name] = json.loads(value)
            except ValueError:
                continue
    return found


def _holder_arguments(obj: dict) -> dict:
    known = _facts(obj)
    args = {"name": obj["name"]["legal_name"]}
    args["kind"] = Holder.Kind.ENTITY if obj["stakeholder_type"] == "INSTITUTION" else Holder.Kind.INDIVIDUAL
    emails = obj.get("contact_info", {}).get("emails") or obj.get("primary_contact", {}).get("emails") or []
    args["email"] = emails[0]["email_address"] if emails else ""
    if "notice_address" in known:
        args["notice_address"] = known["notice_address"]
    elif obj.get("addresses"):
        a = obj["addresses"][0]
        state_zip = " ".join(filter(None, (a.get("country_subdivision"), a.get("postal_code"))))
        city = ", ".join(filter(None, (a.get("city"), state_zip)))
        args["notice_address"] = "\n".join(x for x in (a.get("street_suite"), city) if x)
    for name in ("telecopy", "entity_type", "organized_in", "signatory_name", "signatory_title"):
        if name in known:
            args[name] = known[name]
    return args


def import_package(directory: Path, *, by=None) -> dict:
    """Read a package into this database, which must not have its issuer; all or nothing."""
    try:
        with transaction.atomic():
            return _import(read_package(directory), by=by)
    except (KeyError, IndexError, TypeError, ValueError, ArithmeticError) as e:
        raise PackageError(f"the package is not one this book can read: {type(e).__name__} {e}") from None


def _import(read: dict, *, by) -> dict:
    issuer_obj = read["manifest"]["issuer"]
    name = issuer_obj["legal_name"]
    if Issuer.objects.filter(name=name).exists():
        raise PackageError(f"an issuer named {name} is already here: import_ocf reads a package into a book without it")
    counts = {"holders": 0, "notes": 0, "warrants": 0, "transfers": 0, "not imported": 0}
    issuer = services.issuer_create(name=name, by=by)
    for field, value in _facts(issuer_obj).items():
        if field in ISSUER_FACTS:
            setattr(issuer, field, value)
    issuer.full_clean()
    services.stamp(issuer, by).save()
    holders = {}
    for obj in read["stakeholders_files"]:
        holders[obj["id"]] = holder_create(**_holder_arguments(obj), by=by)
        counts["holders"] += 1
    items = read["transactions_files"]
    # A transfer's results and a balance are made here by the transfer, not issued again.
    results = {s for i in items for s in i.get("resulting_security_ids", [])}
    results |= {i["balance_security_id"] for i in items if i.get("balance_security_id")}
    securities = {}  # security id → the note or warrant imported for it
    job = "" if by else JOB
    for obj in items:
        kind, security = obj["object_type"], obj.get("security_id")
        if kind == "TX_CONVERTIBLE_ISSUANCE" and security not in results:
            securities[security] = _note(obj, issuer, holders, by=by, job=job)
            counts["notes"] += 1
        elif kind == "TX_WARRANT_ISSUANCE" and security not in results:
            securities[security] = _warrant(obj, issuer, holders, by=by)
            counts["warrants"] += 1
        elif kind in ("TX_CONVERTIBLE_TRANSFER", "TX_WARRANT_TRANSFER") and security in securities:
            _transfer(obj, securities, items, holders, by=by)
            if obj.get("balance_security_id"):  # what the assignor keeps is the same note here
                securities[obj["balance_security_id"]] = securities[security]
            counts["transfers"] += 1
        elif kind not in ("TX_CONVERTIBLE_ISSUANCE", "TX_WARRANT_ISSUANCE", "TX_STOCK_ISSUANCE"):
            counts["not imported"] += 1
    return counts


def _refused(what: str, e: ValidationError) -> PackageError:
    return PackageError(f"{what}: {'; '.join(e.messages)}")


def _note(obj: dict, issuer: Issuer, holders: dict, *, by, job) -> Note:
    known = _facts(obj)
    mechanism = obj["conversion_triggers"][0]["conversion_right"]["conversion_mechanism"]
    if mechanism.get("type") != "CONVERTIBLE_NOTE_CONVERSION" or not mechanism.get("interest_rates"):
        raise PackageError(f"{obj['id']}: a note's conversion mechanism with its interest rate is needed")
    if "maturity_date" not in known:
        raise PackageError(f"{obj['id']}: no maturity_date in its comments (OCF 1.2.0 has no field for it)")
    args = {
        "number": obj.get("custom_id", ""),
        "issuer": issuer,
        "holder": holders[obj["stakeholder_id"]],
        "agreement_date": date.fromisoformat(obj["date"]),
        "maturity_date": date.fromisoformat(known["maturity_date"]),
        "principal": Decimal(obj["investment_amount"]["amount"]),
        "rate": Decimal(mechanism["interest_rates"][0]["rate"]),
    }
    for name in ("conversion_price", "conversion_premium", "default_rate_spread", "max_lawful_rate"):
        if name in known:
            args[name] = Decimal(known[name])
    if "prepayment_lockout_months" in known:
        args["prepayment_lockout_months"] = int(known["prepayment_lockout_months"])
    if "calendar" in known:
        args["calendar"] = known["calendar"]
    number = args.pop("number")
    try:
        note = services.note_create(**args, number="" if _automatic(number, "CN") else number, by=by, job=job)
    except ValidationError as e:
        raise _refused(f"note {number}", e) from None
    return _keep_number(note, number, "CN", by)


def _automatic(number: str, prefix: str) -> bool:
    return bool(re.fullmatch(rf"{prefix}-\d+", number, flags=re.IGNORECASE))


def _keep_number(record, number: str, prefix: str, by):
    """A number the exporting book gave automatically (CN-00012) is kept, unless this book has it."""
    if _automatic(number, prefix) and not type(record).objects.filter(number=number).exists():
        record.number = number
        services.stamp(record, by).save(update_fields=["number"])
    return record


def _warrant(obj: dict, issuer: Issuer, holders: dict, *, by) -> Warrant:
    known = _facts(obj)
    note = Note.objects.filter(number=known["note"]).first() if "note" in known else None
    number = obj.get("custom_id", "")
    try:
        warrant = lifecycle.warrant_issue(
            issuer=issuer,
            holder=holders[obj["stakeholder_id"]],
            note=note,
            number="" if _automatic(number, "W") else number,
            shares=int(Decimal(obj["quantity"])),
            exercise_price=Decimal(obj["exercise_price"]["amount"]),
            issued_on=date.fromisoformat(obj["date"]),
            expires_on=date.fromisoformat(obj["warrant_expiration_date"]),
            by=by,
        )
    except ValidationError as e:
        raise _refused(f"warrant {number}", e) from None
    return _keep_number(warrant, number, "W", by)


def _transfer(obj: dict, securities: dict, items: list, holders: dict, *, by) -> None:
    """A transfer recorded pending approval, to the holders of its resulting securities."""
    issued = {
        i["security_id"]: i for i in items if i["object_type"] in ("TX_CONVERTIBLE_ISSUANCE", "TX_WARRANT_ISSUANCE")
    }
    source = securities[obj["security_id"]]
    day = date.fromisoformat(obj["date"])
    try:
        if obj["object_type"] == "TX_CONVERTIBLE_TRANSFER":
            parts = [
                (holders[issued[s]["stakeholder_id"]], Decimal(issued[s]["investment_amount"]["amount"]))
                for s in obj["resulting_security_ids"]
            ]
            description = (obj.get("comments") or [""])[0]
            lifecycle.assignment_record(note=source, effective_on=day, parts=parts, description=description, by=by)
        else:
            (result,) = obj["resulting_security_ids"]
            lifecycle.warrant_assignment_record(
                warrant=source,
                effective_on=day,
                assignee=holders[issued[result]["stakeholder_id"]],
                shares=int(Decimal(obj["quantity"])),
                by=by,
            )
    except ValidationError as e:
        raise _refused(f"transfer {obj['id']}", e) from None
