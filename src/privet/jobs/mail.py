"""Sending a rendered `Message` through an SMTP server.

The password is held out of `repr`, never logged and never put into an error: a `MailError` names the server,
the message and the server's reply, which is what an operator needs to fix the problem.
"""

from __future__ import annotations

import base64
import datetime as dt
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import TYPE_CHECKING

from privet.requests.messages import Message

if TYPE_CHECKING:
    from privet.workspace.settings import MailSettings

# Set by the sender; a message's own headers may not replace them.
MANAGED_HEADERS = frozenset({"from", "to", "subject", "date", "message-id", "auto-submitted", "mime-version",
                             "content-type", "content-transfer-encoding"})  # fmt: skip
_TRUE = {"1", "true", "yes", "on"}


class MailError(Exception):
    """A message could not be handed to the SMTP server."""

    def __init__(self, text: str, *, code: int | None = None) -> None:
        super().__init__(text)
        self.code = code  # the SMTP reply code, when the server gave one

    @property
    def permanent(self) -> bool:
        """A 5xx refusal: sending the same message again will fail the same way."""
        return self.code is not None and 500 <= self.code < 600


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    from_address: str
    port: int = 587
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True  # upgrade a plain connection (port 587); ignored with `ssl`
    ssl: bool = False  # TLS from the first byte (port 465)
    timeout: float = 30.0

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpSettings:
        """PRIVET_SMTP_HOST, _PORT, _USERNAME, _PASSWORD, _STARTTLS, _SSL, _FROM and _TIMEOUT."""
        host = env.get("PRIVET_SMTP_HOST", "")
        if not host:
            raise MailError("no SMTP server configured: set PRIVET_SMTP_HOST (and PRIVET_SMTP_FROM)")
        use_ssl = env.get("PRIVET_SMTP_SSL", "").lower() in _TRUE
        try:
            port = int(env.get("PRIVET_SMTP_PORT") or (465 if use_ssl else 587))
            timeout = float(env.get("PRIVET_SMTP_TIMEOUT") or 30)
        except ValueError:
            raise MailError("PRIVET_SMTP_PORT must be a whole number and PRIVET_SMTP_TIMEOUT a number") from None
        return cls(
            host=host,
            from_address=env.get("PRIVET_SMTP_FROM") or f"privacy@{host}",
            port=port,
            username=env.get("PRIVET_SMTP_USERNAME") or None,
            password=env.get("PRIVET_SMTP_PASSWORD") or None,
            starttls=env.get("PRIVET_SMTP_STARTTLS", "true").lower() in _TRUE,
            ssl=use_ssl,
            timeout=timeout,
        )

    @classmethod
    def from_settings(cls, mail: MailSettings, *, timeout: float = 30.0) -> SmtpSettings:
        """From the workspace's [mail] settings; port 465 means TLS from the start."""
        if not mail.host:
            raise MailError("no SMTP server configured: set [mail] host in privet.toml or PRIVET_SMTP_HOST")
        return cls(
            host=mail.host,
            from_address=mail.from_address,
            port=mail.port,
            username=mail.username,
            password=mail.password,
            starttls=mail.starttls,
            ssl=mail.port == 465,
            timeout=timeout,
        )


def build_email(settings: SmtpSettings, message: Message, now: dt.datetime | None = None) -> EmailMessage:
    """The MIME message: text, or text and HTML as alternatives, with the headers a mail system expects."""
    email = EmailMessage()
    email["From"] = settings.from_address
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(now or dt.datetime.now(dt.UTC))
    domain = parseaddr(settings.from_address)[1].rpartition("@")[2] or "localhost"
    email["Message-ID"] = make_msgid(domain=domain)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, no vacation notices back
    email.set_content(message.text)
    if message.html is not None:
        email.add_alternative(message.html, subtype="html")
    # After the content: setting the content replaces every Content-* header (Content-Language among them).
    for name, value in message.headers:
        if name.lower() in MANAGED_HEADERS:
            raise MailError(f"the {message.kind.value} message sets {name}, which the sender sets itself")
        email[name] = value
    return email


def send_message(settings: SmtpSettings, message: Message) -> None:
    """Hand `message` to the SMTP server; raises `MailError` when it cannot be sent."""
    what = f"could not send the {message.kind.value} message for request {message.request_id} via {settings.where}"
    try:
        email = build_email(settings, message)
    except ValueError as exc:  # a header holding a line break, an address that cannot be encoded
        raise MailError(f"{what}: the message is malformed: {exc}") from None
    try:
        _deliver(settings, email, message.to)
    except smtplib.SMTPAuthenticationError as exc:
        # The server's reply only, never the credentials; the chained exception is dropped for the same reason.
        reply = _reply(exc.smtp_code, exc.smtp_error, settings)
        raise MailError(
            f"{what}: the server refused the login for user {settings.username!r} ({reply})", code=exc.smtp_code
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        code, raw = next(iter(exc.recipients.values()), (None, b""))
        reply = _reply(code, raw, settings)
        raise MailError(f"{what}: the server refused the recipient {message.to} ({reply})", code=code) from None
    except smtplib.SMTPSenderRefused as exc:
        reply = _reply(exc.smtp_code, exc.smtp_error, settings)
        raise MailError(
            f"{what}: the server refused the sender {settings.from_address} ({reply})", code=exc.smtp_code
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"{what}: {_reply(exc.smtp_code, exc.smtp_error, settings)}", code=exc.smtp_code) from None
    except smtplib.SMTPNotSupportedError:
        raise MailError(f"{what}: the server does not offer STARTTLS; set starttls = false only on a trusted "
                        "network, or use ssl on port 465") from None  # fmt: skip
    except smtplib.SMTPException as exc:
        raise MailError(f"{what}: {_scrub(str(exc), settings)}") from None
    except ssl.SSLError as exc:
        raise MailError(f"{what}: TLS failed ({exc.reason or exc}); check the host name and the ssl setting") from None
    except OSError as exc:  # refused, unreachable, timed out, name not resolved
        reason = exc.strerror or str(exc) or exc.__class__.__name__
        raise MailError(f"{what}: {reason}; check the host, port and network") from None


def _deliver(settings: SmtpSettings, email: EmailMessage, to: str) -> None:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.ssl:
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with smtp:
        if settings.starttls and not settings.ssl:
            smtp.starttls(context=context)
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        refused = smtp.send_message(email, to_addrs=[to])
    if refused:  # some recipients refused, others taken: with one recipient this cannot happen, but say so
        code, reply = next(iter(refused.values()))
        raise smtplib.SMTPRecipientsRefused({to: (code, reply)})


def _reply(code: int | None, reply: bytes | str, settings: SmtpSettings) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return _scrub(f"{code} {' '.join(text.split())}" if code else " ".join(text.split()), settings)


def _scrub(text: str, settings: SmtpSettings) -> str:
    """Defence in depth: a server that echoes what it was sent must not put the password into our error."""
    if not settings.password:
        return text
    user, password = (settings.username or "").encode(), settings.password.encode()
    # As sent: plain, and base64 as in AUTH LOGIN and AUTH PLAIN.
    for secret in (password, base64.b64encode(password), base64.b64encode(b"\0" + user + b"\0" + password)):
        text = text.replace(secret.decode("utf-8", "replace"), "***")
    return text
