"""Consent writes from the API go through one writer thread that commits whatever has queued up together.

Group commit: while one batch is being written, the next requests wait in the queue; the writer then records all
of them in a single transaction (one commit, one fsync on SQLite) and a single append. A request whose choices
are refused fails alone; when the joint append cannot answer each request exactly (an event id sent again), the
batch is redone request by request, each in a savepoint. Each request gets its answer once its batch committed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from privet.api import lookup
from privet.api.scoped import ScopedDatabase
from privet.consent.events import ConsentEvent, LedgerError
from privet.consent.identifiers import Identifier
from privet.consent.ledger import ChoiceInput, ConsentLedger, Recorded
from privet.consent.ports import AppendResult, Subject
from privet.store import SqlConsents, SqlSubjects
from privet.workspace.runtime import Runtime

log = logging.getLogger("privet.api.consent")

MAX_BATCH = 256
RESULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class _Job:
    choices: tuple[ChoiceInput, ...]
    now: dt.datetime
    future: concurrent.futures.Future[Recorded]


class ConsentWriter:
    def __init__(self, runtime: Runtime, max_batch: int = MAX_BATCH) -> None:
        self._db = ScopedDatabase(runtime.db)
        self._subjects = SqlSubjects(self._db)
        self.ledger = ConsentLedger(runtime.manifest, self._subjects, SqlConsents(self._db), runtime.notice_hash)
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0  # committed batches, for tests and benchmarks
        self.jobs = 0

    def submit(self, choices: Sequence[ChoiceInput], now: dt.datetime) -> concurrent.futures.Future[Recorded]:
        future: concurrent.futures.Future[Recorded] = concurrent.futures.Future()
        self._start()
        self._queue.put(_Job(tuple(choices), now, future))
        return future

    async def record(self, choices: Sequence[ChoiceInput], now: dt.datetime) -> Recorded:
        return await asyncio.wrap_future(self.submit(choices, now))

    def record_sync(self, choices: Sequence[ChoiceInput], now: dt.datetime) -> Recorded:
        return self.submit(choices, now).result(RESULT_TIMEOUT_S)

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(RESULT_TIMEOUT_S)

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="privet-consent-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[_Job]) -> None:
        try:
            with self._db.writing():
                outcomes = self._together(batch)
                if outcomes is None:
                    outcomes = self._one_by_one(batch)
        except Exception as exc:  # the commit itself failed: nothing of the batch was written
            log.warning("a batch of %d consent writes failed: %s", len(batch), exc)
            for job in batch:
                job.future.set_exception(exc)
            return
        self.batches += 1
        self.jobs += len(batch)
        for job, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)

    def _together(self, batch: list[_Job]) -> list[Recorded | BaseException] | None:
        """The usual case, as ConsentLedger.record does it but with one append for the whole batch: each
        request's choices checked and tied to their subjects, then every event appended at once. None (with
        nothing kept) when that cannot give each request its own exact answer: repeated event ids, or a failure
        after the checks."""
        outcomes: list[Recorded | BaseException] = []
        events: list[ConsentEvent] = []
        named = {c.identifier for job in batch for c in job.choices if c.identifier is not None and not c.subject_id}
        try:
            with self._db.savepoint():
                # Who the identifiers belong to, read in one go instead of once per choice.
                known = self._db.read(lambda conn: lookup.owners(conn, named))
                subjects = Prefetched(self._subjects, set(named), known)
                ledger = ConsentLedger(self.ledger.manifest, subjects, self.ledger.store, self.ledger.notice_hash)
                for job in batch:
                    try:
                        for choice in job.choices:
                            ledger.check(choice, job.now)
                    except LedgerError as exc:  # refused before anything of it was written
                        outcomes.append(exc)
                        continue
                    mine = tuple(ledger.event_for(c, job.now) for c in job.choices)
                    events.extend(mine)
                    outcomes.append(Recorded(mine[0].subject_id if mine else "", AppendResult(len(mine), 0), mine))
                result = ledger.store.append(events, max(job.now for job in batch))
                if result.duplicates or result.appended != len(events):
                    raise _Retry
        except Exception:
            return None
        return outcomes

    def _one_by_one(self, batch: list[_Job]) -> list[Recorded | BaseException]:
        outcomes: list[Recorded | BaseException] = []
        for job in batch:
            try:
                with self._db.savepoint():
                    outcomes.append(self.ledger.record(job.choices, job.now))
            except Exception as exc:  # this request's own failure: reported to it, the others go on
                outcomes.append(exc)
        return outcomes


class _Retry(Exception):
    """Undo the batch's joint append and record request by request."""


class Prefetched:
    """The subject store, with the owners of a batch's identifiers read beforehand (a SubjectStore)."""

    def __init__(self, inner: SqlSubjects, asked: set[Identifier], owners: dict[Identifier, str]) -> None:
        self._inner = inner
        self._asked = asked  # identifiers whose owner (or absence) is known
        self._owners = dict(owners)

    def find(self, identifier: Identifier) -> str | None:
        if identifier in self._asked:
            return self._owners.get(identifier)
        return self._inner.find(identifier)

    def link(self, subject_id: str, identifier: Identifier, at: dt.datetime) -> str:
        target = self._inner.link(subject_id, identifier, at)
        if identifier in self._asked and self._owners.get(identifier, target) == target:
            self._owners[identifier] = target  # a new person's first identifier
        else:  # perhaps a merge: what was read before may name subjects that are no longer canonical
            self._asked.clear()
            self._owners.clear()
        return target

    def create(self, subject: Subject) -> None:
        self._inner.create(subject)

    def get(self, subject_id: str) -> Subject | None:
        return self._inner.get(subject_id)

    def identifiers(self, subject_id: str) -> list[Identifier]:
        return self._inner.identifiers(subject_id)

    def update(self, subject: Subject) -> None:
        self._inner.update(subject)
