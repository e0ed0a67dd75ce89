"""The outbox delivered to a real SMTP server on 127.0.0.1: sent, retried, failed, and codes blanked once sent."""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from privet.cli import app
from privet.jobs.delivery import MAX_ATTEMPTS, deliver, deliver_pending
from privet.law.vocabulary import Right
from privet.requests.intake import Submission
from privet.requests.lifecycle import Event, EventKind
from privet.requests.messages import CODE_REMOVED
from privet.requests.model import Requester
from privet.workspace.runtime import Runtime, init_workspace, open_runtime
from tests.conftest import REPO
from tests.jobs.test_mail import Capture, free_port

runner = CliRunner()
CODE_LINE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)


@pytest.fixture
def smtp() -> Iterator[tuple[Capture, int]]:
    handler = Capture()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def ws(tmp_path: Path, smtp: tuple[Capture, int]) -> Path:
    root = tmp_path / "ws"
    init_workspace(root, REPO / "examples" / "anker")
    toml = root / "privet.toml"
    mail = f'[mail]\nhost = "127.0.0.1"\nport = {smtp[1]}\nstarttls = false\nfrom_address = "privacy@example.test"\n'
    toml.write_text(toml.read_text().replace("[mail]\n", mail, 1))
    return root


@pytest.fixture
def rt(ws: Path) -> Iterator[Runtime]:
    runtime = open_runtime(ws)
    try:
        yield runtime
    finally:
        runtime.close()


def received_text(handler: Capture, index: int) -> str:
    parsed = email.message_from_bytes(handler.received[index].content, policy=email.policy.default)
    body = parsed.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_queued_messages_are_sent_and_a_sent_code_is_blanked_in_the_outbox(
    rt: Runtime, smtp: tuple[Capture, int]
) -> None:
    handler, _ = smtp
    request = rt.request_service.submit(Submission(Right.ACCESS, Requester(email="ann@example.com"), "eu"), rt.now())
    rid = request.request.request_id
    rt.request_service.send_code(rid, rt.settings.secret_key, rt.now())
    queued = {m.kind: m for m in rt.outbox.for_request(rid)}
    assert CODE_LINE.search(queued["verification_code"].body)  # readable until it is sent

    assert deliver(rt) == 2
    assert [e.rcpt_tos for e in handler.received] == [["ann@example.com"], ["ann@example.com"]]
    sent = {m.kind: m for m in rt.outbox.for_request(rid)}
    assert {m.status for m in sent.values()} == {"sent"} and {m.attempts for m in sent.values()} == {1}
    assert sent["receipt"].body == queued["receipt"].body  # only codes are blanked
    kept = sent["verification_code"]
    assert not CODE_LINE.search(kept.body) and CODE_REMOVED in kept.body
    assert kept.html is not None and CODE_REMOVED in kept.html and not re.search(r"<p>\d{6}</p>", kept.html)
    code = CODE_LINE.search(queued["verification_code"].body).group(1)  # type: ignore[union-attr]
    assert kept.body == queued["verification_code"].body.replace(code, CODE_REMOVED)  # the rest is kept as sent

    mailed = CODE_LINE.search(received_text(handler, 1))  # the person got the code, and it works
    assert mailed is not None
    assert rt.request_service.check_code(rid, rt.settings.secret_key, mailed.group(1), rt.now()).ok
    assert deliver(rt) == 0 and len(handler.received) == 2  # nothing is sent twice


def test_a_passing_refusal_is_retried_until_the_limit_and_a_permanent_one_fails_at_once(
    rt: Runtime, smtp: tuple[Capture, int]
) -> None:
    handler, _ = smtp
    r = rt.request_service.submit(Submission(Right.ACCESS, Requester(email="bo@example.com"), "eu"), rt.now()).request
    handler.refuse = "451 4.3.0 Mailbox busy, try later"
    first = deliver_pending(rt)
    assert (first.sent, first.retrying, first.failed) == (0, 1, 0) and "451 4.3.0" in first.errors[0]
    [item] = rt.outbox.for_request(r.request_id)
    assert (item.status, item.attempts) == ("queued", 1) and "451" in (item.last_error or "")
    for _ in range(MAX_ATTEMPTS - 2):
        assert deliver_pending(rt).retrying == 1
    last = deliver_pending(rt)
    assert (last.retrying, last.failed) == (0, 1)
    [item] = rt.outbox.for_request(r.request_id)
    assert (item.status, item.attempts) == ("failed", MAX_ATTEMPTS)

    handler.refuse = "550 5.1.1 No such mailbox"
    rt.request_service.act(r.request_id, Event(EventKind.DENY, reasons=("no data held",)), rt.now())
    assert deliver_pending(rt).failed == 1
    denial = rt.outbox.for_request(r.request_id)[-1]
    assert (denial.kind, denial.status, denial.attempts) == ("denial", "failed", 1)
    assert handler.received == []


def test_outbox_send_from_the_cli_and_codes_hidden_from_staff_while_mail_delivers_them(
    ws: Path, smtp: tuple[Capture, int]
) -> None:
    handler, _ = smtp
    result = runner.invoke(app, ["requests", "submit", "--kind", "access", "--email", "cy@example.com",
                                 "--jurisdiction", "uk", "--json", "-w", str(ws)])  # fmt: skip
    assert result.exit_code == 0, result.output
    rid = json.loads(result.stdout)["request_id"]
    assert runner.invoke(app, ["requests", "verify", rid, "--send-code", "-w", str(ws)]).exit_code == 0
    shown = runner.invoke(app, ["outbox", "--full", "-w", str(ws)])
    assert "[queued] verification_code" in shown.stdout
    assert not CODE_LINE.search(shown.stdout) and CODE_REMOVED in shown.stdout  # the mail carries it, not staff

    sent = runner.invoke(app, ["outbox", "--send", "-w", str(ws)])
    assert sent.exit_code == 0 and "2 sent, 0 to retry, 0 failed" in sent.stdout
    assert len(handler.received) == 2 and CODE_LINE.search(received_text(handler, 1))
    after = runner.invoke(app, ["outbox", "--full", "-w", str(ws)]).stdout
    assert "[sent] verification_code" in after and not CODE_LINE.search(after)

    handler.refuse = "550 5.1.1 No such mailbox"
    assert runner.invoke(app, ["requests", "deny", rid, "--reason", "no data", "-w", str(ws)]).exit_code == 0
    refused = runner.invoke(app, ["outbox", "--send", "-w", str(ws)])
    assert refused.exit_code == 1 and "0 sent, 0 to retry, 1 failed" in refused.stdout
    assert "550 5.1.1 No such mailbox" in refused.stderr
