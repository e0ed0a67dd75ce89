"""Requests that arrived outside privet: an email (RFC 822, as a mail client saves it) or a form export (JSON).

Both become a `Submission`, or an `ImportRefused` that names what is missing and how to give it. From an email the
sender is the person's address and the subject, then the body, tell which right is exercised: words such as
"delete", "access" or "do not sell" (English and German) must point to exactly one right, else the staff member
says which with `--kind`. The residence is never guessed.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from privet.law.vocabulary import Right
from privet.requests.intake import Submission
from privet.requests.lifecycle import RequestError
from privet.requests.model import REQUEST_KINDS, Agent, Channel, Requester

MAX_DETAILS = 10_000  # what the person wrote, kept with the request

# Words that name a right, lower case; a match is a whole word or phrase. Opt-outs come before the generic words
# ("do not sell" also says nothing about access).
KEYWORDS: Mapping[Right, tuple[str, ...]] = {
    Right.OPT_OUT_SALE: ("do not sell", "don't sell", "opt out of sale", "opt-out of sale", "stop selling"),
    Right.OPT_OUT_SHARING: ("do not share", "don't share", "opt out of sharing", "opt-out of sharing"),
    Right.OPT_OUT_TARGETED_ADVERTISING: ("targeted advertising", "targeted ads"),
    Right.LIMIT_SENSITIVE: ("limit the use of my sensitive", "sensitive personal information"),
    Right.WITHDRAW_CONSENT: ("withdraw my consent", "withdraw consent", "widerrufe meine einwilligung"),
    Right.OBJECT_DIRECT_MARKETING: ("direct marketing", "stop marketing", "werbewiderspruch", "keine werbung"),
    Right.DELETION: ("delete", "deletion", "erase", "erasure", "right to be forgotten", "löschen", "löschung"),
    Right.CORRECTION: ("correct my", "correction", "rectify", "rectification", "berichtigen", "berichtigung"),
    Right.PORTABILITY: ("portability", "portable copy", "datenübertragbarkeit"),
    Right.RESTRICTION: ("restrict", "restriction", "einschränkung"),
    Right.OBJECTION: ("i object", "objection", "widerspruch", "widerspreche"),
    Right.KNOW: ("right to know", "categories of personal information"),
    Right.ACCESS: ("access", "subject access", "dsar", "copy of my data", "copy of my personal data", "auskunft"),
}


class ImportRefused(RequestError):
    """The file does not say enough to take the request in; the message names what is missing."""


def _found(text: str) -> list[Right]:
    lowered = " ".join(text.lower().split())
    hits = [kind for kind, words in KEYWORDS.items()
            if any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", lowered) for w in words)]  # fmt: skip
    return hits


def kind_from_words(subject: str, body: str) -> Right:
    """The one right the subject (else the subject and body together) names; refused when none or several."""
    for text in (subject, f"{subject}\n{body}"):
        hits = _found(text)
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            names = ", ".join(h.value for h in hits)
            raise ImportRefused(f"the email names several rights ({names}); say which with --kind")
    raise ImportRefused("the email does not say which right it exercises (no word such as delete, access, correct or "
                        "do not sell); say which with --kind")  # fmt: skip


def from_email(raw: bytes, kind: Right | None = None, jurisdiction: str | None = None) -> Submission:
    """A submission from an email as saved by a mail client (.eml): sender, subject and text."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise ImportRefused("the file is not an email (RFC 822: headers, a blank line, the text); save the message "
                            "from the mail client as .eml")  # fmt: skip
    name, address = parseaddr(str(message.get("Reply-To") or message.get("From") or ""))
    if "@" not in address:
        raise ImportRefused("the email has no sender address (From:), so there is nobody to answer; take the request "
                            "in with privet requests submit --email ... instead")  # fmt: skip
    subject = " ".join(str(message.get("Subject") or "").split())
    body = _text_of(message)
    chosen = kind or kind_from_words(subject, body)
    details = f"{subject}\n\n{body}".strip()[:MAX_DETAILS]
    requester = Requester(email=address.strip(), name=name.strip() or None, language=_language(message))
    return Submission(chosen, requester, jurisdiction, Channel.EMAIL, None, details)


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain", "html"))
    if part is None:
        return ""
    text = str(part.get_content())
    if part.get_content_type() == "text/html":
        text = re.sub(r"<[^>]+>", " ", text)  # words only: the text is kept as details and searched for keywords
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _language(message: EmailMessage) -> str:
    tag = str(message.get("Content-Language") or "en").split(",")[0].strip().lower()
    return tag if re.fullmatch(r"[a-z]{2}(-[a-z]{2})?", tag) else "en"


Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]


class FormAgent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Line
    email: Line | None = None
    evidence: str = Field(default="", pattern=r"^(|power_of_attorney|signed_letter)$")
    document_ref: Line | None = None
    scope: tuple[Right, ...] = ()


class FormExport(BaseModel):
    """One request as a web or paper form records it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Right | None = None
    email: Line | None = None
    name: Line | None = None
    phone: Line | None = None
    jurisdiction: Line | None = None
    language: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$")
    details: str = Field(default="", max_length=MAX_DETAILS)
    agent: FormAgent | None = None


def from_form(data: Any, kind: Right | None = None, jurisdiction: str | None = None) -> Submission:
    """A submission from a form export: an object with kind, email or phone, and optionally the rest."""
    if not isinstance(data, Mapping):
        raise ImportRefused('the form export must be one JSON object: {"kind": ..., "email": ..., ...}')
    try:
        form = FormExport.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ImportRefused(f"the form export's {where}: {first['msg']}") from None
    chosen = kind or form.kind
    if chosen is None:
        raise ImportRefused('the form export has no "kind" (the right exercised); add it, or give --kind')
    if chosen not in REQUEST_KINDS:
        raise ImportRefused(f"{chosen.value} is not a request of its own; an appeal is made on the request it contests")
    if not (form.email or form.phone):
        raise ImportRefused('the form export has neither "email" nor "phone": there is no way to reach the person')
    agent = None
    if form.agent is not None:
        a = form.agent
        agent = Agent(a.name, a.email, a.evidence, a.document_ref, a.scope)
    requester = Requester(email=form.email, name=form.name, phone=form.phone, language=form.language)
    return Submission(chosen, requester, jurisdiction or form.jurisdiction, Channel.FORM, agent, form.details)
