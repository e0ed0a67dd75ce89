"""A server's consent writer in a child process of its own, so that SQL work never holds the event loop's lock.

Measured with `bench/server.py`, with the writer as a thread of the server process:
- The writer spent about 0.3 ms of CPU per consent write. The event loop spent 0.3 ms too, against 0.18 ms when
  the writer did no work at all. The two threads took turns at one interpreter lock.
- A consent write reached 0.35 of the trivial endpoint's throughput.
- Even a bare writer of four raw SQLite statements per batch stayed under 0.5. Every statement hands the lock
  back and forth.

In a child process the writer has an interpreter of its own, on the other core.

Parent side: on the event loop only, no threads. Each turn's jobs go to the child as one frame over a pipe. The
loop writes without blocking: what a full pipe does not take waits for the pipe to drain. The answers come back on
a second pipe and are settled on the loop as they arrive, one frame per batch, in order.

Child side (`child_main`): the workspace's runtime and the same `ConsentWriter.write_sets`.
The frames that arrived while it was writing are written together, in one transaction, so group commit holds
across the pipe. Each frame gets its own answer.

A child that dies fails the batches it held with `WriterUnavailable` (HTTP 503). The client can send them again:
with an event id, a choice that was recorded is not recorded twice. The next write starts a new child. The child
stops when its input pipe closes, which happens when the server stops or the parent dies; it ignores the signals that
stop the server, so that the writes the server still waits for are answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from privet.api.consent_writer import MAX_BATCH, Answer, ConsentWriter, Job, settle_all
from privet.consent.ledger import ChoiceSet

log = logging.getLogger("privet.api.consent")

HEADER = struct.Struct("<I")  # the length of the pickled payload that follows
READ_SIZE = 1 << 16
STOP_TIMEOUT_S = 30.0
START_TIMEOUT_S = 120.0
READY = "ready"  # the child's first frame, once it has opened the workspace
CHILD = "from privet.api.writer_process import child_main; child_main()"  # not -m: privet.api imports this module
UNAVAILABLE = ("the consent writer stopped while recording; send the choices again (with an event_id, a choice "
               "already recorded is not recorded twice)")  # fmt: skip


class WriterUnavailable(RuntimeError):
    """The consent writer process stopped while it held the request's choices: they may not be recorded."""


def frame(payload: object) -> bytes:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


class Frames:
    """Splits a byte stream into the payloads of whole frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        found: list[bytes] = []
        start = 0
        while len(self._buffer) - start >= HEADER.size:
            (size,) = HEADER.unpack_from(self._buffer, start)
            end = start + HEADER.size + size
            if len(self._buffer) < end:
                break
            found.append(bytes(self._buffer[start + HEADER.size : end]))
            start = end
        del self._buffer[:start]
        return found


class WriterProcess:
    """The parent's side: starts the child, hands it batches, answers each batch's jobs. Use it on one event loop."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._child: _Child | None = None
        self.batches = 0  # answered batches, for tests and benchmarks
        self.jobs = 0

    def start(self) -> None:
        """Start a child unless one is running. Writes sent before it is ready wait in the pipe."""
        if self._child is None or self._child.dead:
            self._child = _Child(self._root, asyncio.get_running_loop(), self)

    async def ready(self, timeout: float = START_TIMEOUT_S) -> bool:
        """Start the child and wait until it has opened the workspace; False when it could not (it logs why)."""
        self.start()
        assert self._child is not None
        try:
            return await asyncio.wait_for(asyncio.shield(self._child.ready), timeout)
        except TimeoutError:
            log.warning("the consent writer process was not ready within %.0f s", timeout)
            return False

    def send(self, batch: list[Job]) -> None:
        """Hand `batch` to the child, starting one if none is running. Its jobs are answered when the child has
        recorded them, or with WriterUnavailable when it cannot."""
        try:
            self.start()
        except OSError as exc:  # the child could not even be started (no memory, no processes left)
            log.warning("the consent writer process could not start: %s", exc)
            _fail([batch])
            return
        assert self._child is not None
        self._child.send(batch)

    @property
    def pid(self) -> int | None:
        return None if self._child is None or self._child.dead else self._child.process.pid

    def close(self) -> None:
        if self._child is not None:
            self._child.close()
        self._child = None


class _Child:
    """One child process: the pipe it reads batches from, the pipe its answers come back on, the batches it holds."""

    def __init__(self, root: Path, loop: asyncio.AbstractEventLoop, owner: WriterProcess) -> None:
        self._loop, self._owner = loop, owner
        to_child, self._out = os.pipe()
        self._in, from_child = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", CHILD, str(root), str(to_child), str(from_child)],
                pass_fds=(to_child, from_child),
                stdin=subprocess.DEVNULL,
            )
        except OSError:
            for fd in (to_child, self._out, self._in, from_child):
                os.close(fd)
            raise
        os.close(to_child)
        os.close(from_child)
        os.set_blocking(self._out, False)
        os.set_blocking(self._in, False)
        self._open = {self._in, self._out}
        self._held: deque[list[Job]] = deque()  # sent, not yet answered, in order
        self._unsent = bytearray()  # what the pipe did not take yet
        self._frames = Frames()
        self.ready: asyncio.Future[bool] = loop.create_future()  # True once the child says it is ready
        self.dead = False
        loop.add_reader(self._in, self._receive)

    def send(self, batch: list[Job]) -> None:
        if self.dead:
            _fail([batch])
            return
        self._held.append(batch)
        waiting = bool(self._unsent)  # then the loop flushes when the pipe drains
        self._unsent += frame([job.choices for job in batch])
        if not waiting:
            self._flush()

    def _close(self, fd: int) -> None:
        """Close one of our pipe ends once (a number closed twice may by then be another file's)."""
        if fd in self._open:
            self._open.discard(fd)
            with contextlib.suppress(OSError):
                os.close(fd)

    def _flush(self) -> None:
        try:
            written = os.write(self._out, self._unsent)
        except BlockingIOError:
            written = 0
        except OSError as exc:  # the child has gone: what it held fails
            log.warning("the consent writer process is gone (%s)", exc)
            self._stop()
            return
        del self._unsent[:written]
        if self._unsent:
            self._loop.add_writer(self._out, self._flush)
        else:
            self._loop.remove_writer(self._out)

    def _receive(self) -> None:
        try:
            data = os.read(self._in, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the child has ended
            if not self.dead:
                log.warning("the consent writer process ended (exit status %s); a new one starts with the next "
                            "write", self.process.poll())  # fmt: skip
            self._stop()
            return
        self._answered(data)

    def _answered(self, data: bytes) -> None:
        """Answer the batches whose frames `data` completes, in the order they were sent."""
        for payload in self._frames.feed(data):
            if not self.ready.done():  # the child's first frame
                self.ready.set_result(pickle.loads(payload) == READY)
                continue
            if not self._held:  # an answer nobody asked for: the child is confused, start afresh
                log.warning("the consent writer process answered more batches than it was sent")
                self._stop()
                return
            batch = self._held.popleft()
            outcomes: Sequence[Answer]
            try:
                outcomes = pickle.loads(payload)
            except Exception as exc:  # an answer that does not unpickle fails its batch; the next ones go on
                outcomes = [RuntimeError(f"the consent writer's answer could not be read: {exc}")] * len(batch)
            self._owner.batches += 1
            self._owner.jobs += len(batch)
            settle_all(list(zip((job.answer for job in batch), outcomes, strict=True)))  # type: ignore[misc]

    def _stop(self) -> None:
        """Stop talking to the child; the batches it held fail."""
        if self.dead:
            return
        self.dead = True
        self._loop.remove_reader(self._in)
        self._loop.remove_writer(self._out)
        for fd in (self._in, self._out):
            self._close(fd)
        held, self._held = list(self._held), deque()
        if not self.ready.done():
            self.ready.set_result(False)
        _fail(held)

    def close(self) -> None:
        """Let the child finish what it holds and stop: the rest of its input goes, its input closes, it writes
        the batches in hand, answers them and ends. Blocking, with a time limit: the server is stopping."""
        deadline = time.monotonic() + STOP_TIMEOUT_S
        if not self.dead:
            self._loop.remove_writer(self._out)
            while self._unsent and not self.dead and self._wait(deadline, write=True):
                self._flush()  # answers are read meanwhile: a child blocked on its answers reads no input
            if not self.dead:
                self._loop.remove_writer(self._out)
                self._close(self._out)  # the child's end of input: it finishes and ends
            while self._held and not self.dead and self._wait(deadline, write=False):
                pass
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_S)
        self._stop()  # fails what is still held: not recorded, or not answered in time

    def _wait(self, deadline: float, *, write: bool) -> bool:
        """Wait for the child's answers (read them) or, with `write`, for room in its input; False at the deadline."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        readable, writable, _ = select.select([self._in], [self._out] if write else [], [], left)
        if readable:
            self._receive()
        return bool(readable or writable)


def _fail(batches: Sequence[list[Job]]) -> None:
    for batch in batches:
        settle_all([(job.answer, WriterUnavailable(UNAVAILABLE)) for job in batch])  # type: ignore[misc]


# -- the child ---------------------------------------------------------------------------------------------------


def _portable(answer: Answer) -> Answer:
    """An answer the parent can unpickle: privet's own errors as they are, any other as a RuntimeError with its
    message (a database driver's exceptions do not always survive pickling)."""
    if not isinstance(answer, BaseException) or type(answer).__module__.startswith("privet."):
        return answer
    log.warning("a consent write failed in the writer process: %s", answer)
    return RuntimeError(f"{type(answer).__name__}: {answer}")


def _next_batches(source: int, frames: Frames, max_jobs: int) -> list[list[ChoiceSet]] | None:
    """The next frames: waits for one, then takes those already there (up to `max_jobs` sets); None at the end."""
    found: list[list[ChoiceSet]] = []
    while True:
        if found:
            ready, _, _ = select.select([source], [], [], 0)
            if not ready or sum(map(len, found)) >= max_jobs:
                return found
        data = os.read(source, READ_SIZE)
        if not data:
            return found or None
        found += [pickle.loads(payload) for payload in frames.feed(data)]


def serve_parent(root: Path, source: int, answers: int) -> int:
    """Record the parent's batches until it closes the pipe; each frame gets its answers, in order."""
    from privet.workspace.runtime import open_runtime

    try:
        runtime = open_runtime(root)
    except Exception as exc:  # the parent's waiting requests fail with WriterUnavailable; the log says why
        log.error("the consent writer process could not open the workspace: %s", exc)
        return 1
    writer = ConsentWriter(runtime)
    frames = Frames()
    gc.freeze()  # as in the server (api/asgi.py): what was built at start is not walked by every full collection
    try:
        os.write(answers, frame(READY))
        while (batches := _next_batches(source, frames, MAX_BATCH)) is not None:
            outcomes = iter(writer.write_sets([s for sets in batches for s in sets]))
            out = b"".join(frame([_portable(next(outcomes)) for _ in sets]) for sets in batches)
            while out:
                out = out[os.write(answers, out) :]
    except BrokenPipeError:  # the parent has gone
        return 0
    finally:
        runtime.close()
    return 0


def child_main() -> None:
    """The child's entry point: python -c CHILD ROOT IN_FD OUT_FD."""
    # Ctrl-C in a terminal, or a service manager stopping the server, signals the child too. It finishes when the
    # server closes its pipe instead, so that the writes the server still waits for are answered.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="privet consent writer: %(message)s")
    sys.exit(serve_parent(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
