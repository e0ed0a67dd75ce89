"""A workspace opened for work: settings, the manifest, the database and the services built on them."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from privet.consent.ledger import ConsentLedger
from privet.crypto import KekRing, LocalKek
from privet.extras import MissingExtra
from privet.manifest.loader import LoadedManifest
from privet.manifest.model import Manifest
from privet.policy import CompiledPolicy, compile_policy
from privet.requests.lifecycle import MessageKind
from privet.requests.messages import Message, render_message
from privet.requests.model import Request
from privet.requests.service import RequestService
from privet.store import Database, SqlConsents, SqlSubjects, migrate, open_database
from privet.store.data_keys import SqlDataKeyStore
from privet.store.requests import SqlAudit, SqlCheckpoints, SqlOutbox, SqlRequests, SqlScheduler
from privet.store.session import unit_of_work
from privet.workspace.files import write_atomic
from privet.workspace.manifest_files import load_manifest
from privet.workspace.settings import SETTINGS_FILE, Settings, SettingsError, load_settings, settings_text

STARTER = Path(__file__).parent / "starter"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Runtime:
    settings: Settings
    loaded: LoadedManifest
    db: Database
    # KEKs given in code (a KMS adapter); None: the LocalKeks of the settings' [crypto], if any.
    kek_ring: KekRing | None = None

    @property
    def manifest(self) -> Manifest:
        return self.loaded.manifest

    @cached_property
    def subjects(self) -> SqlSubjects:
        return SqlSubjects(self.db)

    @cached_property
    def consents(self) -> SqlConsents:
        return SqlConsents(self.db)

    @cached_property
    def notice_hash(self) -> str:
        """What the person saw: a hash of the notice generated from this manifest."""
        from privet.reports.notice import render_notice

        return hashlib.sha256(render_notice(self.manifest, "md").encode()).hexdigest()

    @cached_property
    def ledger(self) -> ConsentLedger:
        return ConsentLedger(self.manifest, self.subjects, self.consents, self.notice_hash)

    @cached_property
    def policy(self) -> CompiledPolicy:
        return compile_policy(self.manifest)

    @cached_property
    def requests(self) -> SqlRequests:
        return SqlRequests(self.db)

    @cached_property
    def outbox(self) -> SqlOutbox:
        return SqlOutbox(self.db)

    @cached_property
    def audit(self) -> SqlAudit:
        return SqlAudit(self.db)

    @cached_property
    def scheduler(self) -> SqlScheduler:
        return SqlScheduler(self.db, self.fulfilment_queue.append)

    @cached_property
    def fulfilment_queue(self) -> list[str]:
        """Requests whose fulfilment should start; drained by the job queue or, embedded, by run_fulfilment."""
        return []

    @cached_property
    def data_keys(self) -> SqlDataKeyStore:
        return SqlDataKeyStore(self.db)

    @cached_property
    def keks(self) -> KekRing | None:
        """The KEKs that unwrap data keys: given in code, else built from [crypto]; None when neither is set."""
        if self.kek_ring is not None:
            return self.kek_ring
        crypto = self.settings.crypto
        if crypto is None:
            return None
        return KekRing(
            LocalKek(crypto.active_kek, crypto.secrets[crypto.active_kek]),
            [LocalKek(k, crypto.secrets[k]) for k in crypto.previous],
        )

    @cached_property
    def checkpoints(self) -> SqlCheckpoints:
        return SqlCheckpoints(self.db)

    def render(self, kind: MessageKind, request: Request, reasons: Sequence[str], extra: Mapping[str, str]) -> Message:
        return render_message(kind, request, self.manifest, reasons, extra)

    @cached_property
    def request_service(self) -> RequestService:
        return RequestService(self.manifest, self.requests, self.outbox, self.audit, self.scheduler, self.render,
                              lambda: unit_of_work(self.db), status_link=self.status_link)  # fmt: skip

    def status_link(self, request_id: str) -> str:
        """The private link to a request's page in the privacy center; every message to the person carries it."""
        from privet.api.links import status_token

        token = status_token(self.settings.secret_key, request_id)
        return f"{self.settings.public_url.rstrip('/')}/privacy/status/{token}"

    def dispatch(self) -> list[str]:
        """Hand the requests started by the last steps to fulfilment: the job queue, or right here when inline.

        Returns what happened to each, for the caller to show. Inline, a request that cannot finish yet stays in
        progress with its checkpoints; `privet fulfil run` (or the queue's retries) finishes it later.
        """
        from privet.fulfilment.executor import FulfilmentError
        from privet.fulfilment.plan import PlanError

        started, notes = list(self.fulfilment_queue), []
        self.fulfilment_queue.clear()
        if self.settings.jobs == "queue":
            from privet.jobs.queue import dispatch

            dispatch(list(started))
            return [f"{rid}: queued for a worker" for rid in started]
        from privet.workspace.fulfil import fulfil_request

        for rid in started:
            try:
                notes.append(f"{rid}: {fulfil_request(self, rid).state.value}")
            except (FulfilmentError, PlanError) as exc:
                notes.append(f"{rid}: still in progress: {exc}")
        return notes

    def now(self) -> dt.datetime:
        return utcnow()

    def close(self) -> None:
        self.db.close()


def open_runtime(root: Path, keks: KekRing | None = None) -> Runtime:
    """Open the workspace at `root`: read settings and manifest, open the database and bring it up to date.

    `keks` replaces the settings' [crypto] KEKs: how a KMS plugs in (a KeyEncryptionKey whose wrap and unwrap call
    the KMS, with the context as its encryption context)."""
    settings = load_settings(root)
    loaded = load_manifest(settings.manifest)
    db = _open_database(settings.database_url)
    migrate(db.engine)
    return Runtime(settings, loaded, db, keks)


def _open_database(url: str) -> Database:
    try:
        return open_database(url)
    except MissingExtra as exc:  # e.g. PostgreSQL without its driver: the settings name a part not installed
        raise SettingsError(f"database_url: {exc}") from None


def init_workspace(root: Path, manifest_from: Path | None = None) -> Settings:
    """A new workspace: a manifest folder (copied from `manifest_from`, else a starter), settings, a database."""
    if (root / SETTINGS_FILE).exists():
        raise SettingsError(f"{root} is already a workspace ({SETTINGS_FILE} exists); nothing was changed")
    root.mkdir(parents=True, exist_ok=True)
    target = root / "manifest"
    if not target.exists():
        source = manifest_from or STARTER
        if not source.is_dir():
            raise SettingsError(f"{source} is not a manifest folder")
        load_manifest(source)  # refuse to start from a manifest that cannot be read
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*"))
    write_atomic(root / SETTINGS_FILE, settings_text())
    settings = load_settings(root)
    db = _open_database(settings.database_url)
    try:
        migrate(db.engine)
    finally:
        db.close()
    return settings
