"""Sending the outbox through SMTP, marking each message sent or failed."""

from __future__ import annotations

from privet.jobs.mail import MailError, SmtpSettings, send_message
from privet.requests.lifecycle import MessageKind
from privet.requests.messages import Message
from privet.workspace.runtime import Runtime


def deliver(rt: Runtime, limit: int = 100) -> int:
    """Send up to `limit` queued messages; returns how many were sent. Nothing happens without SMTP settings."""
    if not rt.settings.mail.configured:
        return 0
    smtp = SmtpSettings.from_settings(rt.settings.mail)
    sent = 0
    for item in rt.outbox.pending(limit):
        # Messages not about a request (a preferences link) have no MessageKind; the kind only names them in errors.
        kind = MessageKind(item.kind) if item.kind in MessageKind.__members__.values() else MessageKind.RESULT
        message = Message(item.to, item.subject, item.body, item.html, item.language, kind, item.request_id, ())
        try:
            send_message(smtp, message)
        except MailError as exc:
            rt.outbox.mark(item.message_id, "failed" if exc.permanent else "queued", str(exc), rt.now())
            continue
        rt.outbox.mark(item.message_id, "sent", None, rt.now())
        sent += 1
    return sent
