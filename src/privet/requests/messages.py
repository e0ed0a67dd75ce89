"""What a request tells the person: each `MessageKind` rendered in their language, as plain text and HTML.

Rendering is pure: the facts come from the request (its dates, reasons and outcome), the manifest (who we are,
how to reach us, how to appeal, which authorities hear complaints) and the law tables (whether the law gives an
appeal); the wording lives in the templates, one per kind and language. A template writes plain text in
paragraphs separated by blank lines, bullets starting with "- "; the HTML body is built from the same text, so
both parts always say the same thing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from privet.law.catalogue import catalogue
from privet.law.tables import Period as LawPeriod
from privet.law.tables import law_tables
from privet.law.vocabulary import Regime
from privet.manifest.entities import Contact, EntityRole
from privet.manifest.model import Manifest
from privet.manifest.notice import RightsOffer
from privet.manifest.period import Period
from privet.requests.lifecycle import MessageKind
from privet.requests.model import Request, State

DEFAULT_LANGUAGE = "en"
WIDTH = 76  # text lines, so the plain part reads well in any mail client

# Who hears complaints in each US state with a privacy law (the state's enforcer; California has two). Used
# unless the manifest names an authority for that jurisdiction itself.
REGULATORS: dict[str, tuple[tuple[str, str], ...]] = {
    "us-ca": (("California Privacy Protection Agency", "https://cppa.ca.gov"),
              ("California Attorney General", "https://oag.ca.gov")),
    "us-va": (("Virginia Attorney General", "https://www.oag.state.va.us"),),
    "us-co": (("Colorado Attorney General", "https://coag.gov"),),
    "us-ct": (("Connecticut Attorney General", "https://portal.ct.gov/ag"),),
    "us-ut": (("Utah Attorney General", "https://attorneygeneral.utah.gov"),),
    "us-tx": (("Texas Attorney General", "https://www.texasattorneygeneral.gov"),),
    "us-or": (("Oregon Attorney General (Oregon Department of Justice)", "https://www.doj.state.or.us"),),
    "us-mt": (("Montana Attorney General", "https://dojmt.gov"),),
    "us-de": (("Delaware Department of Justice", "https://attorneygeneral.delaware.gov"),),
    "us-ia": (("Iowa Attorney General", "https://www.iowaattorneygeneral.gov"),),
    "us-ne": (("Nebraska Attorney General", "https://ago.nebraska.gov"),),
    "us-nh": (("New Hampshire Attorney General", "https://www.doj.nh.gov"),),
    "us-nj": (("New Jersey Division of Consumer Affairs", "https://www.njconsumeraffairs.gov"),),
    "us-tn": (("Tennessee Attorney General", "https://www.tn.gov/attorneygeneral.html"),),
    "us-mn": (("Minnesota Attorney General", "https://www.ag.state.mn.us"),),
    "us-md": (("Maryland Attorney General, Consumer Protection Division", "https://www.marylandattorneygeneral.gov"),),
    "us-in": (("Indiana Attorney General", "https://www.in.gov/attorneygeneral"),),
    "us-ky": (("Kentucky Attorney General", "https://www.ag.ky.gov"),),
    "us-ri": (("Rhode Island Attorney General", "https://riag.ri.gov"),),
    "us-nv": (("Nevada Attorney General", "https://ag.nv.gov"),),
    "uk": (("Information Commissioner's Office (ICO)", "https://ico.org.uk"),),
    "ch": (("Federal Data Protection and Information Commissioner (FDPIC)", "https://www.edoeb.admin.ch"),),
}  # fmt: skip

_SUPERVISED = frozenset({Regime.GDPR, Regime.UK_GDPR, Regime.SWISS_FADP})  # complaint and court remedy (Art. 77-79)
_DECISIONS = frozenset({MessageKind.DENIAL, MessageKind.VERIFICATION_FAILED, MessageKind.RESULT})
_NEEDS_REASONS = frozenset({MessageKind.DENIAL, MessageKind.VERIFICATION_FAILED, MessageKind.EXTENSION,
                            MessageKind.APPEAL_DECISION})  # fmt: skip


class MessageError(ValueError):
    """A message cannot be written: a fact it must state is missing."""


@dataclass(frozen=True, slots=True)
class Message:
    to: str
    subject: str
    text: str
    html: str | None
    language: str
    kind: MessageKind
    request_id: str
    headers: tuple[tuple[str, str], ...] = ()  # beyond From/To/Subject/Date/Message-ID, which the sender sets


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # gave up: a permanent refusal, or too many attempts


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    message: Message
    status: OutboxStatus = OutboxStatus.QUEUED
    attempts: int = 0
    last_error: str | None = None

    def sent(self) -> OutboxMessage:
        if self.status is not OutboxStatus.QUEUED:
            raise MessageError(
                f"the {self.message.kind.value} message is {self.status.value}; only a queued one is sent"
            )
        return dataclasses.replace(self, status=OutboxStatus.SENT, attempts=self.attempts + 1, last_error=None)

    def failed(self, error: str, *, permanent: bool = False, max_attempts: int = 5) -> OutboxMessage:
        """After a failed attempt: queued again for a retry, or failed for good."""
        if self.status is not OutboxStatus.QUEUED:
            raise MessageError(f"the {self.message.kind.value} message is {self.status.value}; only a queued one fails")
        attempts = self.attempts + 1
        status = OutboxStatus.FAILED if permanent or attempts >= max_attempts else OutboxStatus.QUEUED
        return dataclasses.replace(self, status=status, attempts=attempts, last_error=error)


# --- one-time codes in kept messages ---------------------------------------------------------------------------

CODE_REMOVED = "[code removed]"
# The code template puts the code alone on its line (text) and in its paragraph (HTML); nothing else is six digits
# alone there, so exactly the code is blanked. tests/requests/test_messages.py holds the template to it.
_CODE_TEXT = re.compile(r"^([ \t]*)\d{6}[ \t]*$", re.MULTILINE)
_CODE_HTML = re.compile(r"<p>\s*\d{6}\s*</p>")


def without_code(kind: str, text: str, html: str | None) -> tuple[str, str | None]:
    """A message as it may be kept or shown to staff: a verification code message with its code blanked."""
    if kind != MessageKind.VERIFICATION_CODE.value:
        return text, html
    blanked = _CODE_HTML.sub(f"<p>{CODE_REMOVED}</p>", html) if html else html
    return _CODE_TEXT.sub(rf"\g<1>{CODE_REMOVED}", text), blanked


def shown_to_staff(kind: str, text: str, mailing: bool) -> str:
    """A kept message's text as staff may read it. With mail delivery a one-time code reaches the person by mail
    only, so staff never see it; without any, staff are the delivery and pass the queued code on."""
    return without_code(kind, text, None)[0] if mailing else text


# --- what templates are given ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Moment:
    date: dt.date
    time: str  # "14:03 UTC"; empty when only the date is known


@dataclass(frozen=True, slots=True)
class Route:
    """Somewhere the person can complain: a supervisory authority, a regulator, a dispute-resolution body."""

    name: str
    contact: Contact
    kind: str  # "authority" or "dispute"
    free: bool = True


@dataclass(frozen=True, slots=True)
class Appeal:
    text: str  # the notice's words on how to appeal; empty: reply to the message
    window: Period | None  # how long after the decision the notice accepts appeals
    decided_within: LawPeriod | None  # how long the law gives us to decide an appeal


def render_message(
    kind: MessageKind,
    request: Request,
    manifest: Manifest,
    reasons: Sequence[str] = (),
    extra: Mapping[str, str] | None = None,
) -> Message:
    """The `kind` message for `request`, in the requester's language where the notice offers it, else English.

    `extra` carries what the request does not hold: for VERIFICATION_CODE `code` and either `expires` (ISO 8601)
    or `valid_minutes`; for RESULT optionally `summary`, `link` and `link_expires` (ISO 8601); for any kind
    `status_link`, the private link to the request's status page, which receipts and codes carry.
    """
    to = request.requester.email or (request.agent.email if request.agent else None)
    if kind is MessageKind.AGENT_CONFIRMATION:
        if request.agent is None:
            raise MessageError(f"request {request.request_id} has no authorised agent for the person to confirm")
        to = request.requester.email  # the person themselves, never the agent whose authority is in question
    if not to or "\n" in to or "\r" in to:
        raise MessageError(f"request {request.request_id} has no email address to write to")
    language = choose_language(request.requester.language, kind, manifest)
    context = _context(kind, request, manifest, reasons, extra or {})
    module = environment().get_template(f"{kind.value}.{language}.txt.j2").make_module(context)
    subject = " ".join(str(getattr(module, "subject")).split())  # noqa: B009 (a template export, not an attribute)
    paragraphs = _paragraphs(str(module))
    blocks = [(bullet, [_segments(line.strip(), context["trusted"]) for line in lines])
              for para in paragraphs for bullet, lines in para]  # fmt: skip
    html = environment().get_template("_layout.html.j2").render(language=language, subject=subject, blocks=blocks)
    headers = [("X-Privet-Request", request.request_id), ("X-Privet-Message", kind.value),
               ("Content-Language", language)]  # fmt: skip
    if context["reply_to"]:
        headers.insert(0, ("Reply-To", context["reply_to"]))
    return Message(to, subject, _text(paragraphs), html, language, kind, request.request_id, tuple(headers))


@cache
def environment() -> Environment:
    # Templates are privet's own package data, like the law tables; plain-text templates are not escaped, the
    # HTML layout is. StrictUndefined: a misspelt variable fails the rendering instead of leaving a gap.
    return Environment(
        loader=PackageLoader("privet.requests", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), disabled_extensions=("txt.j2",),
                                     default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )  # fmt: skip


@cache
def template_languages(kind: MessageKind) -> frozenset[str]:
    found = (re.fullmatch(rf"{kind.value}\.([a-z]{{2,3}})\.txt\.j2", name) for name in environment().list_templates())
    return frozenset(m.group(1) for m in found if m)


def choose_language(wanted: str, kind: MessageKind, manifest: Manifest) -> str:
    """`wanted` ("de", "de-AT") if the notice is offered in it and a template exists, else English."""
    primary = _primary(wanted)
    offered = {_primary(lang) for lang in manifest.notice.languages}
    if primary in offered and primary in template_languages(kind):
        return primary
    if DEFAULT_LANGUAGE not in template_languages(kind):
        raise MessageError(f"no {DEFAULT_LANGUAGE} template for {kind.value} messages")
    return DEFAULT_LANGUAGE


def _primary(tag: str) -> str:
    return tag.strip().lower().replace("_", "-").split("-")[0]


def _line(value: str | None) -> str:
    """Text from outside (names, reasons, manifest prose) on one line, so it cannot forge paragraphs or bullets."""
    return " ".join((value or "").split())


def _context(kind: MessageKind, request: Request, manifest: Manifest, reasons: Sequence[str],
             extra: Mapping[str, str]) -> dict[str, Any]:  # fmt: skip
    rid = request.request_id
    given = [_line(r) for r in reasons if _line(r)]
    if not given and kind is MessageKind.EXTENSION and request.extension_reason:
        given = [_line(r) for r in request.extension_reason.split(";") if _line(r)]
    elif not given and kind is not MessageKind.EXTENSION:
        given = [_line(r) for r in request.outcome_reasons if _line(r)]
    partial = request.state is State.PARTIALLY_FULFILLED
    if (kind in _NEEDS_REASONS or (kind is MessageKind.RESULT and partial)) and not given:
        raise MessageError(f"the {kind.value} message for request {rid} needs reasons: the person must be told why")
    offer = _offer(manifest, request)
    contacts = _contacts(manifest, offer)
    routes = _routes(manifest, request.jurisdiction)
    dpo = manifest.organisation.dpo
    trusted = {c[1] for c in contacts} | {v for r in routes for v in (r.contact.email, r.contact.url) if v}
    trusted |= {dpo.email} if dpo and dpo.email else set()
    ctx: dict[str, Any] = {
        "request_id": rid,
        "right": request.kind.value,
        "person": _line(request.requester.name),
        "agent": _line(request.agent.name) if request.agent else "",
        "org": _line(manifest.organisation.name),
        "controller": _controller(manifest),
        "dpo": dpo,
        "contacts": contacts,
        "reply_to": next((address for ck, address in contacts if ck == "email"), ""),
        "received": _moment(request.received_at),
        "due": request.dates.due,
        "extended_due": request.dates.extended_due,
        "extension_notice_by": request.dates.extension_notice_by,
        "rule": request.dates.rule,
        "cites": [c for c in request.dates.cites if not c.startswith("counting:")],
        "verify": request.needs_verification and request.verification_level is None,
        "verification": _line(offer.verification) if offer else "",
        "reasons": given,
        "partial": partial,
        "appeal": _appeal(request, offer) if kind in _DECISIONS else None,
        "routes": routes,
        "supervised": _regime(request.jurisdiction) in _SUPERVISED,
        "trusted": trusted,
    }
    status_link = _line(extra.get("status_link"))
    if status_link:
        trusted.add(status_link)
    ctx["status_link"] = status_link
    if kind is MessageKind.EXTENSION and request.dates.extended_due is None:
        raise MessageError(f"request {rid} has no extended deadline; the law allows no extension to announce")
    if kind is MessageKind.APPEAL_RECEIVED:
        if request.appeal_dates is None:
            raise MessageError(f"request {rid} has no appeal deadline; record the appeal first")
        ctx |= {"appeal_due": request.appeal_dates.due,
                "appeal_cites": [c for c in request.appeal_dates.cites if not c.startswith("counting:")]}  # fmt: skip
    if kind is MessageKind.APPEAL_DECISION:
        if request.appeal_outcome not in ("upheld", "reversed"):
            raise MessageError(f"request {rid} has no appeal decision (upheld or reversed) to tell")
        ctx["outcome"] = request.appeal_outcome
    if kind is MessageKind.VERIFICATION_CODE:
        ctx |= _code(rid, extra)
    if kind is MessageKind.RESULT:
        link = _line(extra.get("link"))
        if link and not link.lower().startswith("https://"):
            raise MessageError(f"the download link for request {rid} must be an https:// address")
        trusted.add(link)
        expires = extra.get("link_expires")
        ctx |= {"summary": _line(extra.get("summary")), "link": link,
                "link_expires": _moment(_parse(expires, "link_expires", rid)) if expires else None}  # fmt: skip
    return ctx


def _code(rid: str, extra: Mapping[str, str]) -> dict[str, Any]:
    code = _line(extra.get("code"))
    if not code:
        raise MessageError(f"the verification code message for request {rid} needs extra['code']")
    expires, minutes = extra.get("expires"), extra.get("valid_minutes")
    if not expires and not (minutes and minutes.isdigit()):
        raise MessageError(f"the verification code for request {rid} needs its expiry: extra['expires'] (ISO 8601) "
                           "or extra['valid_minutes']")  # fmt: skip
    return {"code": code, "expires": _moment(_parse(expires, "expires", rid)) if expires else None,
            "valid_minutes": int(minutes) if minutes and not expires else None}  # fmt: skip


def _parse(value: str | None, name: str, rid: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value or "")
    except ValueError:
        raise MessageError(f"extra[{name!r}] for request {rid} is not an ISO 8601 date and time: {value!r}") from None


def _moment(at: dt.datetime) -> Moment:
    if at.tzinfo is None:
        return Moment(at.date(), at.strftime("%H:%M"))
    utc = at.astimezone(dt.UTC)
    return Moment(utc.date(), utc.strftime("%H:%M UTC"))


def _regime(jurisdiction: str | None) -> Regime | None:
    j = catalogue().jurisdictions.get(jurisdiction or "")
    return j.regime if j else None


def _covers(keys: tuple[str, ...], jurisdiction: str) -> bool:
    return jurisdiction in catalogue().expand(keys)


def _offer(manifest: Manifest, request: Request) -> RightsOffer | None:
    """The notice's rights offer for the request's jurisdiction, preferring one that grants the right asked."""
    offers = [o for o in manifest.rights.values()
              if request.jurisdiction is None or _covers(o.jurisdictions, request.jurisdiction)]  # fmt: skip
    return next((o for o in offers if request.kind in o.rights), offers[0] if offers else None)


def _contacts(manifest: Manifest, offer: RightsOffer | None) -> list[tuple[str, str]]:
    keys = offer.channels if offer and offer.channels else tuple(manifest.contact_channels)
    channels = [manifest.contact_channels[k] for k in keys if k in manifest.contact_channels]
    found = [(c.kind.value, _line(c.address)) for c in channels if c.address]
    if not found and manifest.organisation.dpo and manifest.organisation.dpo.email:
        found = [("email", manifest.organisation.dpo.email)]
    return found


def _controller(manifest: Manifest) -> tuple[str, str]:
    entities = list(manifest.organisation.legal_entities.values())
    controllers = [e for e in entities if EntityRole.CONTROLLER in e.roles or EntityRole.JOINT_CONTROLLER in e.roles]
    chosen = next((e for e in controllers if e.lead), controllers[0] if controllers else None)
    if chosen is None:
        return _line(manifest.organisation.name), ""
    return _line(chosen.title), _line(chosen.address)


def _routes(manifest: Manifest, jurisdiction: str | None) -> list[Route]:
    """Where to complain: the manifest's authorities and dispute bodies for the jurisdiction, and its regulator."""
    org = manifest.organisation
    us = _regime(jurisdiction) is Regime.US_STATE

    def applies(keys: tuple[str, ...]) -> bool:
        if jurisdiction is None:
            return True
        return _covers(keys, jurisdiction) if keys or us else True

    routes = [
        Route(_line(a.title), a.contact, "authority") for a in org.authorities.values() if applies(a.jurisdictions)
    ]
    named = jurisdiction is not None and any(_covers(a.jurisdictions, jurisdiction) for a in org.authorities.values())
    if jurisdiction in REGULATORS and not named:
        routes += [Route(name, Contact(url=url), "authority") for name, url in REGULATORS[jurisdiction]]
    routes += [Route(_line(d.title), d.contact, "dispute", d.free_of_charge)
               for d in org.dispute_resolution.values() if applies(d.jurisdictions)]  # fmt: skip
    return routes


def _appeal(request: Request, offer: RightsOffer | None) -> Appeal | None:
    """How to appeal a decision, where the law gives an appeal or the notice offers one."""
    law = law_tables().get(request.jurisdiction or "")
    by_law = law.appeal if law else None
    text = _line(offer.appeal) if offer else ""
    if by_law is None and not text:
        return None
    return Appeal(text, offer.appeal_window if offer else None, by_law.period if by_law else None)


# --- from rendered text to the text and HTML bodies ------------------------------------------------------------

Block = tuple[bool, list[str]]  # (bullets?, lines): a run of paragraph lines or of bullets


def _paragraphs(rendered: str) -> list[list[Block]]:
    """The rendered template as paragraphs (split at blank lines), each a run of line and bullet blocks."""
    out: list[list[Block]] = []
    for chunk in re.split(r"\n\s*\n", rendered.strip()):
        blocks: list[Block] = []
        for raw in chunk.split("\n"):
            line = raw.rstrip()
            if not line.strip():
                continue
            bullet = line.startswith("- ")
            if blocks and blocks[-1][0] == bullet:
                blocks[-1][1].append(line[2:] if bullet else line)
            else:
                blocks.append((bullet, [line[2:] if bullet else line]))
        if blocks:
            out.append(blocks)
    return out


def _text(paragraphs: list[list[Block]]) -> str:
    def wrap(line: str, bullet: bool) -> str:
        if bullet:
            return textwrap.fill(f"- {line}", WIDTH, subsequent_indent="  ", break_long_words=False,
                                 break_on_hyphens=False)  # fmt: skip
        indent = line[: len(line) - len(line.lstrip())]
        return textwrap.fill(line, WIDTH, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)

    return (
        "\n\n".join("\n".join(wrap(line, bullet) for bullet, lines in para for line in lines) for para in paragraphs)
        + "\n"
    )


_LINKABLE = re.compile(r"https://[^\s<>\"]+|http://[^\s<>\"]+|[^\s@<>\"(),;:]+@[^\s@<>\"(),;:]+\.[A-Za-z]{2,}")


def _segments(line: str, trusted: set[str]) -> list[tuple[str, str | None]]:
    """A line as (text, href) pieces; only addresses we put there ourselves become links, never the person's."""
    out: list[tuple[str, str | None]] = []
    pos = 0
    for m in _LINKABLE.finditer(line):
        found = m.group(0).rstrip(".,;:)")
        if found not in trusted:
            continue
        out.append((line[pos : m.start()], None))
        out.append((found, found if found.startswith("http") else f"mailto:{found}"))
        pos = m.start() + len(found)
    out.append((line[pos:], None))
    return [(text, href) for text, href in out if text]
