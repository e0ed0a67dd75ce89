"""Every kind of request from intake to its final state, through the service on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from privet.audit import verify_chain
from privet.law.vocabulary import Right
from privet.requests.intake import Submission
from privet.requests.lifecycle import Event, EventKind
from privet.requests.messages import render_message
from privet.requests.model import Request, Requester, State
from privet.requests.service import RequestService
from privet.store import Database
from privet.store.requests import SqlAudit, SqlOutbox, SqlRequests, SqlScheduler
from privet.store.session import unit_of_work
from privet.workspace.manifest_files import load_manifest
from tests.conftest import REPO

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)
ANKER = load_manifest(REPO / "examples" / "anker").manifest

# (kind, residence): each kind where the reference notice and the law grant it.
KINDS = [
    (Right.ACCESS, "eu"), (Right.KNOW, "us-ca"), (Right.PORTABILITY, "eu"), (Right.CORRECTION, "uk"),
    (Right.DELETION, "us-ca"), (Right.RESTRICTION, "eu"), (Right.OBJECTION, "eu"),
    (Right.OBJECT_DIRECT_MARKETING, "eu"), (Right.OPT_OUT_SALE, "us-ca"), (Right.OPT_OUT_SHARING, "us-ca"),
    (Right.OPT_OUT_TARGETED_ADVERTISING, "us-va"), (Right.LIMIT_SENSITIVE, "us-ca"), (Right.WITHDRAW_CONSENT, "eu"),
]  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Database:
    return request.getfixturevalue({"sqlite": "sqlite_db", "postgresql": "postgres_db"}[request.param])  # type: ignore[no-any-return]


def service(db: Database, started: list[str]) -> RequestService:
    def render(kind: Any, request: Request, reasons: Sequence[str], extra: Mapping[str, str]) -> Any:
        return render_message(kind, request, ANKER, reasons, extra)

    return RequestService(ANKER, SqlRequests(db), SqlOutbox(db), SqlAudit(db), SqlScheduler(db, started.append),
                          render, lambda: unit_of_work(db))  # fmt: skip


@pytest.mark.parametrize(("kind", "residence"), KINDS, ids=[k.value for k, _ in KINDS])
def test_kind_from_intake_to_final_state(db: Database, kind: Right, residence: str) -> None:
    started: list[str] = []
    s = service(db, started)
    r = s.submit(Submission(kind, Requester(email=f"{kind.value}@example.test"), residence), NOW).request
    if r.needs_verification:
        assert r.state is State.RECEIPT_CONFIRMED
        r = s.act(r.request_id, Event(EventKind.VERIFIED, method="account", level="account"), NOW)
        r = s.act(r.request_id, Event(EventKind.START), NOW)
    assert r.state is State.IN_PROGRESS and started == [r.request_id]
    later = NOW + dt.timedelta(days=3)
    if kind is Right.DELETION:
        r = s.act(r.request_id, Event(EventKind.FULFIL_PARTIALLY, reasons=("invoices kept for tax law",)), later)
        assert r.state is State.PARTIALLY_FULFILLED
    else:
        r = s.act(r.request_id, Event(EventKind.FULFIL), later)
        assert r.state is State.FULFILLED
    assert r.responded_at == later and r.closed_at == later
    assert verify_chain(SqlAudit(db).entries()).ok
    assert SqlOutbox(db).for_request(r.request_id)[-1].kind == "result"


def test_denied_then_appealed_then_upheld(db: Database) -> None:
    started: list[str] = []
    s = service(db, started)
    r = s.submit(Submission(Right.ACCESS, Requester(email="upheld@example.test"), "us-va"), NOW).request
    r = s.act(r.request_id, Event(EventKind.DENY, reasons=("manifestly unfounded",)), NOW)
    r = s.appeal(r.request_id, "it is not", NOW + dt.timedelta(days=2))
    r = s.act(r.request_id, Event(EventKind.DECIDE_APPEAL, outcome="upheld", reasons=("the same request thrice",)),
              NOW + dt.timedelta(days=20))  # fmt: skip
    assert (r.state, r.response_state, r.appeal_outcome) == (State.APPEAL_DECIDED, State.DENIED, "upheld")
    assert r.closed_at is not None and started == []
    assert [m.kind for m in SqlOutbox(db).for_request(r.request_id)][-1] == "appeal_decision"


def test_denied_then_appealed_then_reversed_and_fulfilled(db: Database) -> None:
    started: list[str] = []
    s = service(db, started)
    r = s.submit(Submission(Right.ACCESS, Requester(email="appeal@example.test"), "us-va"), NOW).request
    r = s.act(r.request_id, Event(EventKind.DENY, reasons=("identity could not be verified",)), NOW)
    r = s.appeal(r.request_id, "here is my order number", NOW + dt.timedelta(days=2))
    r = s.act(r.request_id, Event(EventKind.VERIFIED, method="matching", level="order number and email"),
              NOW + dt.timedelta(days=19))  # fmt: skip
    assert r.state is State.APPEALED
    decided = NOW + dt.timedelta(days=20)
    r = s.act(r.request_id, Event(EventKind.DECIDE_APPEAL, outcome="reversed", reasons=("verified on appeal",)),
              decided)  # fmt: skip
    assert (r.state, r.response_state, r.appeal_outcome) == (State.IN_PROGRESS, State.DENIED, "reversed")
    assert started == [r.request_id] and r.due_date() == r.appeal_dates.due  # type: ignore[union-attr]
    r = s.act(r.request_id, Event(EventKind.FULFIL), decided + dt.timedelta(days=1))
    assert (r.state, r.responded_at, r.response_state) == (State.FULFILLED, NOW, State.DENIED)
    assert [m.kind for m in SqlOutbox(db).for_request(r.request_id)][-2:] == ["appeal_decision", "result"]
    actions = [e.action for e in SqlAudit(db).entries(f"request:{r.request_id}")]
    assert actions[-4:] == ["appeal", "verified", "decide_appeal", "fulfil"]
    assert verify_chain(SqlAudit(db).entries()).ok


def test_a_right_the_notice_and_law_do_not_give_is_denied(db: Database) -> None:
    r = service(db, []).submit(Submission(Right.RESTRICTION, Requester(email="r@example.test"), "us-tx"), NOW).request
    assert r.state is State.DENIED and "grants no restriction right" in r.outcome_reasons[0]


