"""privet requests, outbox, audit, metrics and fulfil: the data-subject request workflow from the command line."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from privet.commands.common import (
    EXIT_FINDINGS,
    JsonOption,
    WorkspaceOption,
    err,
    fail,
    out,
    print_json,
    workspace,
)
from privet.law.vocabulary import Right
from privet.requests.agents import AgentOutcome, Document
from privet.requests.lifecycle import AppealOutcome, Event, EventKind, RequestError
from privet.requests.model import REQUEST_KINDS, Agent, Channel, Request, Requester

if TYPE_CHECKING:
    from privet.requests.intake import Submission

requests_app = typer.Typer(help="Data-subject requests: take in, verify, advance, answer.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
fulfil_app = typer.Typer(help="Carry out requests against the company's systems.", no_args_is_help=True)

RequestId = Annotated[str, typer.Argument(help="The request id.")]
Actor = Annotated[str, typer.Option(help="Who does this, for the audit log (e.g. staff:ida).")]


def _line(r: Request, today: dt.date) -> str:
    left = r.days_left(today)
    when = f"due {r.due_date().isoformat()} ({left} days left)" if r.closed_at is None else "closed"
    return f"{r.request_id}  {r.kind.value:<28} {r.state.value:<20} {r.jurisdiction or '?':<6} {when}"


def _where(r: Request) -> str:
    """Where a request stands after a step: its deadline while open, nothing more once closed."""
    return f"{r.request_id}: {r.state.value}" + (f", due {r.due_date().isoformat()}" if r.closed_at is None else "")


@requests_app.command("list")
def list_requests(
    ws: WorkspaceOption = Path(),
    open_only: Annotated[bool, typer.Option("--open/--all", help="Only requests still open.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Requests sorted by urgency: the nearest due date first."""
    from privet.requests.codec import to_dict

    with workspace(ws) as rt:
        items = [r for r in rt.requests.all() if not open_only or r.closed_at is None]
        items.sort(key=lambda r: (r.closed_at is not None, r.due_date(), r.received_at))
        if as_json:
            print_json([to_dict(r) for r in items])
            return
        today = rt.now().date()
        for r in items:
            out.print(_line(r, today), markup=False)
        if not items:
            out.print("no open requests" if open_only else "no requests")


@requests_app.command("show")
def show(request_id: RequestId, ws: WorkspaceOption = Path(), as_json: JsonOption = False) -> None:
    """One request: its state, deadlines and the law behind them, progress per system, messages, timeline."""
    from privet.requests.codec import to_dict

    with workspace(ws) as rt:
        try:
            r = rt.request_service.get(request_id)
        except RequestError as exc:
            fail(str(exc))
        steps = rt.checkpoints.all(request_id)
        messages = rt.outbox.for_request(request_id)
        timeline = list(rt.audit.entries(f"request:{request_id}"))
        if as_json:
            print_json(
                {
                    "request": to_dict(r),
                    "steps": [
                        {
                            "phase": s.phase,
                            "collection": s.collection,
                            "state": s.state.value,
                            "rows": s.rows,
                            "error": s.error,
                        }
                        for s in steps
                    ],
                    "messages": [{"kind": m.kind, "status": m.status, "to": m.to} for m in messages],
                    "timeline": [
                        {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action} for e in timeline
                    ],
                }
            )
            return
        out.print(_line(r, rt.now().date()), markup=False)
        out.print(f"  requester: {r.requester.email or r.requester.phone or r.requester.subject_id}", markup=False)
        out.print(f"  deadline: {r.dates.rule} [{'; '.join(r.dates.cites)}]", markup=False)
        if r.dates.confirm_by:
            out.print(f"  confirm receipt by {r.dates.confirm_by}", markup=False)
        if r.dates.extended_due:
            out.print(f"  latest with an extension: {r.dates.extended_due}", markup=False)
        for note in r.notes + r.dates.notes:
            out.print(f"  note: {note}", markup=False)
        if r.outcome_reasons:
            out.print("  reasons: " + "; ".join(r.outcome_reasons), markup=False)
        for s in steps:
            out.print(
                f"  {s.phase:<8} {s.collection:<40} {s.state.value:<8} {s.rows} rows"
                + (f"  ({s.error})" if s.error else ""),
                markup=False,
            )
        for m in messages:
            out.print(f"  message {m.kind} to {m.to}: {m.status}", markup=False)
        for e in timeline:
            out.print(f"  {e.seq:>5} {e.at.isoformat()} {e.actor:<14} {e.action}", markup=False)


@requests_app.command("submit")
def submit(
    kind: Annotated[Right, typer.Option(help="The right exercised.")],
    email: Annotated[str | None, typer.Option(help="The person's email address.")] = None,
    name: Annotated[str | None, typer.Option(help="The person's name.")] = None,
    phone: Annotated[str | None, typer.Option(help="The person's phone number.")] = None,
    jurisdiction: Annotated[str | None, typer.Option(help="Where the person lives (eu, uk, us-ca ...).")] = None,
    language: Annotated[str, typer.Option(help="Language for messages.")] = "en",
    details: Annotated[str, typer.Option(help="What the person wrote (for corrections: field = value lines).")] = "",
    agent: Annotated[str | None, typer.Option(help="An authorised agent's name, when one acts for the person.")] = None,
    agent_email: Annotated[str | None, typer.Option(help="The agent's email address.")] = None,
    agent_evidence: Annotated[
        Document | None, typer.Option(help="The agent's evidence of authority (review it with agent-review).")
    ] = None,
    agent_document: Annotated[
        str | None, typer.Option(help="Where the agent's document is kept (a file name or reference, not its content).")
    ] = None,
    agent_scope: Annotated[
        list[Right], typer.Option(help="A right the agent's authority covers (repeat); none given: every right.")
    ] = [],  # noqa: B006
    channel: Annotated[Channel, typer.Option(help="How the request arrived.")] = Channel.CLI,
    ws: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Take in a request: the person's residence decides the law, the deadlines and what happens next."""
    from privet.requests.intake import Submission

    if agent is None and (agent_email or agent_evidence or agent_document or agent_scope):
        fail("--agent-email, --agent-evidence, --agent-document and --agent-scope describe an agent: name it with "
             "--agent NAME")  # fmt: skip
    acting = None
    if agent:
        evidence = agent_evidence.value if agent_evidence else ""
        acting = Agent(agent, agent_email, evidence, agent_document, tuple(agent_scope))
    submission = Submission(
        kind, Requester(email=email, name=name, phone=phone, language=language), jurisdiction, channel, acting, details
    )
    _take_in(ws, submission, as_json)


@requests_app.command("import")
def import_request(
    file: Annotated[
        Path, typer.Argument(help="An email saved as .eml, or a form export as .json.", exists=True, dir_okay=False)
    ],
    kind: Annotated[Right | None, typer.Option(help="The right exercised, where the file does not say.")] = None,
    jurisdiction: Annotated[str | None, typer.Option(help="Where the person lives, if the file does not say.")] = None,
    ws: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Take in a request that came by email (.eml: the sender is the person) or as a form export (.json)."""
    import json

    from privet.requests.imports import from_email, from_form

    try:
        if file.suffix.lower() == ".eml":
            submission = from_email(file.read_bytes(), kind, jurisdiction)
        elif file.suffix.lower() == ".json":
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                fail(f"{file}: not JSON: {exc}")
            submission = from_form(data, kind, jurisdiction)
        else:
            fail(f"{file}: import reads an email saved as .eml or a form export as .json")
    except RequestError as exc:
        fail(f"{file}: {exc}")
    _take_in(ws, submission, as_json)


def _take_in(ws: Path, submission: Submission, as_json: bool) -> None:
    with workspace(ws) as rt:
        try:
            done = rt.request_service.submit(submission, rt.now(), actor="staff:cli")
        except RequestError as exc:
            fail(str(exc))
        for note in rt.dispatch():  # notes on stderr: stdout carries the answer (JSON with --json)
            err.print(note, markup=False)
        r = rt.request_service.get(done.request.request_id)  # as it stands after fulfilment ran, if it did
        if as_json:
            print_json(
                {
                    "request_id": r.request_id,
                    "state": r.state.value,
                    "due": r.due_date().isoformat(),
                    "duplicate": done.duplicate,
                }
            )
        elif done.duplicate:
            out.print(f"already open as {r.request_id} ({r.state.value}); not taken in twice", markup=False)
        else:
            out.print(_where(r), markup=False)
            if r.agent is not None and not r.agent.reviewed:
                out.print(f"  the agent's authority awaits review: privet requests agent-review {r.request_id} ...",
                          markup=False)  # fmt: skip


def _act(ws: Path, request_id: str, event: Event, actor: str) -> None:
    with workspace(ws) as rt:
        try:
            r = rt.request_service.act(request_id, event, rt.now(), actor)
        except (RequestError, ValueError) as exc:
            fail(str(exc), EXIT_FINDINGS)
        notes = rt.dispatch()
        if notes:  # fulfilment ran: say where the request stands now
            r = rt.request_service.get(request_id)
        out.print(_where(r), markup=False)
        for note in notes:
            out.print(f"  {note}", markup=False)


@requests_app.command("verify")
def verify(
    request_id: RequestId,
    send_code: Annotated[bool, typer.Option("--send-code", help="Email a one-time code.")] = False,
    code: Annotated[str | None, typer.Option(help="Check the code the person gives.")] = None,
    method: Annotated[
        str | None, typer.Option(help="Record a verification done another way (account, matching).")
    ] = None,
    account_token: Annotated[str | None, typer.Option(help="A token from the company's auth system.")] = None,
    point: Annotated[list[str], typer.Option(help="A data point the person gave: name=value (repeat).")] = [],  # noqa: B006
    declaration: Annotated[
        bool, typer.Option(help="The person signed the declaration under penalty of perjury.")
    ] = False,
    actor: Actor = "staff:cli",
    ws: WorkspaceOption = Path(),
) -> None:
    """Verify the requester: send or check an email code, or record another method."""
    with workspace(ws) as rt:
        try:
            if send_code:
                r = rt.request_service.send_code(request_id, rt.settings.secret_key, rt.now())
                out.print(f"{r.request_id}: a code was sent ({r.state.value}); see privet outbox", markup=False)
            elif code is not None:
                result = rt.request_service.check_code(request_id, rt.settings.secret_key, code, rt.now())
                out.print(
                    f"code {result.status.value}" + ("" if result.ok else f", {result.attempts_left} tries left"),
                    markup=False,
                )
                if not result.ok:
                    raise typer.Exit(EXIT_FINDINGS)
            elif account_token is not None:
                keys = [bytes.fromhex(k) for k in os.environ.get("PRIVET_ACCOUNT_TOKEN_KEYS", "").split(",") if k]
                r = rt.request_service.verify_by_account(request_id, keys, account_token, rt.now())
                out.print(f"{request_id}: verified ({r.verification_level})", markup=False)
            elif point:
                from privet.fulfilment.executor import FulfilmentError
                from privet.fulfilment.plan import PlanError
                from privet.workspace.fulfil import held_points

                provided = dict(p.partition("=")[::2] for p in point)
                try:
                    held = held_points(rt, rt.request_service.get(request_id))
                except (FulfilmentError, PlanError) as exc:
                    fail(f"{request_id}: cannot read what the company holds to compare the data points with: {exc}. "
                         "Connect the systems in privet.toml ([systems]), or record a verification done another "
                         "way: privet requests verify ID --method NAME", EXIT_FINDINGS)  # fmt: skip
                outcome = rt.request_service.verify_by_matching(
                    request_id, provided, held, declaration, rt.now(), actor
                )
                out.print(
                    f"{outcome.count} of {outcome.required} data points matched: {', '.join(outcome.matched) or 'none'}"
                    + ("; verified" if outcome.met else "; not verified"),
                    markup=False,
                )
                for reason in outcome.reasons:
                    out.print(f"  {reason}", markup=False)
                if not outcome.met:
                    raise typer.Exit(EXIT_FINDINGS)
            elif method:
                rt.request_service.act(
                    request_id, Event(EventKind.VERIFIED, method=method, level=method), rt.now(), actor
                )
                out.print(f"{request_id}: verified by {method}", markup=False)
            else:
                fail("say how: --send-code, --code CODE, --account-token T, --point name=value ... or --method M")
        except RequestError as exc:
            fail(str(exc), EXIT_FINDINGS)


@requests_app.command("advance")
def advance(
    request_id: RequestId,
    event: Annotated[EventKind, typer.Argument(help="The step: start, fulfil, confirm_receipt ...")],
    reason: Annotated[list[str], typer.Option(help="A reason told to the person (repeat for several).")] = [],  # noqa: B006
    outcome: Annotated[AppealOutcome | None, typer.Option(help="For decide_appeal: upheld or reversed.")] = None,
    actor: Actor = "staff:cli",
    ws: WorkspaceOption = Path(),
) -> None:
    """Move a request one step along its lifecycle."""
    if event is EventKind.APPEAL:
        fail("an appeal is recorded with privet requests appeal ID --text ..., which applies its law")
    if outcome is not None and event is not EventKind.DECIDE_APPEAL:
        fail("--outcome is for decide_appeal only")
    _act(ws, request_id, Event(event, reasons=tuple(reason), outcome=outcome.value if outcome else None, actor=actor),
         actor)  # fmt: skip


@requests_app.command("decide-appeal")
def decide_appeal(
    request_id: RequestId,
    outcome: Annotated[AppealOutcome, typer.Option(help="upheld: the decision stands; reversed: act on the request.")],
    reason: Annotated[list[str], typer.Option(help="Why, told to the person in writing (repeat for several).")],
    actor: Actor = "staff:cli",
    ws: WorkspaceOption = Path(),
) -> None:
    """Decide an appeal. Upheld ends the request; reversed starts fulfilment, to end fulfilled or partly fulfilled."""
    event = Event(EventKind.DECIDE_APPEAL, reasons=tuple(reason), outcome=outcome.value, actor=actor)
    _act(ws, request_id, event, actor)


@requests_app.command("agent-review")
def agent_review(
    request_id: RequestId,
    document: Annotated[Document, typer.Option(help="The kind of document the agent sent.")],
    names_person: Annotated[bool, typer.Option(help="It gives the person's name and contact details.")] = False,
    names_agent: Annotated[bool, typer.Option(help="It names the agent, with contact details.")] = False,
    states_authorisation: Annotated[
        bool, typer.Option(help="It states that the person authorises the agent to act for them.")
    ] = False,
    signed: Annotated[bool, typer.Option(help="It is signed by the person.")] = False,
    person_confirmed: Annotated[bool, typer.Option(help="The person confirmed the agent to us directly.")] = False,
    actor: Actor = "staff:cli",
    ws: WorkspaceOption = Path(),
) -> None:
    """Record the review of an authorised agent's evidence: approved, rejected, or the person is asked to confirm."""
    from privet.requests.agents import AgentEvidence

    evidence = AgentEvidence(document, names_person, names_agent, states_authorisation, signed, person_confirmed)
    with workspace(ws) as rt:
        try:
            done = rt.request_service.review_agent(request_id, evidence, rt.now(), actor)
        except RequestError as exc:
            fail(str(exc), EXIT_FINDINGS)
        notes = rt.dispatch()
        r = rt.request_service.get(request_id) if notes else done.request
        out.print(f"{request_id}: agent {done.review.outcome.value} ({r.state.value})", markup=False)
        for reason in done.review.reasons:
            out.print(f"  {reason}", markup=False)
        for cite in done.review.cites:
            out.print(f"  rule: {cite}" + (" (inferred)" if done.review.inferred else ""), markup=False)
        if done.review.outcome is AgentOutcome.NEEDS_PERSON_CONFIRMATION:
            out.print("  the person was asked to confirm (privet outbox)" if done.asked_person else
                      "  the person has no email address: ask them to confirm another way, then review again with "
                      "--person-confirmed", markup=False)  # fmt: skip
        for note in notes:
            out.print(f"  {note}", markup=False)
        if not done.review.approved:
            raise typer.Exit(EXIT_FINDINGS)


@requests_app.command("extend")
def extend(
    request_id: RequestId,
    reason: Annotated[str, typer.Option(help="Why, told to the person.")],
    actor: Actor = "staff:cli",
    ws: WorkspaceOption = Path(),
) -> None:
    """Extend the deadline once, as the law allows, telling the person why."""
    _act(ws, request_id, Event(EventKind.EXTEND, reasons=(reason,), actor=actor), actor)


@requests_app.command("deny")
def deny(
    request_id: RequestId,
    reason: Annotated[list[str], typer.Option(help="Why (repeat for several).")],
    actor: Actor = "staff:cli",
    ws: WorkspaceOption = Path(),
) -> None:
    """Deny the request with reasons; the person is told where to complain and how to appeal."""
    _act(ws, request_id, Event(EventKind.DENY, reasons=tuple(reason), actor=actor), actor)


@requests_app.command("appeal")
def appeal(
    request_id: RequestId,
    text: Annotated[str, typer.Option(help="The appeal, in the person's words.")],
    ws: WorkspaceOption = Path(),
) -> None:
    """Record the person's appeal against the decision (where the law gives one, within its window)."""
    with workspace(ws) as rt:
        try:
            r = rt.request_service.appeal(request_id, text, rt.now())
        except RequestError as exc:
            fail(str(exc), EXIT_FINDINGS)
        out.print(f"{r.request_id}: {r.state.value}, decide by {r.due_date().isoformat()}", markup=False)


def outbox(
    ws: WorkspaceOption = Path(),
    request_id: Annotated[str | None, typer.Option("--request")] = None,
    full: Annotated[bool, typer.Option(help="Print whole messages.")] = False,
    send: Annotated[bool, typer.Option("--send", help="Send what is queued now, via the [mail] SMTP server.")] = False,
) -> None:
    """Messages to people. Without SMTP settings nothing is mailed: read them here (codes included) and pass them on."""
    from privet.requests.messages import shown_to_staff

    with workspace(ws) as rt:
        mailing = rt.settings.mail.configured
        if send:
            from privet.jobs.delivery import deliver_pending

            if not mailing:
                fail("no SMTP server configured: set [mail] host in privet.toml or PRIVET_SMTP_HOST; until then "
                     "read the messages with privet outbox --full and pass them on")  # fmt: skip
            done = deliver_pending(rt)
            for error in done.errors:
                err.print(error, markup=False)
            out.print(f"{done.sent} sent, {done.retrying} to retry, {done.failed} failed", markup=False)
            if done.failed or done.retrying:
                raise typer.Exit(EXIT_FINDINGS)
            return
        items = rt.outbox.for_request(request_id) if request_id else rt.outbox.all()
        for m in items:
            out.print(f"{m.created_at.isoformat()} [{m.status}] {m.kind} to {m.to}: {m.subject}", markup=False)
            if full:
                out.print(shown_to_staff(m.kind, m.body, mailing) + "\n", markup=False)


@audit_app.command("verify")
def audit_verify(
    ws: WorkspaceOption = Path(),
    anchor: Annotated[
        str | None, typer.Option(help="A checkpoint printed earlier, to detect removal of the newest entries.")
    ] = None,
) -> None:
    """Check the audit chain: any edited, removed, reordered or inserted entry is found (exit 1)."""
    from privet.audit import verify_chain

    with workspace(ws) as rt:
        report = verify_chain(rt.audit.entries(), anchor)
        for problem in report.problems:
            out.print(problem, markup=False)
        if not report.ok:
            raise typer.Exit(EXIT_FINDINGS)
        out.print(f"{report.entries_checked} entries verified; checkpoint: {report.checkpoint()}", markup=False)


def metrics(
    year: Annotated[int, typer.Option(help="The calendar year.")],
    output_format: Annotated[str, typer.Option("--format", help="md, csv or json")] = "md",
    ws: WorkspaceOption = Path(),
) -> None:
    """CCPA 11 CCR 7102 request metrics for a year, per request type and per jurisdiction."""
    from privet.reports.metrics import MetricsError, render_metrics, request_metrics

    with workspace(ws) as rt:
        try:
            # Request types only: appeals are figures of the requests they contest, complaints go to regulators.
            text = render_metrics(request_metrics(rt.requests.all(), year, kinds=REQUEST_KINDS), output_format)  # type: ignore[arg-type]
        except MetricsError as exc:
            fail(str(exc))
        out.print(text, markup=False)


@fulfil_app.command("plan")
def fulfil_plan(request_id: RequestId, ws: WorkspaceOption = Path()) -> None:
    """Print what fulfilment will read (and erase, for deletions), in order, without touching anything."""
    from privet.fulfilment.graph import build_graph
    from privet.fulfilment.plan import PlanError, plan_access, plan_erasure
    from privet.workspace.fulfil import identities_of

    with workspace(ws) as rt:
        try:
            r = rt.request_service.get(request_id)
            graph = build_graph(rt.manifest.datasets)
            ids = identities_of(rt, r)
            plan = plan_erasure(graph, ids) if r.kind is Right.DELETION else plan_access(graph, ids)
        except (RequestError, PlanError) as exc:
            fail(str(exc))
        for line in plan.describe():
            out.print(line, markup=False)


@fulfil_app.command("run")
def fulfil_run(request_id: RequestId, ws: WorkspaceOption = Path(), actor: Actor = "system") -> None:
    """Carry out a request in progress; run it again after a failure to finish what remains."""
    from privet.fulfilment.executor import FulfilmentError
    from privet.fulfilment.plan import PlanError
    from privet.workspace.fulfil import fulfil_request

    with workspace(ws) as rt:
        try:
            r = fulfil_request(rt, request_id, actor)
        except (FulfilmentError, PlanError, RequestError) as exc:
            fail(f"{request_id}: {exc}", EXIT_FINDINGS)
        out.print(
            f"{r.request_id}: {r.state.value}" + (f" ({'; '.join(r.outcome_reasons)})" if r.outcome_reasons else ""),
            markup=False,
        )


def worker(
    ws: WorkspaceOption = Path(),
    workers: Annotated[int, typer.Option(help="Worker threads.")] = 2,
) -> None:
    """Run the job queue's worker: fulfilment, retries, and sending the outbox (set [jobs] mode = "queue")."""
    import os

    os.environ["PRIVET_WORKSPACE"] = str(ws.resolve())
    from huey.consumer import Consumer

    from privet.jobs.queue import queue

    Consumer(queue(), workers=workers, worker_type="thread", periodic=True).run()
