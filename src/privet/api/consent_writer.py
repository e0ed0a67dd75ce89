"""Consent writes from the API go through one writer thread that commits whatever has queued up together.

Group commit: while one batch is being written, the next requests wait in the queue; the writer then records all
of them in a single transaction (one commit, one fsync on SQLite) with `ConsentLedger.record_many`: a few
statements for the whole batch. A request whose choices are refused fails alone; when the joint append cannot
answer each request exactly (an event id sent again), or fails, the batch is redone request by request, each in a
savepoint. Every request is answered only after the transaction holding its events has committed, so an answer
means the choice is on disk. The event loop never waits on the database: it queues the job and awaits a future
that the writer resolves. Thread hand-offs are few: the jobs of one turn of the event loop reach the writer
together (one wake-up of the writer), and the answers of a batch reach the loop together (one wake-up of the loop).

A server process writes in a child process instead (`api/writer_process.py`, the same `write_sets`): the thread
is for tests, embedding and in-memory databases.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from privet.consent.ledger import ChoiceInput, ChoiceSet, ConsentLedger, Recorded
from privet.store import SqlConsents, SqlSubjects, session
from privet.store.database import Database
from privet.workspace.runtime import Runtime

if TYPE_CHECKING:
    from privet.api.writer_process import WriterProcess

log = logging.getLogger("privet.api.consent")

MAX_BATCH = 256
RESULT_TIMEOUT_S = 60.0

Answer = Recorded | BaseException


@dataclass(frozen=True)
class Job:
    """One request's choices, and where its answer goes: a future of the event loop, or of a waiting thread."""

    choices: ChoiceSet
    answer: asyncio.Future[Recorded] | concurrent.futures.Future[Recorded]


class ConsentWriter:
    """Group commit of the API's consent writes: in a thread of this process, or in `process` (a child)."""

    def __init__(self, runtime: Runtime, max_batch: int = MAX_BATCH, process: WriterProcess | None = None) -> None:
        self._db: Database = runtime.db
        self.ledger = ConsentLedger(runtime.manifest, SqlSubjects(self._db), SqlConsents(self._db), runtime.notice_hash)
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[list[Job] | None] = queue.SimpleQueue()
        # The jobs of the current turn of each event loop, handed over when the turn ends.
        self._gathered: dict[asyncio.AbstractEventLoop, list[Job]] = {}
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._process = process
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop the child's answers arrive on
        self._batches = 0  # committed batches, for tests and benchmarks
        self._jobs = 0

    @property
    def batches(self) -> int:
        return self._process.batches if self._process is not None else self._batches

    @property
    def jobs(self) -> int:
        return self._process.jobs if self._process is not None else self._jobs

    async def start(self) -> None:
        """On the server's event loop, before the first request: start the child writer (when there is one) and
        wait until it is ready, so that the first requests do not wait for it to open the workspace."""
        self._loop = asyncio.get_running_loop()
        if self._process is not None and not await self._process.ready():
            log.warning("the consent writer process did not start; consent writes fail until one does")

    async def record(self, choices: Sequence[ChoiceInput], now: dt.datetime) -> Recorded:
        """Record through the writer from the event loop; returns once the choices are committed."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Recorded] = loop.create_future()
        gathered = self._gathered.setdefault(loop, [])
        gathered.append(Job(ChoiceSet(tuple(choices), now), answer))
        if len(gathered) == 1:  # the first of this turn: hand them all over once the turn's work is done
            loop.call_soon(self._hand_over, loop)
        return await answer

    def record_sync(self, choices: Sequence[ChoiceInput], now: dt.datetime) -> Recorded:
        """Record through the writer from a thread; returns once the choices are committed."""
        if self._process is not None:  # the child's pipes belong to the server's event loop
            if self._loop is None:
                raise RuntimeError("ConsentWriter.start() was not called on the server's event loop")
            if _running_loop() is self._loop:
                raise RuntimeError("record_sync() on the event loop would wait for itself: await record()")
            return asyncio.run_coroutine_threadsafe(self.record(choices, now), self._loop).result(RESULT_TIMEOUT_S)
        answer: concurrent.futures.Future[Recorded] = concurrent.futures.Future()
        self._submit([Job(ChoiceSet(tuple(choices), now), answer)])
        return answer.result(RESULT_TIMEOUT_S)

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        jobs = self._gathered.pop(loop)
        if self._process is not None:
            self._process.send(jobs)
        else:
            self._submit(jobs)

    def close(self) -> None:
        if self._process is not None:
            self._process.close()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(RESULT_TIMEOUT_S)

    def _submit(self, jobs: list[Job]) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="privet-consent-writer", daemon=True)
                    self._thread.start()
        self._queue.put(jobs)

    def _run(self) -> None:
        while True:
            jobs = self._queue.get()
            if jobs is None:
                return
            batch = list(jobs)
            stop = False
            while len(batch) < self._max_batch:  # about: a turn's jobs stay together
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.extend(more)
            _answer(batch, self.write(batch))
            if stop:
                return

    def write(self, batch: Sequence[Job]) -> list[Answer]:
        """Record the batch and commit; the answer of each job, in order (an exception for a refused one)."""
        return self.write_sets([job.choices for job in batch])

    def write_sets(self, sets: Sequence[ChoiceSet]) -> list[Answer]:
        """Record the sets in one transaction and commit; the answer of each, in order."""
        try:
            with session.unit_of_work(self._db):
                outcomes: list[Answer] = list(self.ledger.record_many(sets))
        except Exception as exc:  # nothing of the batch was kept; NotExact, a conflict, or a failed commit
            log.debug("joint write of %d requests undone (%s); writing them one by one", len(sets), exc)
            try:
                with session.unit_of_work(self._db):
                    outcomes = self._one_by_one(sets)
            except Exception as failure:  # the commit itself failed: nothing of the batch was written
                log.warning("a batch of %d consent writes failed: %s", len(sets), failure)
                return [failure] * len(sets)
        self._batches += 1
        self._jobs += len(sets)
        return outcomes

    def _one_by_one(self, sets: Sequence[ChoiceSet]) -> list[Answer]:
        outcomes: list[Answer] = []
        for given in sets:
            try:
                with session.savepoint(self._db):
                    outcomes.append(self.ledger.record(given.choices, given.now))
            except Exception as exc:  # this request's own failure (refused, or its SQL failed): the others go on
                outcomes.append(exc)
        return outcomes


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _answer(batch: Sequence[Job], outcomes: Sequence[Answer]) -> None:
    """Hand each job its answer: a waiting thread's future directly, the event loop's in one call per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Recorded], Answer]]] = defaultdict(list)
    for job, outcome in zip(batch, outcomes, strict=True):
        if isinstance(job.answer, asyncio.Future):
            by_loop[job.answer.get_loop()].append((job.answer, outcome))
        else:
            _settle(job.answer.set_result, job.answer.set_exception, outcome)
    for loop, answers in by_loop.items():
        try:
            loop.call_soon_threadsafe(settle_all, answers)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            log.debug("%d consent answers for a closed event loop", len(answers))


def settle_all(answers: Sequence[tuple[asyncio.Future[Recorded], Answer]]) -> None:
    """On the futures' event loop: each answer to its future (a request whose client went away was cancelled)."""
    for future, outcome in answers:
        if not future.done():
            _settle(future.set_result, future.set_exception, outcome)


def _settle(ok: Callable[[Recorded], object], failed: Callable[[BaseException], object], outcome: Answer) -> None:
    if isinstance(outcome, BaseException):
        failed(outcome)
    else:
        ok(outcome)
