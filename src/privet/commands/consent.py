"""privet consent, decide, enforce and gpp: the ledger, decisions one at a time or in bulk, and GPP strings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from privet.commands.common import EXIT_FINDINGS, JsonOption, WorkspaceOption, fail, out, print_json, workspace
from privet.consent.events import LedgerError, Source
from privet.consent.identifiers import Identifier, InvalidIdentifier

if TYPE_CHECKING:
    from privet.engines.enforce import Summary
    from privet.engines.subject_index import SubjectIndex
    from privet.policy.bulk import BulkPlan

consent_app = typer.Typer(help="Record and show consent choices; check the ledger.", no_args_is_help=True)
gpp_app = typer.Typer(help="IAB Global Privacy Platform strings.", no_args_is_help=True)

SubjectOption = Annotated[str | None, typer.Option("--subject", help="A subject id.")]
IdentifierOption = Annotated[
    str | None, typer.Option("--identifier", "-i", help="kind:value, e.g. email:ann@example.com, phone:+4420...")
]


def _identifier(text: str | None) -> Identifier | None:
    if text is None:
        return None
    try:
        return Identifier.parse(text)
    except InvalidIdentifier as exc:
        fail(f"--identifier: {exc}")


def _subject_id(runtime: object, subject: str | None, identifier: str | None) -> str:
    from privet.workspace.runtime import Runtime

    assert isinstance(runtime, Runtime)
    if subject:
        found = runtime.subjects.get(subject)
        if found is None:
            fail(f"no subject {subject!r}")
        return found.subject_id
    ident = _identifier(identifier)
    if ident is None:
        fail("name the person: --subject ID or --identifier kind:value")
    found_id = runtime.subjects.find(ident)
    if found_id is None:
        fail(f"privet knows nobody with {ident}")
    return found_id


@consent_app.command("record")
def record(
    key: Annotated[str, typer.Option("--key", help="A consent key of the manifest, or a signal such as opt_out.sale.")],
    grant: Annotated[bool, typer.Option("--grant/--withdraw", help="Give (or put in force) or withdraw.")],
    ws: WorkspaceOption = Path(),
    subject: SubjectOption = None,
    identifier: IdentifierOption = None,
    source: Annotated[Source, typer.Option(help="Where the choice was made.")] = Source.API,
    scope: Annotated[str, typer.Option(help="A campaign, for per-campaign marketing choices.")] = "",
    at: Annotated[str | None, typer.Option(help="When the person chose (ISO 8601 with timezone); default now.")] = None,
    event_id: Annotated[
        str | None, typer.Option(help="An id from the calling system: the same id twice is one event.")
    ] = None,
    jurisdiction: Annotated[str | None, typer.Option(help="Where the person lives, e.g. eu, us-ca.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Record one choice in the append-only ledger."""
    from privet.consent.ledger import ChoiceInput

    when = None
    if at:
        try:
            when = dt.datetime.fromisoformat(at)
        except ValueError:
            fail(f"--at {at!r} is not an ISO 8601 time, e.g. 2025-01-31T10:00:00+00:00")
    with workspace(ws) as rt:
        choice = ChoiceInput(
            key,
            grant,
            source,
            subject_id=subject,
            identifier=_identifier(identifier),
            scope=scope,
            at=when,
            event_id=event_id,
            jurisdiction=jurisdiction,
        )
        try:
            done = rt.ledger.record([choice], rt.now())
        except LedgerError as exc:
            fail(str(exc))
        if as_json:
            print_json(
                {
                    "subject": done.subject_id,
                    "appended": done.result.appended,
                    "duplicates": done.result.duplicates,
                    "event_ids": list(done.event_ids),
                }
            )
        else:
            what = "recorded" if done.result.appended else "already recorded (same event id)"
            out.print(
                f"{what}: {key} {'granted' if grant else 'withdrawn'} for subject {done.subject_id}", markup=False
            )


@consent_app.command("show")
def show(
    ws: WorkspaceOption = Path(),
    subject: SubjectOption = None,
    identifier: IdentifierOption = None,
    as_json: JsonOption = False,
) -> None:
    """The person's current choices (the projection of the ledger)."""
    with workspace(ws) as rt:
        sid = _subject_id(rt, subject, identifier)
        choices = rt.ledger.choices(sid)
        rows = sorted(choices.choices.values(), key=lambda c: (c.key, c.scope))
        if as_json:
            print_json(
                {
                    "subject": sid,
                    "choices": [
                        {
                            "key": c.key,
                            "scope": c.scope,
                            "granted": c.granted,
                            "at": c.at.isoformat(),
                            "event_id": c.event_id,
                            "source": c.source.value,
                        }
                        for c in rows
                    ],
                }
            )
            return
        out.print(f"subject {sid}", markup=False)
        for c in rows:
            scope = f" [{c.scope}]" if c.scope else ""
            state = "granted" if c.granted else "withdrawn"
            out.print(
                f"  {c.key}{scope}: {state} at {c.at.isoformat()} via {c.source.value} ({c.event_id})", markup=False
            )
        if not rows:
            out.print("  no choices recorded")


@consent_app.command("history")
def history(
    ws: WorkspaceOption = Path(),
    subject: SubjectOption = None,
    identifier: IdentifierOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every event of the person, in ledger order."""
    with workspace(ws) as rt:
        sid = _subject_id(rt, subject, identifier)
        events = rt.ledger.history(sid)
        if as_json:
            print_json(
                [
                    {
                        "seq": r.seq,
                        "event_id": r.event.event_id,
                        "key": r.event.key,
                        "scope": r.event.scope,
                        "granted": r.event.granted,
                        "source": r.event.source.value,
                        "at": r.event.at.isoformat(),
                        "recorded_at": r.recorded_at.isoformat(),
                        "notice_hash": r.event.notice_hash,
                    }
                    for r in events
                ]
            )
            return
        for r in events:
            e = r.event
            out.print(
                f"{r.seq:>6} {e.at.isoformat()} {e.key}{'[' + e.scope + ']' if e.scope else ''} "
                f"{'granted' if e.granted else 'withdrawn'} via {e.source.value}",
                markup=False,
            )


@consent_app.command("verify")
def verify(
    ws: WorkspaceOption = Path(), rebuild: Annotated[bool, typer.Option(help="Rebuild it from the ledger.")] = False
) -> None:
    """Check that the current-state projection agrees with the ledger (exit 1 if not)."""
    with workspace(ws) as rt:
        problems = rt.consents.verify_projection()
        for p in problems:
            out.print(p, markup=False)
        if problems and rebuild:
            rows = rt.consents.rebuild_projection()
            out.print(f"rebuilt the projection from the ledger: {rows} rows")
            problems = rt.consents.verify_projection()
        if problems:
            raise typer.Exit(EXIT_FINDINGS)
        out.print("the projection agrees with the ledger")


def decide(
    purpose: Annotated[str, typer.Option(help="The purpose of the use, a taxonomy key.")],
    category: Annotated[str, typer.Option(help="The data category used.")],
    ws: WorkspaceOption = Path(),
    subject: SubjectOption = None,
    identifier: IdentifierOption = None,
    recipient: Annotated[str | None, typer.Option(help="Who receives the data, if anyone.")] = None,
    as_json: JsonOption = False,
    fail_on_deny: Annotated[bool, typer.Option(help="Exit 1 when denied.")] = False,
) -> None:
    """May PURPOSE use CATEGORY of this person (sent to RECIPIENT)? Allow or deny, with every reason."""
    from privet.policy.compiled import PolicyError

    with workspace(ws) as rt:
        sid = _subject_id(rt, subject, identifier)
        view = rt.policy.view(rt.subjects.get(sid), rt.ledger.choices(sid), rt.now().date())
        try:
            d = rt.policy.decide(view, category, purpose, recipient)
        except PolicyError as exc:
            fail(str(exc))
        evidence = view.evidence(d)
        if as_json:
            print_json({**d.as_json(), "subject": sid, "evidence_event": evidence})
        else:
            out.print(f"{d.outcome.value.upper()} ({d.rule.value})", markup=False)
            for reason in d.reasons:
                out.print(f"  - {reason}", markup=False)
            if evidence:
                out.print(f"  evidence: ledger event {evidence}", markup=False)
            if d.cites:
                out.print(f"  see: {'; '.join(d.cites)}", markup=False)
        if fail_on_deny and not d.allowed:
            raise typer.Exit(EXIT_FINDINGS)


@gpp_app.command("decode")
def gpp_decode(text: Annotated[str, typer.Argument(help="A GPP string.")], as_json: JsonOption = False) -> None:
    """Decode a GPP string (usnat in full; other sections kept as they are)."""
    import dataclasses

    from privet.consent.gpp import GppError, decode_gpp

    try:
        decoded = decode_gpp(text)
    except GppError as exc:
        fail(f"not a valid GPP string: {exc}")
    sections = [
        {"type": type(s).__name__, **{k: getattr(v, "name", v) for k, v in dataclasses.asdict(s).items()}}
        for s in decoded.sections
    ]
    if as_json:
        print_json({"sections": sections, "notes": list(decoded.notes)})
    else:
        for section in sections:
            out.print(section, markup=False)


@gpp_app.command("encode")
def gpp_encode(
    ws: WorkspaceOption = Path(), subject: SubjectOption = None, identifier: IdentifierOption = None
) -> None:
    """The GPP string (usnat + GPC) of a person's current choices, to hand to ad partners."""
    from privet.consent.events import Signal
    from privet.consent.gpp import encode_gpp, usnat_from_choices

    with workspace(ws) as rt:
        sid = _subject_id(rt, subject, identifier)
        choices = rt.ledger.choices(sid)
        gpc = any(c.source is Source.GPC and c.granted for c in choices.choices.values())
        usnat = usnat_from_choices(
            sale_opt_out=choices.signal(Signal.OPT_OUT_SALE) is not None,
            sharing_opt_out=choices.signal(Signal.OPT_OUT_SHARING) is not None,
            targeted_ads_opt_out=choices.signal(Signal.OPT_OUT_TARGETED_ADVERTISING) is not None,
            gpc=gpc,
            notices_given=True,
            sensitive_limited=choices.signal(Signal.LIMIT_SENSITIVE) is not None,
            known_child=bool(
                (s := rt.subjects.get(sid)) and rt.policy.minor_on(s.birth_date, s.known_minor, rt.now().date())
            ),
        )
        out.print(encode_gpp([usnat]), markup=False)


def _enforce_spark(plan: BulkPlan, index: SubjectIndex, source: Path, output: Path) -> Summary:
    try:
        from privet.engines import spark

        return spark.enforce_parquet(spark.local_session(), plan, index, source, output)
    except (ImportError, RuntimeError) as exc:  # no pyspark, no Java
        fail(f"--engine spark: {exc}")


def enforce(
    purpose: Annotated[str, typer.Option(help="The purpose the output will be used for.")],
    source: Annotated[Path, typer.Argument(help="A .parquet or .csv file of events or records.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the result (.parquet or .csv).")],
    subject_column: Annotated[str, typer.Option(help="The column holding the person's identifier.")],
    identifier_kind: Annotated[
        str, typer.Option(help="What that column holds: user_id, email, phone, ...")
    ] = "user_id",
    mapping: Annotated[
        list[str], typer.Option("--map", help="COLUMN=CATEGORY, once per column with personal data.")
    ] = [],  # noqa: B006
    passthrough: Annotated[list[str], typer.Option(help="A column without personal data, kept as it is.")] = [],  # noqa: B006
    recipient: Annotated[str | None, typer.Option(help="Who will receive the output.")] = None,
    engine: Annotated[
        str, typer.Option(help="local (Arrow/NumPy), or spark: Parquet in, a Parquet folder out (privet[spark])")
    ] = "local",
    ws: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Drop the rows of people who may not be used for PURPOSE and null the columns whose category may not."""
    from privet.consent.identifiers import IdentifierKind
    from privet.engines.enforce import EnforceError, enforce_file
    from privet.engines.store_index import subject_index
    from privet.policy.bulk import IDENTIFIER_CATEGORIES, PlanError, plan_enforcement

    if engine not in ("local", "spark"):
        fail(f"--engine {engine!r}: local or spark")
    columns = {}
    for item in mapping:
        column, sep, category = item.partition("=")
        if not sep:
            fail(f"--map {item!r}: write COLUMN=CATEGORY")
        columns[column.strip()] = category.strip()
    try:
        kind = IdentifierKind(identifier_kind)
    except ValueError:
        fail(f"--identifier-kind {identifier_kind!r}: one of {', '.join(k.value for k in IdentifierKind)}")
    with workspace(ws) as rt:
        index = subject_index(rt, kind)
        try:
            plan = plan_enforcement(
                rt.policy, purpose, recipient, subject_column, IDENTIFIER_CATEGORIES[kind], columns, passthrough
            )
            summary = (_enforce_spark if engine == "spark" else enforce_file)(plan, index, source, output)
        except (PlanError, EnforceError, ValueError) as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"{source}: {exc}")
        if as_json:
            print_json(summary.as_json())
        else:
            for line in plan.describe():
                out.print(line, markup=False)
            out.print(f"{summary.rows_in:,} rows in, {summary.rows_out:,} out, written to {output}", markup=False)
            for rule, n in sorted(summary.rows_dropped.items()):
                out.print(f"  rows dropped ({rule}): {n:,}", markup=False)
            for column, counts in sorted(summary.cells_nulled.items()):
                for rule, n in sorted(counts.items()):
                    out.print(f"  {column} nulled ({rule}): {n:,}", markup=False)
            for column, rule in sorted(summary.columns_dropped.items()):
                out.print(f"  column {column} dropped ({rule})", markup=False)
