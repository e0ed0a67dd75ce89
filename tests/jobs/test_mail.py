"""The SMTP adapter against a real SMTP server on 127.0.0.1: what arrives, and what a refusal looks like."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from privet.jobs.mail import MailError, SmtpSettings, build_email, send_message
from privet.law.vocabulary import Right
from privet.requests.lifecycle import MessageKind
from privet.requests.messages import Message, render_message
from privet.requests.model import Dates, Request, Requester, State
from privet.workspace.manifest_files import load_manifest
from privet.workspace.settings import MailSettings

PASSWORD = "s3cret-Pa55word!"
MINIMAL = Path(__file__).parent.parent / "fixtures" / "minimal"

# The test server takes a login over plain SMTP on 127.0.0.1; aiosmtpd rightly warns that this is unsafe elsewhere.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@dataclass
class Capture:
    """An aiosmtpd handler keeping what it receives; `refuse` makes it reject every recipient."""

    refuse: str | None = None
    received: list[Any] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def message(self) -> EmailMessage:
        assert len(self.received) == 1
        parsed = email.message_from_bytes(self.received[0].content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def lf(text: str) -> str:
    return text.replace("\r\n", "\n")  # SMTP carries CRLF line ends


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == b"mailer" and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: the server itself answers 535 on failure


@pytest.fixture
def server() -> Iterator[tuple[Capture, SmtpSettings]]:
    handler = Capture()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, SmtpSettings(host="127.0.0.1", port=controller.port, starttls=False,
                                    from_address="Example Privacy <privacy@example.test>", timeout=5)  # fmt: skip
    finally:
        controller.stop()


@pytest.fixture
def auth_server() -> Iterator[tuple[Capture, SmtpSettings]]:
    handler = Capture()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), authenticator=authenticate,
                            auth_required=True, auth_require_tls=False)  # fmt: skip
    controller.start()
    try:
        yield handler, SmtpSettings(host="127.0.0.1", port=controller.port, starttls=False, username="mailer",
                                    password=PASSWORD, from_address="privacy@example.test", timeout=5)  # fmt: skip
    finally:
        controller.stop()


def message(html: str | None = "<p>Hello</p>", **changes: Any) -> Message:
    base = Message(
        to="ann@example.test",
        subject="Your privacy request R-1: our decision",
        text="Hello,\n\nwe have decided.\n",
        html=html,
        language="en",
        kind=MessageKind.DENIAL,
        request_id="R-1",
        headers=(("Reply-To", "privacy@example.test"), ("X-Privet-Request", "R-1")),
    )
    return replace(base, **changes)


def test_sends_text_and_html_as_alternatives_with_the_expected_headers(server: tuple[Capture, SmtpSettings]) -> None:
    handler, settings = server
    send_message(settings, message())
    envelope = handler.received[0]
    assert envelope.mail_from == "privacy@example.test"
    assert envelope.rcpt_tos == ["ann@example.test"]
    got = handler.message()
    assert got["From"] == "Example Privacy <privacy@example.test>"
    assert got["To"] == "ann@example.test"
    assert got["Subject"] == "Your privacy request R-1: our decision"
    assert got["Auto-Submitted"] == "auto-generated"
    assert got["Reply-To"] == "privacy@example.test"
    assert got["X-Privet-Request"] == "R-1"
    assert got["Message-ID"].startswith("<") and got["Message-ID"].endswith("@example.test>")
    assert got["Date"].datetime.tzinfo is not None
    assert got.get_content_type() == "multipart/alternative"
    plain, html = got.get_body(("plain",)), got.get_body(("html",))
    assert plain is not None and html is not None
    assert lf(plain.get_content()) == "Hello,\n\nwe have decided.\n"
    assert lf(html.get_content()).strip() == "<p>Hello</p>"
    assert [p.get_content_type() for p in got.iter_parts()] == ["text/plain", "text/html"]


def test_a_text_only_message_is_a_single_plain_part(server: tuple[Capture, SmtpSettings]) -> None:
    handler, settings = server
    send_message(settings, message(html=None))
    got = handler.message()
    assert not got.is_multipart()
    assert got.get_content_type() == "text/plain"


def test_a_rendered_german_message_arrives_intact(server: tuple[Capture, SmtpSettings]) -> None:
    handler, settings = server
    manifest = load_manifest(MINIMAL).manifest
    manifest = manifest.model_copy(update={"notice": manifest.notice.model_copy(update={"languages": ("en", "de")})})
    request = Request("R-9", Right.DELETION, "eu", dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC), State.RECEIVED,
                      Requester(email="joerg@example.test", name="Jörg Müller", language="de"),
                      Dates(due=dt.date(2025, 4, 3), cites=("GDPR Art. 12(3)",)))  # fmt: skip
    rendered = render_message(MessageKind.RECEIPT, request, manifest)
    send_message(settings, rendered)
    got = handler.message()
    assert got["Subject"] == "Ihre Datenschutzanfrage R-9 ist bei uns eingegangen"
    assert got["Content-Language"] == "de"
    plain = got.get_body(("plain",))
    assert plain is not None and lf(plain.get_content()) == rendered.text
    assert "Guten Tag Jörg Müller," in plain.get_content()


def test_a_refused_recipient_is_a_permanent_mail_error_naming_server_and_reply(
    server: tuple[Capture, SmtpSettings],
) -> None:
    handler, settings = server
    handler.refuse = "550 5.1.1 No such mailbox here"
    with pytest.raises(MailError) as err:
        send_message(settings, message())
    text = str(err.value)
    assert f"127.0.0.1:{settings.port}" in text
    assert "refused the recipient ann@example.test" in text
    assert "550 5.1.1 No such mailbox here" in text
    assert "denial message for request R-1" in text
    assert err.value.code == 550 and err.value.permanent
    assert handler.received == []


def test_login_then_send(auth_server: tuple[Capture, SmtpSettings]) -> None:
    handler, settings = auth_server
    send_message(settings, message())
    assert handler.message()["Subject"] == "Your privacy request R-1: our decision"


def test_a_refused_login_never_shows_the_password(auth_server: tuple[Capture, SmtpSettings]) -> None:
    handler, settings = auth_server
    wrong = replace(settings, password=PASSWORD + "-old")
    with pytest.raises(MailError) as err:
        send_message(wrong, message())
    text = str(err.value)
    assert "refused the login for user 'mailer'" in text and "535" in text
    assert err.value.permanent
    assert PASSWORD not in text and PASSWORD not in repr(err.value) and PASSWORD not in repr(wrong)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert handler.received == []


def test_sending_without_login_where_one_is_required_fails_clearly(auth_server: tuple[Capture, SmtpSettings]) -> None:
    _, settings = auth_server
    with pytest.raises(MailError, match=r"530"):
        send_message(replace(settings, username=None, password=None), message())


def test_starttls_demanded_but_not_offered(server: tuple[Capture, SmtpSettings]) -> None:
    _, settings = server
    with pytest.raises(MailError, match="does not offer STARTTLS"):
        send_message(replace(settings, starttls=True), message())


def test_nothing_listening_names_the_host_and_port() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), starttls=False, from_address="p@example.test",
                            password=PASSWORD, timeout=2)  # fmt: skip
    with pytest.raises(MailError) as err:
        send_message(settings, message())
    assert f"127.0.0.1:{settings.port}" in str(err.value) and "check the host, port and network" in str(err.value)
    assert PASSWORD not in str(err.value)
    assert not err.value.permanent


def test_a_header_with_a_line_break_is_refused_before_connecting() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), from_address="p@example.test")
    with pytest.raises(MailError, match="malformed"):
        send_message(settings, message(subject="Hi\r\nBcc: victim@example.test"))


def test_a_message_may_not_override_the_headers_the_sender_sets() -> None:
    settings = SmtpSettings(host="smtp.example.test", from_address="p@example.test")
    with pytest.raises(MailError, match="sets From"):
        build_email(settings, message(headers=(("From", "ceo@example.test"),)))


def test_settings_from_the_environment_and_the_workspace() -> None:
    env = {"PRIVET_SMTP_HOST": "smtp.example.test", "PRIVET_SMTP_SSL": "true", "PRIVET_SMTP_USERNAME": "u",
           "PRIVET_SMTP_PASSWORD": PASSWORD, "PRIVET_SMTP_FROM": "privacy@example.test"}  # fmt: skip
    settings = SmtpSettings.from_env(env)
    assert (settings.port, settings.ssl, settings.password) == (465, True, PASSWORD)
    assert PASSWORD not in repr(settings)
    with pytest.raises(MailError, match="PRIVET_SMTP_HOST"):
        SmtpSettings.from_env({})
    with pytest.raises(MailError, match="PRIVET_SMTP_PORT"):
        SmtpSettings.from_env({"PRIVET_SMTP_HOST": "h", "PRIVET_SMTP_PORT": "twenty-five"})
    mail = MailSettings(host="smtp.example.test", port=587, username="u", password=PASSWORD, from_address="a@b.test")
    from_ws = SmtpSettings.from_settings(mail)
    assert (from_ws.host, from_ws.port, from_ws.starttls, from_ws.ssl) == ("smtp.example.test", 587, True, False)
    with pytest.raises(MailError, match="no SMTP server configured"):
        SmtpSettings.from_settings(MailSettings())
