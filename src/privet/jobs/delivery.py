"""Sending the outbox through SMTP, marking each message sent or failed.

A message the server refuses for good (a 5xx reply) fails at once; one that meets a passing problem (a 4xx
reply, the server unreachable) stays queued for the next round, until MAX_ATTEMPTS. Once a verification code
message is sent, the code is blanked in the kept copy: the person has it, and nobody else needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from privet.jobs.mail import MailError, SmtpSettings, send_message
from privet.requests.lifecycle import MessageKind
from privet.requests.messages import Message, without_code
from privet.workspace.runtime import Runtime

MAX_ATTEMPTS = 5  # with the queue's round every five minutes: about twenty minutes of a server being away


@dataclass(frozen=True)
class Delivered:
    sent: int = 0
    retrying: int = 0  # a passing failure: queued again
    failed: int = 0  # refused for good, or too many attempts
    errors: tuple[str, ...] = ()


def deliver(rt: Runtime, limit: int = 100) -> int:
    """Send up to `limit` queued messages; returns how many were sent. Nothing happens without SMTP settings."""
    return deliver_pending(rt, limit).sent


def deliver_pending(rt: Runtime, limit: int = 100) -> Delivered:
    if not rt.settings.mail.configured:
        return Delivered()
    smtp = SmtpSettings.from_settings(rt.settings.mail)
    sent = retrying = failed = 0
    errors: list[str] = []
    for item in rt.outbox.pending(limit):
        # Messages not about a request (a preferences link) have no MessageKind; the kind only names them in errors.
        kind = MessageKind(item.kind) if item.kind in MessageKind.__members__.values() else MessageKind.RESULT
        message = Message(item.to, item.subject, item.body, item.html, item.language, kind, item.request_id, ())
        try:
            send_message(smtp, message)
        except MailError as exc:
            give_up = exc.permanent or item.attempts + 1 >= MAX_ATTEMPTS
            rt.outbox.mark(item.message_id, "failed" if give_up else "queued", str(exc), rt.now())
            failed, retrying = failed + give_up, retrying + (not give_up)
            errors.append(str(exc))
            continue
        kept = without_code(item.kind, item.body, item.html)
        rt.outbox.mark(item.message_id, "sent", None, rt.now(), kept if kept != (item.body, item.html) else None)
        sent += 1
    return Delivered(sent, retrying, failed, tuple(errors))
