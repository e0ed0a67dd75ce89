"""The end-to-end scenario `make demo` runs on a manifest.

1. Check the manifest and generate every document from it.
2. Make a workspace (SQLite) and a small company of synthetic people in SQLite databases, one per system.
3. Record choices and ask the policy engine, one decision at a time and over a file in bulk; make a de-identified
   analytics export of the accounts through the manifest's `analytics` profile (refused, and said so, below k);
   place a legal hold and plan retention over the company's databases as of today (planned, nothing changed).
4. Take an access request and an erasure request from intake to their answers, against the company's databases.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from privet.consent.events import Signal, Source
from privet.consent.identifiers import Identifier, IdentifierKind
from privet.consent.ledger import ChoiceInput
from privet.law.vocabulary import Right
from privet.manifest.diagnostics import ManifestUnreadable, Severity
from privet.manifest.fides import export_fides_text
from privet.manifest.lint import lint
from privet.manifest.model import Manifest
from privet.reports.diff import diff_manifests
from privet.reports.disclosures import render_disclosures
from privet.reports.graph import graph_svg
from privet.reports.notice import render_notice
from privet.reports.ropa import ropa_csv, ropa_xlsx
from privet.requests.intake import Submission
from privet.requests.lifecycle import Event, EventKind
from privet.requests.model import Requester
from privet.workspace.files import write_atomic
from privet.workspace.manifest_files import load_manifest

Document = tuple[str, str, Callable[[Manifest], str | bytes]]

DOCUMENTS: list[Document] = [
    ("notice.html", "privacy notice (HTML)", lambda m: render_notice(m, "html")),
    ("notice.md", "privacy notice (Markdown)", lambda m: render_notice(m, "md")),
    ("ropa.csv", "record of processing, GDPR Art. 30(1)", ropa_csv),
    ("ropa.xlsx", "record of processing (Excel)", ropa_xlsx),
    ("us-disclosures.html", "US state disclosures (HTML)", lambda m: render_disclosures(m, "html")),
    ("us-disclosures.json", "US state disclosures (JSON)", lambda m: render_disclosures(m, "json")),
    ("data-flow.svg", "data-flow graph", graph_svg),
    ("fides-datasets.yml", "datasets and systems as Fides YAML", export_fides_text),
]


class DemoFailed(Exception):
    pass


def run_demo(manifest_dir: Path, output: Path, console: Console, people: int = 200) -> Path:
    """Run the scenario; returns the workspace it made (the server can then serve it)."""
    console.rule(f"privet demo: {manifest_dir}")
    started = time.perf_counter()
    try:
        loaded = load_manifest(manifest_dir)
    except ManifestUnreadable as exc:
        for d in exc.diagnostics:
            console.print(d.render(), markup=False)
        raise DemoFailed(f"{manifest_dir} could not be read") from None
    findings = lint(loaded)
    m = loaded.manifest
    errors = [f for f in findings if f.severity is Severity.ERROR]
    for f in findings:
        console.print(f.render(), markup=False)
    if errors:
        raise DemoFailed(f"{manifest_dir} has {len(errors)} error(s); fix them (privet check) and run again")
    console.print(
        f"1. checked {len(loaded.index.files)} files: {len(m.activities)} activities, {len(m.product_families)} "
        f"product families, {len(m.recipients)} recipients, {len(m.datasets)} datasets in "
        f"{time.perf_counter() - started:.2f} s"
    )
    table = Table("file", "document", "size")
    for name, what, render in DOCUMENTS:
        path = output / "documents" / name
        write_atomic(path, render(m))
        table.add_row(str(path), what, f"{path.stat().st_size:,} B")
    console.print(table)
    console.print(f"   the manifest diffed against itself: {len(diff_manifests(m, m))} change(s), as it should be")
    return _scenario(manifest_dir, m, output, console, people)


def _scenario(manifest_dir: Path, m: Manifest, output: Path, console: Console, people: int) -> Path:
    from privet.workspace.runtime import init_workspace, open_runtime
    from privet.workspace.seed import connector_settings, seed_company_data

    ws = output / "workspace"
    if ws.exists():
        shutil.rmtree(ws)  # the demo's own folder: start it afresh every run
    init_workspace(ws, manifest_dir)
    company = seed_company_data(m, output / "company", people=people)
    with (ws / "privet.toml").open("a", encoding="utf-8") as f:
        for system, config in connector_settings(company).items():
            f.write(f'\n[systems.{system}]\nkind = "{config["kind"]}"\nurl = "{config["url"]}"\n')
    console.print(
        f"2. workspace {ws} (SQLite); company data for {len(company.people)} synthetic people in "
        f"{len(company.urls)} system databases under {company.folder}"
    )
    rt = open_runtime(ws)
    try:
        now = rt.now()
        ann, bob = company.people[0], company.people[1]
        rt.ledger.record(
            [
                ChoiceInput(
                    "share_app_analytics",
                    True,
                    Source.APP_SETTING,
                    identifier=_email(ann.email),
                    jurisdiction="eu",
                    at=now - dt.timedelta(days=30),
                ),
                ChoiceInput("share_app_analytics", False, Source.APP_SETTING, identifier=_email(ann.email), at=now),
                ChoiceInput(
                    Signal.OPT_OUT_SALE.value,
                    True,
                    Source.GPC,
                    identifier=_email(bob.email),
                    jurisdiction="us-ca",
                    at=now,
                ),
            ],
            now,
        )
        sid = rt.subjects.find(_email(ann.email))
        assert sid is not None
        view = rt.policy.view(rt.subjects.get(sid), rt.ledger.choices(sid), now.date())
        d = rt.policy.decide(view, "user.behavior.usage", "analytics.usage")
        console.print(
            f"3. {ann.email} withdrew app analytics: analytics.usage of usage data is {d.outcome.value} "
            f"({d.rule.value}; evidence {view.evidence(d)})"
        )
        _bulk(rt, company, output, console)
        deid_export(rt, output, console)
        retention_plan(rt, output, console)
        _requests(rt, ann.email, bob.email, console)
    finally:
        rt.close()
    console.print(f"[bold]done: documents in {output / 'documents'}, workspace in {ws}[/bold]")
    return ws


def _email(address: str) -> Identifier:
    return Identifier(IdentifierKind.EMAIL, address.lower())


def _bulk(rt: object, company: object, output: Path, console: Console) -> None:
    from privet.engines.enforce import enforce_file
    from privet.engines.store_index import subject_index
    from privet.policy.bulk import IDENTIFIER_CATEGORIES, plan_enforcement
    from privet.workspace.runtime import Runtime
    from privet.workspace.seed import SeedResult

    assert isinstance(rt, Runtime) and isinstance(company, SeedResult)
    # App analytics needs the "Share App Analytics" setting: a third of the app's users turned it on.
    sharing = [
        ChoiceInput(
            "share_app_analytics",
            True,
            Source.APP_SETTING,
            identifier=Identifier(IdentifierKind.USER_ID, p.user_id),
            jurisdiction="eu",
        )
        for p in company.people[::3]
    ]
    rt.ledger.record(sharing, rt.now())
    user_ids = [p.user_id for p in company.people] * 50
    events = pa.table({"user_id": user_ids, "screen": [f"/screen/{i % 17}" for i in range(len(user_ids))]})
    source = output / "app-events.parquet"
    pq.write_table(events, source)
    index = subject_index(rt, IdentifierKind.USER_ID)  # after the choices, before the plan: the plan covers them all
    subject = IDENTIFIER_CATEGORIES[IdentifierKind.USER_ID]
    plan = plan_enforcement(rt.policy, "analytics.usage", None, "user_id", subject, {"screen": "user.behavior.usage"})
    summary = enforce_file(plan, index, source, output / "app-events-for-analytics.parquet")
    console.print(
        f"   bulk: {summary.rows_in:,} app events -> {summary.rows_out:,} usable for analytics; "
        f"dropped {dict(summary.rows_dropped)}"
    )


ANALYTICS_PROFILE = "analytics"
ANALYTICS_COLLECTION = "accounts_db.users"


def deid_export(rt: object, output: Path, console: Console) -> Path | None:
    """A de-identified analytics export of the accounts, through the manifest's profile, with its k report."""
    from privet.deid.manifest_profiles import DeidConfigError
    from privet.deid.profile import DeidRefused, ProfileError
    from privet.workspace.deid import DeidError, deidentify, read_collection, write_table_file
    from privet.workspace.runtime import Runtime

    assert isinstance(rt, Runtime)
    if ANALYTICS_PROFILE not in rt.manifest.deidentification.profiles:
        console.print(f"   de-identification: the manifest has no {ANALYTICS_PROFILE!r} profile; no export made")
        return None
    target = output / "analytics" / f"{ANALYTICS_COLLECTION.replace('.', '-')}.parquet"
    try:
        export = deidentify(rt, read_collection(rt, ANALYTICS_COLLECTION), ANALYTICS_PROFILE, ANALYTICS_COLLECTION)
    except DeidRefused as exc:
        console.print(f"   de-identification refused, nothing written: {exc}", markup=False)
        return None
    except (DeidError, DeidConfigError, ProfileError) as exc:
        console.print(f"   de-identification not possible: {exc}", markup=False)
        return None
    write_table_file(export.table, target)
    report = export.report
    console.print(
        f"   analytics export {target}: {report.rows_out:,} of {report.rows_in:,} accounts, "
        f"{len(export.table.column_names)} columns; {report.after.describe()}",
        markup=False,
    )
    return target


HOLD_COLLECTION = "support_db.call_recordings"
HOLD_REASON = "warranty dispute before a court: the recorded calls are evidence"


def retention_plan(rt: object, output: Path, console: Console) -> Path:
    """The retention plan of today over the company's databases, under one legal hold; printed and written as JSON.

    Only plans: nothing is deleted, anonymised or flagged (that is `privet retention apply`)."""
    from privet.fulfilment.graph import build_graph
    from privet.retention.report import report_lines
    from privet.retention.rules import HoldScope
    from privet.store.holds import SqlHolds
    from privet.workspace.retention import connectors, read_facts_file, sweep
    from privet.workspace.runtime import Runtime

    assert isinstance(rt, Runtime)
    if HOLD_COLLECTION in build_graph(rt.manifest.datasets).collections:
        hold = SqlHolds(rt.db).add(HoldScope.COLLECTION, HOLD_COLLECTION, HOLD_REASON, "legal", rt.now())
        payload = {"scope": hold.scope.value, "target": hold.target, "reason": hold.reason, "owner": hold.owner}
        rt.audit.record(rt.now(), "demo", "hold_added", f"hold:{hold.hold_id}", payload)
    errors: dict[str, str] = {}
    with connectors(rt, errors) as conns:
        found = sweep(rt, conns, errors, rt.now().date(), None, read_facts_file(rt.settings.root, None))
    target = output / "retention-plan.json"
    write_atomic(target, json.dumps(found.report.as_json(), indent=2, default=str) + "\n")
    header = f"retention plan as of {found.plan.as_of.isoformat()} (nothing was changed), written to {target}:"
    for line in report_lines(found.report, header):
        console.print(f"   {line}", markup=False)
    return target


def _requests(rt: object, ann: str, bob: str, console: Console) -> None:
    from privet.workspace.runtime import Runtime

    assert isinstance(rt, Runtime)
    service = rt.request_service
    for email, kind, residence in ((ann, Right.ACCESS, "eu"), (bob, Right.DELETION, "us-ca")):
        now = rt.now()
        r = service.submit(Submission(kind, Requester(email=email), residence), now).request
        r = service.act(r.request_id, Event(EventKind.VERIFIED, method="account", level="signed-in account"), now)
        r = service.act(r.request_id, Event(EventKind.START), now)
        notes = rt.dispatch()
        r = service.get(r.request_id)
        console.print(
            f"4. {kind.value} request {r.request_id} for {email} ({residence}): {r.state.value}, "
            f"due {r.due_date().isoformat()}"
        )
        for note in notes:
            if "still in progress" in note:
                console.print(f"   {note}", markup=False)
        for reason in r.outcome_reasons:
            console.print(f"   kept: {reason}", markup=False)
        for step in rt.checkpoints.all(r.request_id):
            if step.phase != "plan":
                console.print(
                    f"   {step.phase:<7} {step.collection:<36} {step.state.value:<6} {step.rows} rows", markup=False
                )
