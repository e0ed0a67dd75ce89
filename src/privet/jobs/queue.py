"""Background work on a real job queue (Huey): embedded on SQLite beside the workspace, or on Redis in production.

Jobs carry only ids; a worker opens the workspace itself. Every job is idempotent: fulfilment resumes from its
checkpoints, so a job that runs twice (a retry, a worker killed mid-way) finishes the work without repeating it.
"""

from __future__ import annotations

import logging
import os
from functools import cache
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey, crontab

from privet.extras import require
from privet.fulfilment.executor import FulfilmentError, StepState
from privet.requests.model import State

log = logging.getLogger("privet.jobs")

RETRIES = 5
RETRY_DELAY_S = 60


def workspace_root() -> Path:
    return Path(os.environ.get("PRIVET_WORKSPACE", ".")).resolve()


@cache
def queue() -> Huey:
    """The queue for the workspace in PRIVET_WORKSPACE: Redis when PRIVET_REDIS_URL is set, else SQLite."""
    redis_url = os.environ.get("PRIVET_REDIS_URL")
    if redis_url:
        require("redis", "PRIVET_REDIS_URL (the Redis job queue)")
        return RedisHuey("privet", url=redis_url)
    return SqliteHuey("privet", filename=str(workspace_root() / "jobs.db"))


huey = queue()


@huey.task(retries=RETRIES, retry_delay=RETRY_DELAY_S)
def fulfil(request_id: str) -> str:
    """Carry out a request; a failure (a system down, manual tasks pending) is retried later from where it stopped."""
    from privet.workspace.fulfil import fulfil_request
    from privet.workspace.runtime import open_runtime

    rt = open_runtime(workspace_root())
    try:
        request = rt.request_service.get(request_id)
        if request.state not in (State.IN_PROGRESS, State.EXTENDED):
            return request.state.value  # already done (a duplicate job): nothing to repeat
        try:
            return fulfil_request(rt, request_id).state.value
        except FulfilmentError as exc:
            log.warning("request %s not finished yet: %s", request_id, exc)
            raise
    finally:
        rt.close()


@huey.periodic_task(crontab(minute="*/5"))
def deliver_outbox() -> int:
    """Send queued messages when SMTP is configured; in the embedded default they stay readable in the outbox."""
    from privet.jobs.delivery import deliver
    from privet.workspace.runtime import open_runtime

    rt = open_runtime(workspace_root())
    try:
        return deliver(rt)
    finally:
        rt.close()


@huey.periodic_task(crontab(hour="3", minute="0"))
def retention_daily() -> int:
    """The daily retention sweep, where the workspace turns it on ([retention] daily = true)."""
    from privet.workspace.retention import apply_daily

    summary = apply_daily(workspace_root())
    return 0 if summary is None else sum(summary["rows_changed"].values())


@huey.on_startup()
def resume_on_start() -> None:
    """A worker killed mid-job loses that job from the queue: on start, pick up every request left in progress."""
    resume_in_progress()


@huey.periodic_task(crontab(minute="*"))
def resume_stalled() -> int:
    return resume_in_progress()


def resume_in_progress() -> int:
    from privet.workspace.runtime import open_runtime

    rt = open_runtime(workspace_root())
    try:
        waiting = [
            r.request_id
            for r in rt.requests.all()
            if r.state in (State.IN_PROGRESS, State.EXTENDED)
            # Requests waiting on a person (manual tasks) resume when that person records the work, not by timer.
            and not any(s.state is StepState.MANUAL for s in rt.checkpoints.all(r.request_id))
        ]
    finally:
        rt.close()
    for request_id in waiting:
        fulfil(request_id)  # idempotent: a request already finished is left alone, a half-done one resumes
    return len(waiting)


def dispatch(request_ids: list[str]) -> None:
    """Hand started requests to the queue (after the step that started them has committed)."""
    while request_ids:
        fulfil(request_ids.pop(0))
