"""The consent banner's side of privet: the script, its configuration, and the choices visitors make.

These run on customers' pages (other origins): CORS and headers come from the security middleware. Nothing here
tells the caller whether privet knew the browser before: the answer is the same either way.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

import privet
from privet.api.deps import Services, ServicesDep, rate_limit
from privet.api.errors import problem_responses
from privet.api.models import Input, Output
from privet.api.routes.consent import SecGpc
from privet.consent.events import Evidence, LedgerError, Source
from privet.consent.identifiers import Identifier, IdentifierKind
from privet.consent.ledger import ChoiceInput, gpc_choices
from privet.consent.marketing import is_gpc
from privet.manifest.model import Manifest

router = APIRouter(tags=["banner"])

BANNER = Path(privet.__file__).parent / "web" / "static" / "banner.js"
BANNER_CACHE = "public, max-age=3600"
AD_PURPOSES = "marketing.advertising.third_party"
SiteKey = Annotated[str, Field(max_length=100, pattern=r"^[A-Za-z0-9._-]*$")]


class CategoryOut(Output):
    key: str
    name: str
    description: str
    consent_key: str | None
    required: bool
    sale_or_sharing: bool = Field(description="Turned off by a Global Privacy Control signal")


class BannerConfigOut(Output):
    version: str = Field(description="Changes when the categories change: the banner then asks again")
    notice_url: str
    gpc_honoured: bool
    categories: list[CategoryOut]
    labels: dict[str, str]


class BannerChoicesIn(Input):
    site: SiteKey = ""
    browser_id: str = Field(pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
    choices: dict[Annotated[str, Field(max_length=200)], bool] = Field(max_length=50)
    gpc: bool = False
    source: Literal["cookie_banner"] = "cookie_banner"


class BannerChoicesOut(Output):
    choices: dict[str, bool]
    gpc: bool


class JavaScript(Response):
    media_type = "text/javascript"


def banner_config(manifest: Manifest, site: str, public_url: str) -> BannerConfigOut:
    categories = []
    for key, category in manifest.cookie_categories.items():
        recipients = [manifest.recipients[r] for r in category.recipients if r in manifest.recipients]
        sale_or_sharing = any(r.sale or r.sharing for r in recipients) or any(
            p.startswith(AD_PURPOSES) for p in category.purposes
        )
        categories.append(CategoryOut(key=key, name=category.title, description=category.description,
                                      consent_key=category.consent, required=category.consent is None,
                                      sale_or_sharing=sale_or_sharing))  # fmt: skip
    brand = manifest.brands.get(site)
    owner = brand.title if brand is not None else manifest.organisation.name
    version = hashlib.sha256(json.dumps([c.model_dump() for c in categories], sort_keys=True).encode()).hexdigest()
    notice_url = f"{public_url.rstrip('/')}/api/v1/documents/notice.html"
    return BannerConfigOut(version=version[:12], notice_url=notice_url, gpc_honoured=True, categories=categories,
                           labels={"title": f"Cookies on {owner}"})  # fmt: skip


def _config(services: Services, site: str) -> BannerConfigOut:
    rt = services.runtime
    site = site if site in rt.manifest.brands else ""  # only brands change the configuration (and the cache)
    found: BannerConfigOut = services.document(f"banner-config:{site}",
                                               lambda: banner_config(rt.manifest, site, rt.settings.public_url))
    return found


@router.get("/banner.js", response_class=JavaScript, responses={200: {"content": {"text/javascript": {}}}, 304: {}})
def banner_script(request: Request, services: ServicesDep) -> Response:
    """The consent banner script, to embed on any site (served with CORS)."""
    body: bytes = services.document("banner.js", BANNER.read_bytes)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Cache-Control": BANNER_CACHE, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return JavaScript(body, headers=headers, media_type="text/javascript; charset=utf-8")


@router.get("/api/v1/consent/config", response_model=BannerConfigOut, responses=problem_responses(422))
def config(
    response: Response,
    services: ServicesDep,
    site: Annotated[str, Query(max_length=100, pattern=r"^[A-Za-z0-9._-]*$")] = "",
) -> BannerConfigOut:
    """The banner's configuration for a site: the cookie categories of the manifest and what each needs."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return _config(services, site)


@router.post("/api/v1/consent/choices", response_model=BannerChoicesOut,
             responses=problem_responses(409, 422, 429), dependencies=[Depends(rate_limit("banner"))])  # fmt: skip
async def banner_choices(
    body: BannerChoicesIn, request: Request, services: ServicesDep, sec_gpc: SecGpc = None
) -> BannerChoicesOut:
    """A visitor's choices from the banner, for the browser id it keeps in a first-party cookie."""
    rt = services.runtime
    allowed = {c.consent_key for c in _config(services, body.site).categories if c.consent_key and not c.required}
    unknown = sorted(set(body.choices) - allowed)
    if unknown:
        keys = ", ".join(sorted(allowed))
        raise LedgerError(f"{', '.join(unknown)}: not a cookie consent of the banner; its keys: {keys}")
    now = rt.now()
    browser = Identifier(IdentifierKind.BROWSER, body.browser_id.lower())
    agent = request.headers.get("user-agent")
    evidence = Evidence(user_agent=agent[:256] if agent else None, note=f"site {body.site}" if body.site else None)
    choices = [ChoiceInput(key, granted, Source.COOKIE_BANNER, identifier=browser, at=now, evidence=evidence)
               for key, granted in sorted(body.choices.items())]  # fmt: skip
    gpc = is_gpc(sec_gpc) or body.gpc
    if gpc:
        choices = gpc_choices(browser, now) + choices
    if choices:
        await services.writer.record(choices, now)
    return BannerChoicesOut(choices=dict(body.choices), gpc=gpc)
