"""The staff console, part two: a person's consent record, the data map, and the reports to download."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from privet.api.auth import Principal
from privet.api.roles import Scope
from privet.consent.identifiers import Identifier, IdentifierKind, InvalidIdentifier
from privet.reports.graph import graph_svg
from privet.reports.templating import Names
from privet.web.access import runtime, staff
from privet.web.console import Analyst, console_page

router = APIRouter()
ConsentReader = Annotated[Principal, Depends(staff(Scope.CONSENT_READ))]
_STYLE = re.compile(r"<style>.*?</style>", re.S)

# The API's document endpoints (privet.api.routes.documents, operations): what each report is, and its formats.
REPORTS = (
    ("Privacy notice", "The notice generated from the manifest.",
     (("HTML", "/api/v1/documents/notice.html"), ("Markdown", "/api/v1/documents/notice.md"))),
    ("Record of processing (ROPA)", "GDPR Art. 30 record of processing activities.",
     (("Excel", "/api/v1/documents/ropa.xlsx"), ("CSV", "/api/v1/documents/ropa.csv"))),
    ("US state disclosures", "The disclosure tables US state laws ask for.",
     (("HTML", "/api/v1/documents/disclosures.html"), ("Markdown", "/api/v1/documents/disclosures.md"),
      ("JSON", "/api/v1/documents/disclosures.json"))),
    ("Data-flow graph", "Sources, systems, recipients and countries.", (("SVG", "/api/v1/documents/graph.svg"),)),
    ("Request metrics", "11 CCR 7102 figures, per request type and jurisdiction.",
     (("JSON", "/api/v1/metrics?year={year}"),)),
    ("Audit chain check", "Every link of the hash-chained audit log verified.", (("JSON", "/api/v1/audit/verify"),)),
)  # fmt: skip


def parse_identifier(text: str) -> Identifier:
    """`kind:value`, or a bare email address or phone number."""
    text = text.strip()
    if ":" in text and text.split(":", 1)[0].strip().lower() in {k.value for k in IdentifierKind}:
        return Identifier.parse(text)
    if "@" in text:
        return Identifier.parse(f"email:{text}")
    if text.startswith("+"):
        return Identifier.parse(f"phone:{text}")
    return Identifier.parse(f"user_id:{text}")


@router.get("/console/consent", response_class=HTMLResponse)
def consent_lookup(request: Request, user: ConsentReader, identifier: str = "") -> Response:
    rt = runtime(request)
    context: dict[str, object] = {"identifier": identifier[:400], "error": None, "subject": None}
    if identifier.strip():
        try:
            ident = parse_identifier(identifier[:400])
        except InvalidIdentifier as exc:
            context["error"] = str(exc)
            return console_page(request, "console/consent.html", user, context, 422)
        subject_id = rt.subjects.find(ident)
        if subject_id is not None:
            choices = rt.ledger.choices(subject_id)
            context |= {
                "subject": rt.subjects.get(subject_id),
                "identifiers": rt.subjects.identifiers(subject_id),
                "choices": sorted(choices.choices.values(), key=lambda c: (c.key, c.scope)),
                "history": rt.ledger.history(subject_id),
                "names": {k: c.title for k, c in rt.manifest.consents.items()},
            }
    return console_page(request, "console/consent.html", user, context)


@router.get("/console/data-map", response_class=HTMLResponse)
def data_map(request: Request, user: Analyst) -> Response:
    rt = runtime(request)
    m = rt.manifest
    names = Names(m)
    # graph_svg escapes every label itself; its <style> moves to site.css (.dataflow), so a strict CSP keeps it.
    svg = Markup(_STYLE.sub("", graph_svg(m)))
    categories = [(k, names.category(k), [a.title for a in m.activities_using(k)]) for k in m.collected_categories]
    context = {"m": m, "names": names, "svg": svg, "categories": categories}
    return console_page(request, "console/data_map.html", user, context)


@router.get("/console/reports", response_class=HTMLResponse)
def reports(request: Request, user: Analyst) -> Response:
    year = runtime(request).now().year
    rows = [(title, what, [(label, href.format(year=year)) for label, href in links]) for title, what, links in REPORTS]
    return console_page(request, "console/reports.html", user, {"reports": rows})
