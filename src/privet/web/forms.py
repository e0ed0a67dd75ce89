"""The request form of the privacy center: which rights a place gets, the fields its standard asks for, and
turning what was typed into a `Submission` or into messages that say what to fix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.datastructures import FormData

from privet.consent.identifiers import IdentifierKind, InvalidIdentifier, normalise
from privet.law.catalogue import catalogue
from privet.law.vocabulary import Right
from privet.manifest.model import Manifest
from privet.requests.agents import Document
from privet.requests.intake import Submission
from privet.requests.model import Agent, Channel, Requester
from privet.requests.verification import Standard, required_standard

NOT_NEW = frozenset({Right.APPEAL, Right.COMPLAIN})  # made on a decided request, or to an authority
MAX_FIELD = 300
MAX_DETAILS = 5000


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"
    autocomplete: str = "off"
    hint: str = ""


# Identifying data points beyond the email address, in the order the form asks for them.
POINTS = (
    Field("name", "Full name", autocomplete="name"),
    Field("phone", "Phone number", "tel", "tel", "With the country code, e.g. +44 20 7946 0000."),
    Field("postal_address", "Postal address", autocomplete="street-address"),
    Field("order_number", "A recent order number", hint="From an order confirmation email or invoice."),
    Field("device_serial", "A device serial number", hint="Printed on the device or its box."),
)
EVIDENCE = {Document.POWER_OF_ATTORNEY.value: "Power of attorney",
            Document.SIGNED_LETTER.value: "Letter signed by the person, authorising you"}  # fmt: skip


def jurisdictions(manifest: Manifest) -> list[tuple[str, str]]:
    """(key, name) of every place a rights offer of the manifest covers, in the manifest's order."""
    law = catalogue()
    keys: dict[str, None] = {}
    for offer in manifest.rights.values():
        keys.update(dict.fromkeys(law.expand(offer.jurisdictions)))
    return [(k, law.jurisdictions[k].name if k in law.jurisdictions else k) for k in keys]


def offered_rights(manifest: Manifest, jurisdiction: str) -> list[Right]:
    law = catalogue()
    found = {r for o in manifest.rights.values() if jurisdiction in law.expand(o.jurisdictions) for r in o.rights}
    return [r for r in Right if r in found and r not in NOT_NEW]


def offer_words(manifest: Manifest, jurisdiction: str) -> dict[str, str]:
    """How the notice says identity is verified and agents prove authority, for this place."""
    law = catalogue()
    out: dict[str, str] = {}
    for offer in manifest.rights.values():
        if jurisdiction in law.expand(offer.jurisdictions):
            for name, text in (("verification", offer.verification), ("agents", offer.agents)):
                if text and name not in out:
                    out[name] = text
    return out


def fields_for(standard: Standard) -> tuple[Field, ...]:
    """Opt-outs ask only the name; requests that must be verified ask every point the person may have."""
    return POINTS if standard.required else POINTS[:1]


@dataclass
class Parsed:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    submission: Submission | None = None
    points: dict[str, str] = field(default_factory=dict)
    declaration: bool = False


def _text(form: FormData, name: str, limit: int = MAX_FIELD) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def parse_request(form: FormData, kind: Right, jurisdiction: str, standard: Standard) -> Parsed:
    names = ["email", *(f.name for f in POINTS), "agent_name", "agent_email", "agent_evidence", "agent_document"]
    values = {n: _text(form, n) for n in names} | {"details": _text(form, "details", MAX_DETAILS)}
    values["acting"] = "agent" if form.get("acting") == "agent" else "self"
    parsed = Parsed(values)
    errors = parsed.errors
    try:
        email = normalise(IdentifierKind.EMAIL, values["email"]).value
    except InvalidIdentifier:
        email = ""
        errors["email"] = "Enter the email address we can reach the person at, like name@example.com."
    phone = values["phone"]
    if phone:
        try:
            phone = normalise(IdentifierKind.PHONE, phone).value
        except InvalidIdentifier:
            errors["phone"] = "Enter the phone number with its country code, like +44 20 7946 0000, or leave it empty."
    points = {"email": email} if email else {}
    points |= {f.name: values[f.name] for f in fields_for(standard) if values[f.name] and f.name not in errors}
    if phone and "phone" in points:
        points["phone"] = phone
    if standard.required and len(points) < standard.data_points and "email" not in errors:
        errors["points"] = (f"Give at least {standard.data_points} pieces of information (the email address counts "
                            "as one), so we can make sure the data we find is really this person's.")  # fmt: skip
    declaration = form.get("declaration") == "yes"
    values["declaration"] = "yes" if declaration else ""
    if standard.signed_declaration and not declaration:
        errors["declaration"] = "Tick the declaration: the law asks for it before we act on this request."
    agent = None
    if values["acting"] == "agent":
        if not values["agent_name"]:
            errors["agent_name"] = "Enter your name as the person's authorised agent."
        if values["agent_evidence"] not in EVIDENCE:
            errors["agent_evidence"] = "Choose the document that shows you may act for the person."
        if not values["agent_document"]:
            errors["agent_document"] = "Say where we can find the document (a reference or file name you sent us)."
        if values["agent_email"]:
            try:
                values["agent_email"] = normalise(IdentifierKind.EMAIL, values["agent_email"]).value
            except InvalidIdentifier:
                errors["agent_email"] = "Enter your email address like name@example.com, or leave it empty."
        agent = Agent(values["agent_name"], values["agent_email"] or None, values["agent_evidence"],
                      values["agent_document"] or None)  # fmt: skip
    if kind is Right.CORRECTION and not values["details"]:
        errors["details"] = "Say what is wrong and what it should be."
    if errors:
        return parsed
    requester = Requester(email=email, name=values["name"] or None, phone=phone or None)
    parsed.submission = Submission(kind, requester, jurisdiction, Channel.WEB, agent, values["details"])
    parsed.points = points
    parsed.declaration = declaration
    return parsed


def standard_for(kind: Right, jurisdiction: str) -> Standard:
    return required_standard(kind, jurisdiction)


def secret_record(parsed: Parsed) -> Mapping[str, object]:
    """What is kept beside the request for matching: the data points given and the declaration."""
    return {"points": dict(parsed.points), "declaration": parsed.declaration}
