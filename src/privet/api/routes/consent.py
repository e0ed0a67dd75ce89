"""Consent: record choices (one, or a batch at once), a person's current choices and history, GPP strings.

A request carrying `Sec-GPC: 1` also records the Global Privacy Control opt-outs for the person it names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from pydantic import AwareDatetime, Field

from privet.api.auth import Principal, require
from privet.api.deps import Services, ServicesDep, get_services
from privet.api.errors import NotFound, problem_responses
from privet.api.models import IdentifierText, Input, Jurisdiction, Key, Line, Output, SubjectId, WhoIn
from privet.api.people import Who
from privet.api.roles import Scope
from privet.consent.events import Evidence, Source
from privet.consent.identifiers import Identifier, IdentifierKind
from privet.consent.ledger import ChoiceInput, Recorded, gpc_choices
from privet.consent.marketing import is_gpc

router = APIRouter(prefix="/api/v1", tags=["consent"])

MAX_BATCH = 1_000
ANYONE = Identifier(IdentifierKind.USER_ID, "-")  # replaced by the subject id before use
SecGpc = Annotated[str | None, Header(alias="Sec-GPC", description="Global Privacy Control: 1 records the opt-outs")]


class ChoiceIn(Input):
    key: Key = Field(description="A consent key of the manifest, or a signal such as opt_out.sale")
    granted: bool = Field(description="Given (or, for a signal, put in force), or withdrawn")
    subject_id: SubjectId | None = None
    identifier: IdentifierText | None = Field(default=None, description="kind:value, e.g. email:ann@example.com")
    scope: Annotated[str, Field(max_length=200)] = Field(default="", description="A campaign, for marketing keys")
    at: AwareDatetime | None = Field(default=None, description="When the person chose; default: now")
    event_id: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="The caller's id: the same id twice records one event"
    )
    source: Source = Source.API
    jurisdiction: Jurisdiction | None = None
    note: Line | None = None


class ChoicesIn(Input):
    events: list[ChoiceIn] = Field(min_length=1, max_length=MAX_BATCH)


class RecordedOut(Output):
    subject_id: str = Field(description="The subject of the (first) choice")
    appended: int
    duplicates: int = Field(description="Events already recorded with the same id and facts")
    event_ids: list[str]
    gpc_recorded: bool = Field(description="Whether a Sec-GPC: 1 signal was recorded as well")


class ChoiceOut(Output):
    key: str
    scope: str
    granted: bool
    at: dt.datetime
    event_id: str
    source: str


class StateOut(Output):
    subject_id: str
    choices: list[ChoiceOut]


class HistoryEventOut(Output):
    seq: int
    event_id: str
    key: str
    scope: str
    granted: bool
    source: str
    at: dt.datetime
    recorded_at: dt.datetime
    jurisdiction: str | None
    notice_hash: str | None


class HistoryOut(Output):
    subject_id: str
    events: list[HistoryEventOut]


class GppOut(Output):
    gpp: str = Field(description="IAB GPP string: usnat section with the GPC sub-section")


def _choice(item: ChoiceIn, request: Request) -> ChoiceInput:
    identifier = Identifier.parse(item.identifier) if item.identifier else None
    agent = request.headers.get("user-agent")
    evidence = Evidence(user_agent=agent[:256] if agent else None, note=item.note)
    return ChoiceInput(item.key, item.granted, item.source, item.subject_id, identifier, item.scope, item.at,
                       item.event_id, item.jurisdiction, evidence)  # fmt: skip


def _with_gpc(choices: list[ChoiceInput], now: dt.datetime) -> list[ChoiceInput]:
    """The GPC opt-outs for each person the choices name, before the choices themselves."""
    signals: list[ChoiceInput] = []
    seen: set[tuple[str | None, Identifier | None]] = set()
    for choice in choices:
        person = (choice.subject_id, choice.identifier)
        if person in seen:
            continue
        seen.add(person)
        # gpc_choices names the person by an identifier; a subject id, when given, takes its place or joins it.
        for signal in gpc_choices(choice.identifier or ANYONE, now):
            signals.append(dataclasses.replace(signal, subject_id=choice.subject_id, identifier=choice.identifier,
                                               jurisdiction=choice.jurisdiction))  # fmt: skip
    return signals + choices


async def _record(choices: list[ChoiceInput], request: Request, sec_gpc: str | None) -> Response:
    """Append the choices (and the GPC opt-outs a `Sec-GPC: 1` header adds) in one write; answered once committed.

    The hot path of the API: the services come from the app (not a dependency), and the answer is serialised once
    here (response_model still documents it; FastAPI would validate and encode it again)."""
    services = get_services(request)
    now = services.runtime.now()
    gpc = is_gpc(sec_gpc)
    done = await services.writer.record(_with_gpc(choices, now) if gpc else choices, now)
    return Response(_recorded(done, gpc).model_dump_json(), status.HTTP_201_CREATED, media_type="application/json")


def _recorded(done: Recorded, gpc: bool) -> RecordedOut:
    return RecordedOut(subject_id=done.subject_id, appended=done.result.appended, duplicates=done.result.duplicates,
                       event_ids=list(done.event_ids), gpc_recorded=gpc)  # fmt: skip


@router.post("/consent/events", status_code=status.HTTP_201_CREATED, response_model=RecordedOut,
             responses=problem_responses(401, 403, 409, 422))  # fmt: skip
async def record_choice(
    item: ChoiceIn,
    request: Request,
    sec_gpc: SecGpc = None,
    _: Principal = Depends(require(Scope.CONSENT_WRITE)),
) -> Response:
    """Record one choice in the append-only ledger."""
    return await record_one(item, request, sec_gpc)


async def record_one(item: ChoiceIn, request: Request, sec_gpc: str | None) -> Response:
    """What POST /consent/events does once its caller is allowed: also the fast path's (api/fast_path.py)."""
    return await _record([_choice(item, request)], request, sec_gpc)


@router.post("/consent/events/batch", status_code=status.HTTP_201_CREATED, response_model=RecordedOut,
             responses=problem_responses(401, 403, 409, 422))  # fmt: skip
async def record_choices(
    body: ChoicesIn,
    request: Request,
    sec_gpc: SecGpc = None,
    _: Principal = Depends(require(Scope.CONSENT_WRITE)),
) -> Response:
    """Record up to 1,000 choices at once: all of them, or none if any is refused."""
    return await _record([_choice(item, request) for item in body.events], request, sec_gpc)


def _subject(services: Services, subject_id: str | None, identifier: str | None) -> str:
    if not subject_id and not identifier:
        raise NotFound("name the person: subject_id or identifier")
    found = services.people.find(Who(subject_id, identifier))
    if found is None:
        raise NotFound("privet knows nobody by that subject id or identifier")
    return found


SubjectQuery = Annotated[SubjectId | None, Query(description="privet's subject id")]
IdentifierQuery = Annotated[IdentifierText | None, Query(description="kind:value, e.g. email:ann@example.com")]


@router.get("/consent/state", response_model=StateOut, responses=problem_responses(401, 403, 404, 422))
def consent_state(
    services: ServicesDep,
    subject_id: SubjectQuery = None,
    identifier: IdentifierQuery = None,
    _: Principal = Depends(require(Scope.CONSENT_READ)),
) -> StateOut:
    """The person's current choices (the projection of the ledger)."""
    sid = _subject(services, subject_id, identifier)
    rows = sorted(services.people.choices(sid).choices.values(), key=lambda c: (c.key, c.scope))
    return StateOut(subject_id=sid, choices=[
        ChoiceOut(key=c.key, scope=c.scope, granted=c.granted, at=c.at, event_id=c.event_id, source=c.source.value)
        for c in rows
    ])  # fmt: skip


@router.get("/consent/history", response_model=HistoryOut, responses=problem_responses(401, 403, 404, 422))
def consent_history(
    services: ServicesDep,
    subject_id: SubjectQuery = None,
    identifier: IdentifierQuery = None,
    _: Principal = Depends(require(Scope.CONSENT_READ)),
) -> HistoryOut:
    """Every event of the person (and of the subjects merged into them), in ledger order."""
    sid = _subject(services, subject_id, identifier)
    events = [
        HistoryEventOut(seq=r.seq, event_id=r.event.event_id, key=r.event.key, scope=r.event.scope,
                        granted=r.event.granted, source=r.event.source.value, at=r.event.at,
                        recorded_at=r.recorded_at, jurisdiction=r.event.jurisdiction,
                        notice_hash=r.event.notice_hash)
        for r in services.people.consents.history(sid)
    ]  # fmt: skip
    return HistoryOut(subject_id=sid, events=events)


@router.post("/consent/gpp", response_model=GppOut, responses=problem_responses(401, 403, 422))
def gpp(body: WhoIn, services: ServicesDep,
        _: Principal = Depends(require(Scope.DECIDE))) -> GppOut:  # fmt: skip
    """The GPP string of the person's current choices, to pass on to advertising partners."""
    today = services.runtime.now().date()
    return GppOut(gpp=services.people.gpp(Who(body.subject_id, body.identifier), today))
