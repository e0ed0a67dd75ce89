"""The document vocabulary reports are built in, and its rendering to HTML and Markdown through Jinja2.

A report is first built as a `Document` (sections holding paragraphs, lists and tables, every piece carrying
the manifest entries it came from) and only then rendered, so both formats say the same thing and the
templates hold layout, not decisions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from privet.law.catalogue import catalogue
from privet.manifest.entities import Contact
from privet.manifest.model import Manifest

Format = Literal["html", "md"]
FORMATS: tuple[Format, ...] = ("html", "md")


@dataclass(frozen=True, slots=True)
class Trace:
    """Where a piece of a report comes from: manifest entries, the notice section they cite, inferred or not."""

    sources: tuple[str, ...] = ()
    cite: str | None = None
    inferred: bool = False

    @property
    def source(self) -> str:
        return " ".join(self.sources)

    @property
    def listed(self) -> str:
        return ", ".join(self.sources)


@dataclass(frozen=True, slots=True)
class Link:
    text: str
    href: str


Inline = str | Link
Text = tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Para:
    kind: ClassVar[str] = "para"
    text: Text
    trace: Trace | None = None


@dataclass(frozen=True, slots=True)
class Item:
    text: Text
    trace: Trace | None = None
    children: tuple[Item, ...] = ()


@dataclass(frozen=True, slots=True)
class Bullets:
    kind: ClassVar[str] = "list"
    items: tuple[Item, ...]


Cell = tuple[Text, ...]  # one Text a line


@dataclass(frozen=True, slots=True)
class Row:
    cells: tuple[Cell, ...]  # the first cell heads the row
    trace: Trace | None = None


@dataclass(frozen=True, slots=True)
class Table:
    kind: ClassVar[str] = "table"
    caption: str
    head: tuple[str, ...]
    rows: tuple[Row, ...]


Block = Para | Bullets | Table


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    blocks: tuple[Block, ...]
    trace: Trace | None = None
    sections: tuple[Section, ...] = ()


@dataclass(frozen=True, slots=True)
class Document:
    title: str
    lang: str
    intro: tuple[Block, ...]
    sections: tuple[Section, ...]
    trace: Trace | None = None
    footer: str = ""


# --- building text ---------------------------------------------------------------------------------------------

_SAFE_SCHEMES = ("https://", "http://", "mailto:", "tel:")


def link(text: str, href: str) -> Inline:
    """A link, or plain text unless the address is web, mail, phone or relative (no javascript: from data)."""
    relative = re.match(r"^[^:/?#]*(?:[/?#]|$)", href) is not None
    return Link(text, href) if href.lower().startswith(_SAFE_SCHEMES) or relative else text


def address_text(address: str) -> Inline:
    """An address as written in the manifest, linked when it is a URL or an email address."""
    if address.lower().startswith(("https://", "http://")):
        return link(address, address)
    if re.fullmatch(r"[^@\s<>\"]+@[^@\s<>\"]+\.[A-Za-z]{2,}", address):
        return link(address, "mailto:" + address)
    return address


def contact_text(contact: Contact) -> Text:
    parts: list[Inline] = []
    for label, value in (("Email", contact.email), ("Phone", contact.phone), ("Web", contact.url)):
        if not value:
            continue
        if parts:
            parts.append("; ")
        parts.append(f"{label}: ")
        if label == "Phone":
            parts.append(link(value, "tel:" + re.sub(r"[^0-9+]", "", value)))
        else:
            parts.append(address_text(value))
    if contact.address:
        parts += ["; " if parts else "", "Post: ", contact.address]
    return tuple(parts)


def joined(words: Iterable[str], empty: str = "") -> str:
    """ "a, b and c"; "a; b, c and d" when an item holds a comma itself, so the reader can tell the items apart."""
    items = list(words)
    if not items:
        return empty
    if len(items) == 1:
        return items[0]
    if any("," in item for item in items):
        return "; ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def listed(words: Iterable[str]) -> str:
    """Names in a table cell: commas between them, semicolons when a name holds a comma itself."""
    items = list(words)
    return ("; " if any("," in item for item in items) else ", ").join(items)


class Names:
    """Human names for the keys a manifest uses, falling back to the key where a name is missing."""

    def __init__(self, manifest: Manifest) -> None:
        self.m = manifest
        self.tax = manifest.taxonomy

    def category(self, key: str) -> str:
        cat = self.tax.categories.get(key)
        return cat.name if cat else key

    def purpose(self, key: str) -> str:
        purpose = self.tax.purposes.get(key)
        return purpose.name if purpose else key

    def subject(self, key: str) -> str:
        subject = self.tax.subjects.get(key)
        return subject.name if subject else key

    def basis(self, key: str) -> str:
        basis = self.tax.legal_bases.get(key)
        return f"{basis.name} ({basis.article})" if basis else key

    def special_condition(self, key: str) -> str:
        cond = self.tax.special_conditions.get(key)
        return f"{cond.name} ({cond.article})" if cond else key

    def recipient(self, key: str) -> str:
        rec = self.m.recipients.get(key)
        return rec.title if rec else key

    def source(self, key: str) -> str:
        src = self.m.sources.get(key)
        return src.title if src else key

    def retention(self, key: str) -> str:
        rule = self.m.retention.get(key)
        return rule.title if rule else key

    def jurisdiction(self, key: str) -> str:
        law = catalogue()
        j = law.jurisdictions.get(key)
        return j.name if j else key

    def jurisdictions(self, keys: Iterable[str]) -> str:
        return joined(self.jurisdiction(k) for k in expand(keys))

    def entity(self, key: str) -> str:
        entity = self.m.organisation.legal_entities.get(key)
        return entity.title if entity else key


def expand(keys: Iterable[str]) -> tuple[str, ...]:
    """Jurisdiction keys with groups (gdpr_like, us_states) replaced by their members."""
    return catalogue().expand(tuple(keys))


def is_us_state(key: str) -> bool:
    j = catalogue().jurisdictions.get(key)
    return j is not None and j.regime.value == "us_state"


# --- rendering -------------------------------------------------------------------------------------------------

# Characters that are markup anywhere (emphasis, code, links, raw HTML, table cells, entities), and those that
# are markup only at the start of a line (headings, quotes, lists).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<|~]|&(?=#?\w+;))")
_MD_LINE_START = re.compile(r"^(\s*)([-+=>#]|\d+(?=[.)]))")


def md_escape(value: str) -> Markup:
    """Text that Markdown shows as written: markup characters escaped, whitespace folded to single spaces."""
    folded = re.sub(r"\s+", " ", value)
    escaped = _MD_SPECIAL.sub(r"\\\1", folded)
    # A leading "#", "-", "1." ... would start a heading or a list: escape the marker's punctuation.
    escaped = _MD_LINE_START.sub(_escape_marker, escaped, count=1)
    return Markup(escaped)


def _escape_marker(m: re.Match[str]) -> str:
    marker = m.group(2)
    if marker[0].isdigit():  # "1." -> "1\." : the backslash must precede the punctuation
        return m.group(1) + marker + "\\"
    return m.group(1) + "\\" + marker


def md_href(href: str) -> Markup:
    return Markup("<" + href.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E") + ">")


def _md_finalize(value: Any) -> Any:
    # Every {{ expression }} of a Markdown template is escaped unless already Markup (a macro's output).
    if isinstance(value, str) and not isinstance(value, Markup):
        return md_escape(value)
    return value


@cache
def environment(fmt: Format) -> Environment:
    # Templates are privet's own package data (see docs/architecture.md), not the user's files.
    env = Environment(
        loader=PackageLoader("privet.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_md_finalize if fmt == "md" else None,
    )
    env.filters["md_href"] = md_href
    return env


def render(template: str, fmt: Format, **context: Any) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return environment(fmt).get_template(f"{template}.{fmt}.j2").render(**context)


# --- wording shared by the notice and the disclosures -----------------------------------------------------------

RECIPIENT_KINDS: dict[str, str] = {
    "group_entity": "Entities of our group",
    "processor": "Service providers acting on our behalf (processors)",
    "third_party": "Other third parties",
    "ad_network": "Ad networks and advertising partners",
    "business_partner": "Business and marketing partners",
    "integration": "Third-party services that integrate with ours",
    "authority": "Courts, regulators and other public authorities",
    "individual": "People you choose to share with",
    "adviser": "Professional advisers",
}

SOURCE_KINDS: dict[str, str] = {
    "subject": "Directly from you",
    "automatic": "Automatically, from your devices and your use of our services",
    "third_party": "From third parties",
    "public": "From public sources, such as social media platforms",
    "created": "Records we create, such as of our interactions with you",
}

RIGHTS: dict[str, tuple[str, str]] = {
    "access": ("Access", "to obtain confirmation of whether we process your personal data and a copy of it"),
    "know": ("Know", "to know the categories of personal data we collect, their sources, purposes and recipients"),
    "portability": ("Portability", "to receive the data you gave us in a portable, machine-readable form"),
    "correction": ("Correction", "to have inaccurate personal data corrected and incomplete data completed"),
    "deletion": ("Deletion", "to have your personal data deleted"),
    "restriction": ("Restriction", "to have the processing of your personal data restricted"),
    "objection": ("Objection", "to object, on grounds relating to your situation, to processing based on "
                  "legitimate interests or a task in the public interest"),
    "object_direct_marketing": ("Objection to direct marketing", "to object at any time to direct marketing"),
    "opt_out_sale": ("Opt out of sale", "to opt out of the sale of your personal data"),
    "opt_out_sharing": ("Opt out of sharing", "to opt out of sharing for cross-context behavioural advertising"),
    "opt_out_targeted_advertising": ("Opt out of targeted advertising",
                                     "to opt out of processing for targeted advertising"),
    "opt_out_profiling": ("Opt out of profiling", "to opt out of profiling with legal or similarly significant "
                          "effects"),
    "limit_sensitive": ("Limit use of sensitive data", "to limit the use of your sensitive personal data"),
    "withdraw_consent": ("Withdraw consent", "to withdraw your consent at any time, without affecting the "
                         "lawfulness of processing before the withdrawal"),
    "automated_decisions": ("Human review of automated decisions", "not to be subject to a decision based solely "
                            "on automated processing with legal or similarly significant effects"),
    "appeal": ("Appeal", "to appeal our decision on your request"),
    "complain": ("Complaint", "to lodge a complaint with a supervisory authority"),
}  # fmt: skip
