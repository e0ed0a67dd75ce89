"""Documents generated from the manifest, rendered once per process (the manifest does not change under it).

The notice and the US disclosures are public, as published documents are; the record of processing (ROPA) and
the data-flow graph are for staff.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from pydantic import ConfigDict, Field

from privet.api.auth import Principal, require
from privet.api.deps import Services, ServicesDep
from privet.api.errors import problem_responses
from privet.api.models import Output
from privet.api.roles import Scope
from privet.consent.marketing import gpc_json

router = APIRouter(tags=["documents"])

REPORTS = Depends(require(Scope.REPORTS_READ))
PUBLIC_CACHE = "public, max-age=300"


class Markdown(Response):
    media_type = "text/markdown"


class Csv(Response):
    media_type = "text/csv"


class Xlsx(Response):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Svg(Response):
    media_type = "image/svg+xml"


class Json(Response):
    media_type = "application/json"


class GpcOut(Output):
    """/.well-known/gpc.json: this site honours Global Privacy Control."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    gpc: bool
    last_update: str | None = Field(default=None, alias="lastUpdate", description="YYYY-MM-DD")


def _content(media: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media: {}}}}


def _render(services: Services, name: str) -> Any:
    manifest = services.runtime.manifest

    def render() -> Any:
        from privet.reports import disclosures, graph, notice, ropa

        match name:
            case "notice.html":
                return notice.render_notice(manifest, "html", disclosures_href="/api/v1/documents/disclosures.html")
            case "notice.md":
                return notice.render_notice(manifest, "md")
            case "disclosures.html":
                return disclosures.render_disclosures(manifest, "html")
            case "disclosures.md":
                return disclosures.render_disclosures(manifest, "md")
            case "disclosures.json":
                return disclosures.render_disclosures(manifest, "json")
            case "ropa.csv":
                return ropa.ropa_csv(manifest)
            case "ropa.xlsx":
                return ropa.ropa_xlsx(manifest)
            case "graph.svg":
                return graph.graph_svg(manifest)
        raise KeyError(name)

    return services.document(f"doc:{name}", render)


@router.get("/.well-known/gpc.json", response_model=GpcOut, response_model_by_alias=True,
            response_model_exclude_none=True)  # fmt: skip
def well_known_gpc(response: Response, services: ServicesDep) -> GpcOut:
    """Global Privacy Control support, with the date of the notice."""
    updated: dt.date | None = services.runtime.manifest.notice.last_updated
    response.headers["Cache-Control"] = PUBLIC_CACHE
    if updated is None:
        return GpcOut(gpc=True)
    data = gpc_json(updated)
    return GpcOut(gpc=bool(data["gpc"]), last_update=str(data["lastUpdate"]))


@router.get("/api/v1/documents/notice.html", response_class=HTMLResponse)
def notice_html(services: ServicesDep) -> HTMLResponse:
    """The privacy notice, generated from the manifest."""
    return HTMLResponse(_render(services, "notice.html"), headers={"Cache-Control": PUBLIC_CACHE})


@router.get("/api/v1/documents/notice.md", response_class=Markdown, responses=_content("text/markdown"))
def notice_md(services: ServicesDep) -> Markdown:
    """The privacy notice as Markdown."""
    return Markdown(_render(services, "notice.md"), headers={"Cache-Control": PUBLIC_CACHE},
                    media_type="text/markdown; charset=utf-8")  # fmt: skip


@router.get("/api/v1/documents/disclosures.html", response_class=HTMLResponse)
def disclosures_html(services: ServicesDep) -> HTMLResponse:
    """The US state disclosures (categories, sources, purposes, recipients, sale and sharing, rights)."""
    return HTMLResponse(_render(services, "disclosures.html"), headers={"Cache-Control": PUBLIC_CACHE})


@router.get("/api/v1/documents/disclosures.md", response_class=Markdown, responses=_content("text/markdown"))
def disclosures_md(services: ServicesDep) -> Markdown:
    """The US state disclosures as Markdown."""
    return Markdown(_render(services, "disclosures.md"), headers={"Cache-Control": PUBLIC_CACHE},
                    media_type="text/markdown; charset=utf-8")  # fmt: skip


@router.get("/api/v1/documents/disclosures.json", response_class=Json,
            responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}})  # fmt: skip
def disclosures_json(services: ServicesDep) -> Json:
    """The US state disclosures as data."""
    return Json(_render(services, "disclosures.json"), headers={"Cache-Control": PUBLIC_CACHE})


@router.get("/api/v1/documents/ropa.csv", response_class=Csv,
            responses={**_content("text/csv"), **problem_responses(401, 403)})  # fmt: skip
def ropa_csv(services: ServicesDep, _: Principal = REPORTS) -> Csv:
    """The record of processing activities (GDPR Art. 30), one row per activity."""
    return Csv(_render(services, "ropa.csv"), media_type="text/csv; charset=utf-8",
               headers={"Content-Disposition": 'attachment; filename="ropa.csv"'})  # fmt: skip


@router.get("/api/v1/documents/ropa.xlsx", response_class=Xlsx,
            responses={**_content(Xlsx.media_type), **problem_responses(401, 403)})  # fmt: skip
def ropa_xlsx(services: ServicesDep, _: Principal = REPORTS) -> Xlsx:
    """The record of processing activities as a workbook."""
    return Xlsx(_render(services, "ropa.xlsx"), headers={"Content-Disposition": 'attachment; filename="ropa.xlsx"'})


@router.get("/api/v1/documents/graph.svg", response_class=Svg,
            responses={**_content("image/svg+xml"), **problem_responses(401, 403)})  # fmt: skip
def graph_svg(services: ServicesDep, _: Principal = REPORTS) -> Svg:
    """Where personal data flows: sources, systems, activities, recipients."""
    return Svg(_render(services, "graph.svg"))
