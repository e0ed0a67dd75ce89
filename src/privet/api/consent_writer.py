"""Consent writes from the API go through one writer thread that commits whatever has queued up together.

Group commit: while one batch is being written, the next requests wait in the queue; the writer then records all
of them in a single transaction (one commit, one fsync on SQLite) with `ConsentLedger.record_many`: a few
statements for the whole batch. A request whose choices are refused fails alone; when the joint append cannot
answer each request exactly (an event id sent again), or fails, the batch is redone request by request, each in a
savepoint. Every request is answered only after the transaction holding its events has committed, so an answer
means the choice is on disk. The event loop never waits on the database: it queues the job and awaits a future
that the writer resolves. Thread hand-offs are few: the jobs of one turn of the event loop reach the writer
together (one wake-up of the writer), and the answers of a batch reach the loop together (one wake-up of the loop).

A server process (`privet serve`) writes in a child process of its own (`WriterProcess`): the writer thread then
only hands each batch over a pipe and waits, so the SQL work no longer holds the interpreter lock the event loop
needs, and the two run on two cores. The child is the same writer over the same workspace and database; a child
that dies is started again, and a batch it may have written before dying is answered with an error (resending
with an event id is safe: the same id is recorded once).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import logging
import multiprocessing
import queue
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from privet.consent.ledger import ChoiceInput, ChoiceSet, ConsentLedger, Recorded
from privet.store import SqlConsents, SqlSubjects, session
from privet.store.database import Database
from privet.workspace.runtime import Runtime, open_runtime

log = logging.getLogger("privet.api.consent")

MAX_BATCH = 256
RESULT_TIMEOUT_S = 60.0
START_TIMEOUT_S = 120.0

Answer = Recorded | BaseException


@dataclass(frozen=True)
class Job:
    """One request's choices, and where its answer goes: a future of the event loop, or of a waiting thread."""

    choices: ChoiceSet
    answer: asyncio.Future[Recorded] | concurrent.futures.Future[Recorded]


class WriterUnavailable(RuntimeError):
    """The consent writer process stopped while it held the request's choices: they may not be recorded."""


class ConsentWriter:
    def __init__(self, runtime: Runtime, max_batch: int = MAX_BATCH, *, process: bool = False) -> None:
        """`process`: write in a child process over the same workspace (for a server process, whose runtime was
        opened from its folder and whose database other processes can open: not an in-memory one)."""
        self._db: Database = runtime.db
        self.ledger = ConsentLedger(runtime.manifest, SqlSubjects(self._db), SqlConsents(self._db), runtime.notice_hash)
        self._child = WriterProcess(runtime.settings.root) if process else None
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[list[Job] | None] = queue.SimpleQueue()
        # The jobs of the current turn of each event loop, handed over when the turn ends.
        self._gathered: dict[asyncio.AbstractEventLoop, list[Job]] = {}
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0  # committed batches, for tests and benchmarks
        self.jobs = 0

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
        answer: concurrent.futures.Future[Recorded] = concurrent.futures.Future()
        self._submit([Job(ChoiceSet(tuple(choices), now), answer)])
        return answer.result(RESULT_TIMEOUT_S)

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        self._submit(self._gathered.pop(loop))

    def start(self) -> None:
        """Start the writer now rather than on the first write (a child process takes a moment to start)."""
        if self._child is not None:
            self._child.start()
        self._ensure_thread()

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(RESULT_TIMEOUT_S)
        if self._child is not None:
            self._child.close()

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="privet-consent-writer", daemon=True)
                    self._thread.start()

    def _submit(self, jobs: list[Job]) -> None:
        self._ensure_thread()
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
            if self._child is None:
                _answer(batch, self.write(batch))
            else:  # answered by the child's receiver thread; the next batch may go meanwhile
                self._child.send(batch)
                self.batches += 1
                self.jobs += len(batch)
            if stop:
                return

    def write(self, batch: Sequence[Job]) -> list[Answer]:
        """Record the batch and commit, here; the answer of each job, in order (an exception for a refused one)."""
        outcomes = self.write_sets([job.choices for job in batch])
        self.batches += 1
        self.jobs += len(batch)
        return outcomes

    def write_sets(self, sets: Sequence[ChoiceSet]) -> list[Answer]:
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
            loop.call_soon_threadsafe(_settle_all, answers)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            log.debug("%d consent answers for a closed event loop", len(answers))


def _settle_all(answers: list[tuple[asyncio.Future[Recorded], Answer]]) -> None:
    for future, outcome in answers:
        if not future.done():  # a request whose client went away was cancelled
            _settle(future.set_result, future.set_exception, outcome)


def _settle(ok: Callable[[Recorded], object], failed: Callable[[BaseException], object], outcome: Answer) -> None:
    if isinstance(outcome, BaseException):
        failed(outcome)
    else:
        ok(outcome)


class WriterProcess:
    """A child process that records batches of choices for its parent: sets in over a pipe, answers back.

    Pipelined: the parent's writer thread sends each batch as it forms, while the child still writes earlier ones
    (at most IN_FLIGHT batches wait); the child writes what has arrived meanwhile in one transaction; a receiver
    thread answers each batch's requests as the child's answers come back, in order. Otherwise the event loop
    would wait for the child and the child for the event loop in turn."""

    IN_FLIGHT = 8

    def __init__(self, root: Path) -> None:
        self._root = root
        self._current: _Child | None = None
        self._room = threading.BoundedSemaphore(self.IN_FLIGHT)

    def start(self) -> None:
        if self._current is None or self._current.dead:
            self._current = _Child.start(self._root, self._room)

    def send(self, batch: list[Job]) -> None:
        """Hand `batch` to the child (starting one if none is running); its jobs are answered when the child has
        recorded them, or with WriterUnavailable when it cannot."""
        self._room.acquire()  # released when the batch is answered
        for _ in range(2):
            try:
                self.start()
            except WriterUnavailable as exc:
                log.warning("%s", exc)
                break
            assert self._current is not None
            if self._current.send(batch):
                return
            log.warning("the consent writer process is gone; starting it again")
        self._room.release()
        _answer(batch, [WriterUnavailable(UNAVAILABLE)] * len(batch))

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
        self._current = None

    @property
    def pid(self) -> int | None:
        return None if self._current is None or self._current.dead else self._current.process.pid

    def kill(self) -> None:
        """Kill the child (for tests of what follows)."""
        if self._current is not None:
            self._current.process.kill()
            self._current.receiver.join(RESULT_TIMEOUT_S)


UNAVAILABLE = ("the consent writer stopped while recording; send the choices again (with an event_id, a choice "
               "already recorded is not recorded twice)")  # fmt: skip


class _Child:
    """One child process, its end of the pipe, the batches it holds, and the thread that answers them."""

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection,
                 room: threading.BoundedSemaphore) -> None:  # fmt: skip
        self.process, self.conn, self._room = process, conn, room
        self._held: deque[list[Job]] = deque()  # sent, not yet answered, in order
        self._lock = threading.Lock()
        self.dead = False
        self.receiver = threading.Thread(target=self._receive, name="privet-consent-answers", daemon=True)
        self.receiver.start()

    @classmethod
    def start(cls, root: Path, room: threading.BoundedSemaphore) -> _Child:
        # spawn, not fork: the parent runs threads and an event loop, which a forked child must not inherit.
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=_child, args=(str(root), theirs), name="privet-consent-writer",
                                  daemon=True)  # fmt: skip
        process.start()
        theirs.close()
        ready: object = f"it did not start within {START_TIMEOUT_S:.0f} s"
        try:
            if ours.poll(START_TIMEOUT_S):
                ready = ours.recv()
        except (EOFError, OSError):
            ready = "it ended while starting"
        if ready != "ready":
            process.kill()
            process.join(RESULT_TIMEOUT_S)
            ours.close()
            raise WriterUnavailable(f"the consent writer process could not start: {ready}")
        return cls(process, ours, room)

    def send(self, batch: list[Job]) -> bool:
        """False when the child has gone before taking the batch (nothing of it was recorded)."""
        with self._lock:
            if self.dead:
                return False
            self._held.append(batch)
        try:
            self.conn.send([job.choices for job in batch])
        except OSError:
            with self._lock:
                self.dead = True  # the next batch starts a new child
                for i, held in enumerate(self._held):
                    if held is batch:  # not failed by the receiver meanwhile: it is the caller's to resend
                        del self._held[i]
                        return False
        return True

    def _receive(self) -> None:
        while True:
            unreadable = None
            try:
                outcomes = self.conn.recv()
            except (EOFError, OSError):
                break
            except Exception as exc:  # an answer that does not unpickle: that batch fails, the next ones go on
                unreadable = RuntimeError(f"the consent writer's answer could not be read: {exc}")
            with self._lock:
                batch = self._held.popleft()
            _answer(batch, [unreadable] * len(batch) if unreadable is not None else outcomes)
            self._room.release()
        with self._lock:
            self.dead = True
            held, self._held = list(self._held), deque()
        for batch in held:
            _answer(batch, [WriterUnavailable(UNAVAILABLE)] * len(batch))
            self._room.release()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)  # the child finishes what it holds, then stops
        self.receiver.join(RESULT_TIMEOUT_S)
        self.process.join(RESULT_TIMEOUT_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(RESULT_TIMEOUT_S)
        self.conn.close()


def _child(root: str, conn: Connection) -> None:
    """The writer process: the workspace's runtime and the same writer, until told to stop. The batches that
    arrived while it was writing are written together, in one transaction (group commit again), and each batch
    gets its own answer, in order."""
    try:
        runtime = open_runtime(Path(root))
    except Exception as exc:  # the parent reports it
        conn.send(f"{type(exc).__name__}: {exc}")
        return
    writer = ConsentWriter(runtime)
    conn.send("ready")
    try:
        stop = False
        while not stop:
            batches: list[list[ChoiceSet]] = []
            try:
                while not batches or (conn.poll() and sum(map(len, batches)) < MAX_BATCH):
                    sets = conn.recv()
                    if sets is None:
                        stop = True
                        break
                    batches.append(sets)
            except EOFError:  # the parent has gone
                return
            if not batches:
                break
            answers = iter(writer.write_sets([s for sets in batches for s in sets]))
            for sets in batches:
                conn.send([_portable(next(answers)) for _ in sets])
    finally:
        runtime.close()


def _portable(answer: Answer) -> Answer:
    """An answer the parent can unpickle: privet's own errors as they are, any other as a RuntimeError with its
    message (a database driver's exceptions do not always survive pickling)."""
    if not isinstance(answer, BaseException) or type(answer).__module__.startswith("privet."):
        return answer
    log.warning("a consent write failed in the writer process: %s", answer)
    return RuntimeError(f"{type(answer).__name__}: {answer}")
