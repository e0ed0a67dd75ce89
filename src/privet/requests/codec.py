"""Requests to and from plain JSON data, for storage and the API. Every field round-trips exactly."""

from __future__ import annotations

import datetime as dt
from typing import Any

from privet.law.vocabulary import Right
from privet.requests.model import Agent, Channel, Dates, Request, Requester, State


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _parse_time(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def dates_to_dict(d: Dates) -> dict[str, Any]:
    return {
        "due": d.due.isoformat(),
        "confirm_by": _date(d.confirm_by),
        "extended_due": _date(d.extended_due),
        "extension_notice_by": _date(d.extension_notice_by),
        "rule": d.rule,
        "cites": list(d.cites),
        "notes": list(d.notes),
    }


def dates_from_dict(data: dict[str, Any]) -> Dates:
    return Dates(
        due=dt.date.fromisoformat(data["due"]),
        confirm_by=_parse_date(data.get("confirm_by")),
        extended_due=_parse_date(data.get("extended_due")),
        extension_notice_by=_parse_date(data.get("extension_notice_by")),
        rule=data.get("rule", ""),
        cites=tuple(data.get("cites", ())),
        notes=tuple(data.get("notes", ())),
    )


def to_dict(r: Request) -> dict[str, Any]:
    agent = r.agent
    return {
        "request_id": r.request_id,
        "kind": r.kind.value,
        "jurisdiction": r.jurisdiction,
        "received_at": r.received_at.isoformat(),
        "state": r.state.value,
        "requester": {
            "email": r.requester.email,
            "name": r.requester.name,
            "phone": r.requester.phone,
            "language": r.requester.language,
            "subject_id": r.requester.subject_id,
        },
        "dates": dates_to_dict(r.dates),
        "channel": r.channel.value,
        "agent": None
        if agent is None
        else {
            "name": agent.name,
            "email": agent.email,
            "evidence": agent.evidence,
            "document_ref": agent.document_ref,
            "scope": [k.value for k in agent.scope],
            "reviewed": agent.reviewed,
            "approved": agent.approved,
            "confirmed_by_person": agent.confirmed_by_person,
        },
        "details": r.details,
        "verification_level": r.verification_level,
        "extended": r.extended,
        "extension_reason": r.extension_reason,
        "outcome_reasons": list(r.outcome_reasons),
        "appeal_text": r.appeal_text,
        "appeal_dates": dates_to_dict(r.appeal_dates) if r.appeal_dates else None,
        "appeal_outcome": r.appeal_outcome,
        "closed_at": _time(r.closed_at),
        "responded_at": _time(r.responded_at),
        "response_state": r.response_state.value if r.response_state else None,
        "dedupe_key": r.dedupe_key,
        "notes": list(r.notes),
    }


def from_dict(data: dict[str, Any]) -> Request:
    req = data["requester"]
    agent = data.get("agent")
    return Request(
        request_id=data["request_id"],
        kind=Right(data["kind"]),
        jurisdiction=data.get("jurisdiction"),
        received_at=dt.datetime.fromisoformat(data["received_at"]),
        state=State(data["state"]),
        requester=Requester(
            req.get("email"), req.get("name"), req.get("phone"), req.get("language", "en"), req.get("subject_id")
        ),
        dates=dates_from_dict(data["dates"]),
        channel=Channel(data.get("channel", "api")),
        agent=None
        if agent is None
        else Agent(
            name=agent["name"],
            email=agent.get("email"),
            evidence=agent.get("evidence", ""),
            document_ref=agent.get("document_ref"),
            scope=tuple(Right(k) for k in agent.get("scope", ())),
            reviewed=agent.get("reviewed", False),
            approved=agent.get("approved", False),
            confirmed_by_person=agent.get("confirmed_by_person", False),
        ),
        details=data.get("details", ""),
        verification_level=data.get("verification_level"),
        extended=data.get("extended", False),
        extension_reason=data.get("extension_reason"),
        outcome_reasons=tuple(data.get("outcome_reasons", ())),
        appeal_text=data.get("appeal_text"),
        appeal_dates=dates_from_dict(data["appeal_dates"]) if data.get("appeal_dates") else None,
        appeal_outcome=data.get("appeal_outcome"),
        closed_at=_parse_time(data.get("closed_at")),
        responded_at=_parse_time(data.get("responded_at")),
        response_state=State(data["response_state"]) if data.get("response_state") else None,
        dedupe_key=data.get("dedupe_key"),
        notes=tuple(data.get("notes", ())),
    )
